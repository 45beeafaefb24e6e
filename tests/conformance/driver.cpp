// Runs every conformance case.
//   options: --only NAME runs one case; --skip PREFIX (repeatable) leaves out cases named so.
//   conformance_suite --local N [--huge]   ranks are N threads (hilo::run_local), a fresh world per
//   case conformance_suite [--huge]             under a launcher (mpirun, hilorun, srun):
//   hilo::Runtime's world
// Prints one line per case on rank 0 and a closing "N passed, M failed"; exits 1 on any failure.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"

namespace conformance {
std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}
}  // namespace conformance

namespace {

struct Options {
  int local_ranks = 0;
  bool huge = false;
  std::string only;
  std::vector<std::string> skip;  // leave out cases whose name starts with one of these
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--local") && i + 1 < argc)
      o.local_ranks = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--huge"))
      o.huge = true;
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
      o.only = argv[++i];
    else if (!std::strcmp(argv[i], "--skip") && i + 1 < argc)
      o.skip.emplace_back(argv[++i]);
    else
      throw std::invalid_argument(std::string("conformance_suite: unknown argument ") + argv[i]);
  }
  return o;
}

bool selected(const conformance::Case& c, const Options& o) {
  if (!o.only.empty()) return o.only == c.name;
  for (const auto& prefix : o.skip)
    if (std::string_view(c.name).starts_with(prefix)) return false;
  return c.huge == o.huge;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  int passed = 0, failed = 0;
  auto report = [&](const char* name, const std::string& error) {
    if (error.empty()) {
      ++passed;
      std::printf("ok   %s\n", name);
    } else {
      ++failed;
      std::printf("FAIL %s: %s\n", name, error.c_str());
    }
    std::fflush(stdout);
  };

  if (options.local_ranks > 0) {
    std::printf("conformance suite: backend local, %d ranks\n", options.local_ranks);
    for (auto& test : conformance::registry()) {
      if (!selected(test, options)) continue;
      std::string error;
      try {
        hilo::run_local(options.local_ranks, [&](hilo::Communicator& world) {
          hilo::Communicator c = world.dup();
          test.body(c);
          c.barrier();  // no rank leaves while another may still need it
        });
      } catch (const std::exception& e) {
        error = e.what();
      }
      report(test.name, error);
    }
  } else {
    hilo::Runtime rt(argc, argv);
    hilo::Communicator& world = rt.world();
    if (world.rank() == 0)
      std::printf("conformance suite: backend %s, %d ranks\n",
                  std::string(rt.backend_name()).c_str(), world.size());
    for (auto& test : conformance::registry()) {
      if (!selected(test, options)) continue;
      std::string error;
      try {
        hilo::Communicator c = world.dup();
        test.body(c);
        c.barrier();
      } catch (const std::exception& e) {
        error = e.what();
      }
      // Every rank learns whether any rank failed this case; rank 0 prints it.
      int failures = world.all_reduce(error.empty() ? 0 : 1, std::plus<>{});
      if (!error.empty())
        std::fprintf(stderr, "rank %d: FAIL %s: %s\n", world.rank(), test.name, error.c_str());
      if (world.rank() == 0)
        report(test.name, failures == 0   ? ""
                          : error.empty() ? "failed on another rank (see stderr)"
                                          : error);
      else if (failures)
        ++failed;
      else
        ++passed;
    }
    if (world.rank() != 0) return failed == 0 ? 0 : 1;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
