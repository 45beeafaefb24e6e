// The task farm as a program: `task_farm [--tasks N]` on any backend (alone, under hilorun or
// mpirun). Prints one line per rank that was not complete, and on rank 0
// "task_farm: OK tasks=N sum=S expected=S" (exit 0) or "task_farm: FAILED: ..." (exit 1).
#include <hilo/runtime.hpp>

#include <cstdio>
#include <cstring>

#include "example_support.hpp"
#include "task_farm.hpp"

namespace {
struct Options {
  int tasks = 1000;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tasks") == 0)
      o.tasks = static_cast<int>(hilo_examples::parse_count(
          "--tasks", hilo_examples::option_value(argc, argv, i), 1, 1000000));
    else
      throw std::invalid_argument(std::string("unknown option '") + argv[i] + "'");
  }
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  hilo::Runtime rt(argc, argv);
  hilo::Communicator& world = rt.world();
  const auto options = hilo_examples::parse_options(parse, argc, argv, world, "task_farm",
                                                    "usage: task_farm [--tasks N]\n");
  if (!options) return 2;
  const task_farm::Outcome out = task_farm::run(world, options->tasks);
  if (!out.complete)
    std::fprintf(stderr, "task_farm: rank %d: %s\n", world.rank(), out.report.c_str());
  if (world.rank() != 0) return out.complete ? 0 : 1;
  const std::uint64_t expected = task_farm::expected_sum(options->tasks);
  if (out.complete && out.sum == expected) {
    std::printf("task_farm: OK tasks=%d sum=%llu expected=%llu ranks=%d\n", options->tasks,
                static_cast<unsigned long long>(out.sum), static_cast<unsigned long long>(expected),
                world.size());
    return 0;
  }
  std::printf("task_farm: FAILED: %s\n", out.report.c_str());
  return 1;
}
