// Allreduce (sum) of a vector of floats, 4 B ... 16 MiB by powers of 4, time per call (us).
//
//   --system hilo        hilo::Communicator::all_reduce_into (the result vector reused, as the
//                        anchor reuses its output buffer) under the launcher's backend
//                        (mpirun -> hilo-mpi, hilorun -> hilo-tcp)
//   --system hilo-local  hilo::run_local(--ranks P): ranks as threads of this process
//   --system mpi         MPI_Allreduce (the anchor for hilo-mpi)
//   --system hilo+mpi    hilo-mpi and MPI_Allreduce in one process under mpirun, interleaved on
//                        the same buffers (bench::interleaved_seconds_per_step); rows named
//                        paired-allreduce
//   --system gloo-ring   gloo::AllreduceRing, TCP on loopback (--gloo-address hostname: on the
//                        host's address, for ranks on several hosts), rendezvous in --store DIR
//   --system gloo-hd     gloo::AllreduceHalvingDoubling, same transport
// Gloo ranks learn their rank and size from the launcher's environment (mpirun or hilorun);
// they never call MPI_Init (bench::GlooJob).
//
// Every system's first call is checked: each rank contributes 1.0f, so every element must come
// back as the number of ranks.
#include <gloo/allreduce_halving_doubling.h>
#include <gloo/allreduce_ring.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "gloo_job.hpp"
#include "hilo/hilo.hpp"

namespace {

void check_sum(const std::vector<float>& result, int ranks, const std::string& system) {
  for (float x : result)
    if (x != float(ranks))
      throw hilo::Error(system + ": allreduce returned " + std::to_string(x) + " where " +
                        std::to_string(ranks) +
                        " was expected; the benchmark is not measuring "
                        "a correct reduction");
}

constexpr int max_allreduce_steps = 5000;

// Time per allreduce call in microseconds. agree_sum(x) must return the sum of x over the ranks
// (an exact integer sum, identical everywhere), so every rank times the same number of calls.
template <class Allreduce, class Barrier, class AgreeSum>
double us_per_call(const bench::Options& o, std::uint64_t bytes, int ranks, Allreduce&& allreduce,
                   Barrier&& barrier, AgreeSum&& agree_sum) {
  auto agree = [&](int proposal) { return agree_sum(proposal) / ranks; };
  return 1e6 * bench::seconds_per_step(o, allreduce, barrier, agree, bench::pilot_steps(bytes),
                                       max_allreduce_steps);
}

// The two calls measured over MPI, on buffers the caller owns (a paired run gives both the same).
auto hilo_allreduce(hilo::Communicator& world, const std::vector<float>& mine,
                    std::vector<float>& sum) {
  return [&world, &mine, &sum] { world.all_reduce_into(mine, sum, std::plus<>{}); };
}
auto mpi_allreduce(const std::vector<float>& mine, std::vector<float>& sum) {
  return [&mine, &sum] {
    MPI_Allreduce(mine.data(), sum.data(), int(mine.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  };
}
int mpi_sum(int x) {
  int sum = 0;
  MPI_Allreduce(&x, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return sum;
}

// One size of hilo's all_reduce_into on `world`: checked once, then timed (us per call).
double hilo_us(hilo::Communicator& world, const bench::Options& o, std::uint64_t bytes,
               const std::string& system) {
  const int ranks = world.size();
  std::vector<float> mine(bytes / sizeof(float), 1.0f), sum;
  auto allreduce = hilo_allreduce(world, mine, sum);
  allreduce();
  check_sum(sum, ranks, system);
  return us_per_call(
      o, bytes, ranks, allreduce, [&] { world.barrier(); },
      [&](int x) { return world.all_reduce(x, std::plus<>{}); });
}

// The same for MPI_Allreduce on MPI_COMM_WORLD.
double mpi_us(const bench::Options& o, std::uint64_t bytes) {
  int ranks = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  std::vector<float> mine(bytes / sizeof(float), 1.0f), sum(mine.size());
  auto allreduce = mpi_allreduce(mine, sum);
  allreduce();
  check_sum(sum, ranks, "mpi");
  return us_per_call(
      o, bytes, ranks, allreduce, [] { MPI_Barrier(MPI_COMM_WORLD); }, mpi_sum);
}

// Rank 0 prints; every rank of MPI_COMM_WORLD (or of hilo's world) takes part in every call.
void row(int rank, const bench::Options& o, const char* benchmark, const std::string& system,
         std::uint64_t bytes, int ranks, double us) {
  if (rank == 0)
    bench::print_row(benchmark, system, o.transport, bytes, ranks, o.repetition, us, "us");
}

void run_hilo(hilo::Communicator& world, const bench::Options& o, const std::string& system) {
  if (world.rank() == 0) bench::print_header();
  for (std::uint64_t bytes : bench::sizes(o, sizeof(float)))
    row(world.rank(), o, "allreduce", system, bytes, world.size(),
        hilo_us(world, o, bytes, system));
}

void run_mpi(const bench::Options& o) {
  int rank = 0, ranks = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (rank == 0) bench::print_header();
  for (std::uint64_t bytes : bench::sizes(o, sizeof(float)))
    row(rank, o, "allreduce", "mpi", bytes, ranks, mpi_us(o, bytes));
}

// hilo-mpi and the MPI_Allreduce it calls, interleaved in one process on the same buffers
// (bench::interleaved_seconds_per_step), paired_rounds measurements per size.
void run_paired(hilo::Communicator& world, const bench::Options& o) {
  const int rank = world.rank(), ranks = world.size();
  if (rank == 0) bench::print_header();
  auto agree = [ranks](int proposal) { return mpi_sum(proposal) / ranks; };
  for (std::uint64_t bytes : bench::sizes(o, sizeof(float))) {
    std::vector<float> mine(bytes / sizeof(float), 1.0f), sum(mine.size());
    auto hilo_call = hilo_allreduce(world, mine, sum);
    auto mpi_call = mpi_allreduce(mine, sum);
    hilo_call();
    check_sum(sum, ranks, "hilo-mpi");
    std::fill(sum.begin(), sum.end(), 0.0f);
    mpi_call();
    check_sum(sum, ranks, "mpi");
    for (int round = 0; round < bench::paired_rounds; ++round) {
      const auto s = bench::interleaved_seconds_per_step(
          o, hilo_call, mpi_call, [] { MPI_Barrier(MPI_COMM_WORLD); }, agree,
          bench::pilot_steps(bytes), max_allreduce_steps, round % 2 == 0);
      row(rank, o, "paired-allreduce", "hilo-mpi", bytes, ranks, s.a * 1e6);
      row(rank, o, "paired-allreduce", "mpi", bytes, ranks, s.b * 1e6);
    }
  }
}

void run_gloo(const bench::Options& o) {
  bench::GlooJob job(o);
  const int rank = job.rank, ranks = job.ranks;
  auto context = job.context;
  if (rank == 0) bench::print_header();
  for (std::uint64_t bytes : bench::sizes(o, sizeof(float))) {
    const int count = int(bytes / sizeof(float));
    std::vector<float> data(count, 1.0f);  // Gloo reduces in place
    std::vector<float*> pointers{data.data()};
    std::unique_ptr<gloo::Algorithm> algorithm;
    if (o.system == "gloo-ring")
      algorithm = std::make_unique<gloo::AllreduceRing<float>>(context, pointers, count);
    else
      algorithm = std::make_unique<gloo::AllreduceHalvingDoubling<float>>(context, pointers, count);
    algorithm->run();
    check_sum(data, ranks, o.system);
    const double us = us_per_call(
        o, bytes, ranks, [&] { algorithm->run(); }, [&] { job.barrier(); },
        [&](int x) { return job.agree_sum(x); });
    if (rank == 0)
      bench::print_row("allreduce", o.system, o.transport, bytes, ranks, o.repetition, us, "us");
  }
  job.finish();
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("bench_allreduce", argc, argv, [&](const bench::Options& o) {
    if (o.system == "hilo") {
      hilo::Runtime rt(argc, argv);
      run_hilo(rt.world(), o, "hilo-" + std::string(rt.backend_name()));
    } else if (o.system == "hilo+mpi") {
      hilo::Runtime rt(argc, argv);  // initialises MPI; the raw calls then share it
      if (rt.backend_name() != "mpi")
        throw std::invalid_argument(
            "--system hilo+mpi needs the mpi backend: start it with mpirun");
      run_paired(rt.world(), o);
    } else if (o.system == "hilo-local") {
      hilo::run_local(o.ranks, [&](hilo::Communicator& c) { run_hilo(c, o, "hilo-local"); });
    } else if (o.system == "mpi") {
      int provided = 0;
      MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided);
      run_mpi(o);
      MPI_Finalize();
    } else if (o.system == "gloo-ring" || o.system == "gloo-hd") {
      run_gloo(o);
    } else {
      throw std::invalid_argument(
          "--system must be hilo, hilo+mpi, hilo-local, mpi, gloo-ring or gloo-hd, not '" +
          o.system + "'");
    }
  });
}
