// The all-reduce of floats as a user's program calls it, to compare how the program is built:
// CMake builds this one source twice, as bench_allreduce_user (the project's Release flags) and
// as bench_allreduce_user_o0 (no optimisation and assertions on, as CMake builds a project that
// sets no build type). Both link the same optimised libhilo. Run under a launcher (hilorun ->
// hilo-tcp, mpirun -> hilo-mpi); time per all_reduce_into call (us), the result vector reused.
//
//   --system plus    std::plus<>: a built-in operation, combined by the loop compiled inside
//                    libhilo, so the program's own flags should not matter
//   --system lambda  a user's lambda: the combining loop is instantiated in this file so that
//                    the lambda inlines, and it runs at this file's optimisation level
//
// Rows: benchmark allreduce-user-build, system `<op>-O0` or `<op>-opt` (from how this file was
// actually compiled: __OPTIMIZE__), transport the backend's name. The first call of each size
// is checked: each rank contributes 1.0f, so every element must come back as the number of ranks.
//
// The source needs only hilo and the standard library, so that an outside project can build it
// against an installed hilo (benchmarks/analysis.md compares libraries that way).
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "hilo/hilo.hpp"

namespace {

#ifdef __OPTIMIZE__
constexpr const char* build_label = "opt";
#else
constexpr const char* build_label = "O0";
#endif

constexpr int max_allreduce_steps = 5000;

template <class Op>
double us_per_call(hilo::Communicator& world, const bench::Options& o, std::uint64_t bytes, Op op) {
  const int ranks = world.size();
  std::vector<float> mine(bytes / sizeof(float), 1.0f), sum;
  auto allreduce = [&] { world.all_reduce_into(mine, sum, op); };
  allreduce();
  for (float x : sum)
    if (x != float(ranks))
      throw hilo::Error(o.system + ": all_reduce_into returned " + std::to_string(x) + " where " +
                        std::to_string(ranks) + " was expected");
  auto agree = [&](int proposal) { return world.all_reduce(proposal, std::plus<>{}) / ranks; };
  return 1e6 * bench::seconds_per_step(
                   o, allreduce, [&] { world.barrier(); }, agree, bench::pilot_steps(bytes),
                   max_allreduce_steps);
}

template <class Op>
void run(hilo::Communicator& world, const bench::Options& o, const std::string& transport, Op op) {
  const std::string system = o.system + "-" + build_label;
  if (world.rank() == 0) bench::print_header();
  for (std::uint64_t bytes : bench::sizes(o, sizeof(float))) {
    const double us = us_per_call(world, o, bytes, op);
    if (world.rank() == 0)
      bench::print_row("allreduce-user-build", system, transport, bytes, world.size(), o.repetition,
                       us, "us");
  }
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("bench_allreduce_user", argc, argv, [&](const bench::Options& o) {
    if (o.system != "plus" && o.system != "lambda")
      throw std::invalid_argument("--system must be plus or lambda, not '" + o.system + "'");
    hilo::Runtime rt(argc, argv);
    const std::string transport(rt.backend_name());
    if (o.system == "plus")
      run(rt.world(), o, transport, std::plus<>{});
    else
      run(rt.world(), o, transport, [](float a, float b) { return a + b; });
  });
}
