// The exchange and prefix collectives, time per call (us), sizes by powers of 4.
//
//   --pattern alltoall  every rank sends a block of SIZE bytes (8 B ... 1 MiB) to every rank:
//                       hilo's all_to_all of a std::vector of std::array<std::byte, SIZE> (one
//                       fixed-size block per rank, so the mpi backend calls MPI_Alltoall and the
//                       tcp and local backends choose pairwise exchange or Bruck by block size);
//                       MPI_Alltoall of MPI_BYTE; gloo::alltoall. Rows `alltoall`: for hilo
//                       the returning form, `out = world.all_to_all(mine)` (a new vector per
//                       call). Rows `alltoall-into` (hilo only): all_to_all_into(mine, out) into
//                       a vector the program keeps, as MPI_Alltoall writes into its buffer.
//   --pattern scan      inclusive prefix sum of a vector of floats (4 B ... 1 MiB): hilo's
//                       scan(vector, std::plus<>{}); MPI_Scan with MPI_SUM. Rows `scan`: for
//                       hilo the returning form, `out = world.scan(mine, op)` (a new vector per
//                       call). Rows `scan-into` (hilo only): scan_into(mine, out, op) into a
//                       vector the program keeps, as MPI_Scan writes into its buffer.
//
//   --system hilo        hilo::Runtime, backend from the launcher (mpirun -> hilo-mpi,
//                        hilorun -> hilo-tcp)
//   --system hilo-local  hilo::run_local(--ranks P): ranks as threads of this process
//   --system mpi         the raw MPI call (the anchor)
//   --system hilo+mpi    hilo-mpi and the raw MPI call in one process under mpirun, interleaved
//                        on the same buffers (bench::interleaved_seconds_per_step); rows named
//                        paired-alltoall, paired-alltoall-into, paired-scan, paired-scan-into
//   --system gloo        gloo::alltoall over Gloo's TCP pairs (alltoall only; bench::GlooJob)
//
// Every system's first call at each size is checked, so a wrong exchange cannot be timed.
// The time of a size is the slowest rank's: in a scan rank 0 depends on no one and finishes its
// calls early, so its own clock would show only what it sends.
#include <gloo/alltoall.h>
#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bench_common.hpp"
#include "gloo_job.hpp"
#include "hilo/hilo.hpp"

namespace {

constexpr int max_collective_steps = 5000;

// ---- all-to-all

// The block sizes measured: a block is a std::array, so each size is a type of its own.
using BlockSizes = std::index_sequence<8, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576>;

// Calls f(std::integral_constant<std::size_t, bytes>{}) for one of BlockSizes.
template <class F, std::size_t... S>
void with_block_size(std::uint64_t bytes, F&& f, std::index_sequence<S...>) {
  const bool found =
      ((bytes == S ? (f(std::integral_constant<std::size_t, S>{}), true) : false) || ...);
  if (!found)
    throw std::invalid_argument("alltoall measures blocks of 8 B to 1 MiB (powers of 4), not " +
                                std::to_string(bytes) + " B: lower --max-bytes");
}

// Rank `from`'s block for rank `to` holds this byte throughout.
std::byte block_byte(int from, int to) {
  return std::byte((from * 7 + to * 3 + 1) & 0xff);
}

// ranks blocks of `bytes` each, block j filled for rank j.
std::vector<std::byte> blocks_from(int me, int ranks, std::size_t bytes) {
  std::vector<std::byte> out(bytes * ranks);
  for (int j = 0; j < ranks; ++j)
    std::fill_n(out.begin() + std::ptrdiff_t(j * bytes), bytes, block_byte(me, j));
  return out;
}

void check_blocks(const std::byte* received, int me, int ranks, std::size_t bytes,
                  const std::string& system) {
  for (int j = 0; j < ranks; ++j)
    for (std::size_t k = 0; k < bytes; ++k)
      if (received[j * bytes + k] != block_byte(j, me))
        throw hilo::Error(system + ": all-to-all delivered a wrong byte from rank " +
                          std::to_string(j) + " to rank " + std::to_string(me) +
                          "; the benchmark is not measuring a correct exchange");
}

// ---- scan

void check_scan(const std::vector<float>& result, int me, const std::string& system) {
  for (float x : result)
    if (x != float(me + 1))
      throw hilo::Error(system + ": scan returned " + std::to_string(x) + " on rank " +
                        std::to_string(me) + " where " + std::to_string(me + 1) +
                        " was expected; the benchmark is not measuring a correct scan");
}

// ---- timing and rows

int mpi_sum(int x) {
  int sum = 0;
  MPI_Allreduce(&x, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return sum;
}
double mpi_slowest(double x) {
  double largest = 0;
  MPI_Allreduce(&x, &largest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return largest;
}
auto hilo_slowest(hilo::Communicator& world) {
  return [&world](double x) {
    return world.all_reduce(x, [](double a, double b) { return std::max(a, b); });
  };
}

// The slowest rank's time per call in microseconds. agree_sum(x) must return the sum of x over
// the ranks, so every rank times the same number of calls; slowest(x) the largest x.
template <class Call, class Barrier, class AgreeSum, class Slowest>
double us_per_call(const bench::Options& o, std::uint64_t bytes, int ranks, Call&& call,
                   Barrier&& barrier, AgreeSum&& agree_sum, Slowest&& slowest) {
  auto agree = [&](int proposal) { return agree_sum(proposal) / ranks; };
  return 1e6 * slowest(bench::seconds_per_step(o, call, barrier, agree, bench::pilot_steps(bytes),
                                               max_collective_steps));
}

void row(int rank, const bench::Options& o, const std::string& benchmark, const std::string& system,
         std::uint64_t bytes, int ranks, double us) {
  if (rank == 0)
    bench::print_row(benchmark, system, o.transport, bytes, ranks, o.repetition, us, "us");
}

// The sizes of a pattern: blocks from 8 B, float vectors from one float.
std::vector<std::uint64_t> pattern_sizes(const bench::Options& o) {
  return o.pattern == "alltoall" ? bench::sizes(o) : bench::sizes(o, sizeof(float));
}

// ---- the systems

// One size of hilo's collective on `world`, checked once, then timed: its rows (the returning
// form's, then the into form's: scan_into, all_to_all_into).
void hilo_rows(hilo::Communicator& world, const bench::Options& o, std::uint64_t bytes,
               const std::string& system) {
  const int me = world.rank(), ranks = world.size();
  auto barrier = [&] { world.barrier(); };
  auto agree_sum = [&](int x) { return world.all_reduce(x, std::plus<>{}); };
  auto timed = [&](const std::string& benchmark, auto& call) {
    row(me, o, benchmark, system, bytes, ranks,
        us_per_call(o, bytes, ranks, call, barrier, agree_sum, hilo_slowest(world)));
  };
  if (o.pattern == "scan") {
    const std::vector<float> mine(bytes / sizeof(float), 1.0f);
    std::vector<float> out, kept;
    auto call = [&] { out = world.scan(mine, std::plus<>{}); };
    call();
    check_scan(out, me, system);
    timed("scan", call);
    auto into = [&] { world.scan_into(mine, kept, std::plus<>{}); };
    into();
    check_scan(kept, me, system);
    timed("scan-into", into);
    return;
  }
  with_block_size(
      bytes,
      [&](auto size) {
        using Block = std::array<std::byte, decltype(size)::value>;
        const std::vector<std::byte> flat = blocks_from(me, ranks, sizeof(Block));
        std::vector<Block> mine(ranks), out, kept;
        std::memcpy(mine.data(), flat.data(), flat.size());
        auto call = [&] { out = world.all_to_all(mine); };
        call();
        check_blocks(reinterpret_cast<const std::byte*>(out.data()), me, ranks, sizeof(Block),
                     system);
        timed("alltoall", call);
        auto into = [&] { world.all_to_all_into(mine, kept); };
        into();
        check_blocks(reinterpret_cast<const std::byte*>(kept.data()), me, ranks, sizeof(Block),
                     system);
        timed("alltoall-into", into);
      },
      BlockSizes{});
}

// The raw MPI call of a pattern on caller-owned buffers (a paired run gives hilo the same ones).
std::function<void()> mpi_call(const bench::Options& o, std::uint64_t bytes, const void* in,
                               void* out) {
  if (o.pattern == "scan")
    return
        [=] { MPI_Scan(in, out, int(bytes / sizeof(float)), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); };
  return [=] { MPI_Alltoall(in, int(bytes), MPI_BYTE, out, int(bytes), MPI_BYTE, MPI_COMM_WORLD); };
}

void run_hilo(hilo::Communicator& world, const bench::Options& o, const std::string& system) {
  if (world.rank() == 0) bench::print_header();
  for (std::uint64_t bytes : pattern_sizes(o)) hilo_rows(world, o, bytes, system);
}

void run_mpi(const bench::Options& o) {
  int me = 0, ranks = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (me == 0) bench::print_header();
  for (std::uint64_t bytes : pattern_sizes(o)) {
    const bool scan = o.pattern == "scan";
    // A scan's input is floats, an all-to-all's the blocks; only the pattern's own is made.
    const std::vector<float> floats(scan ? bytes / sizeof(float) : 0, 1.0f);
    const std::vector<std::byte> blocks =
        scan ? std::vector<std::byte>() : blocks_from(me, ranks, bytes);
    std::vector<std::byte> out(scan ? bytes : bytes * ranks);
    const void* source = scan ? static_cast<const void*>(floats.data()) : blocks.data();
    auto call = mpi_call(o, bytes, source, out.data());
    call();
    if (scan) {
      std::vector<float> result(bytes / sizeof(float));
      std::memcpy(result.data(), out.data(), bytes);
      check_scan(result, me, "mpi");
    } else {
      check_blocks(out.data(), me, ranks, bytes, "mpi");
    }
    row(me, o, o.pattern, "mpi", bytes, ranks,
        us_per_call(
            o, bytes, ranks, call, [] { MPI_Barrier(MPI_COMM_WORLD); }, mpi_sum, mpi_slowest));
  }
}

// hilo-mpi and the raw MPI call under it, interleaved in one process on the same input
// (bench::interleaved_seconds_per_step), paired_rounds measurements per size.
void run_paired(hilo::Communicator& world, const bench::Options& o) {
  const int me = world.rank(), ranks = world.size();
  if (me == 0) bench::print_header();
  auto agree = [ranks](int proposal) { return mpi_sum(proposal) / ranks; };
  auto rounds = [&](const std::string& benchmark, std::uint64_t bytes, auto& hilo_call,
                    auto& raw_call) {
    for (int round = 0; round < bench::paired_rounds; ++round) {
      const auto s = bench::interleaved_seconds_per_step(
          o, hilo_call, raw_call, [] { MPI_Barrier(MPI_COMM_WORLD); }, agree,
          bench::pilot_steps(bytes), max_collective_steps, round % 2 == 0);
      row(me, o, "paired-" + benchmark, "hilo-mpi", bytes, ranks, mpi_slowest(s.a) * 1e6);
      row(me, o, "paired-" + benchmark, "mpi", bytes, ranks, mpi_slowest(s.b) * 1e6);
    }
  };
  for (std::uint64_t bytes : pattern_sizes(o)) {
    if (o.pattern == "scan") {
      const std::vector<float> mine(bytes / sizeof(float), 1.0f);
      std::vector<float> out, kept, raw_out(mine.size());
      auto hilo_call = [&] { out = world.scan(mine, std::plus<>{}); };
      auto hilo_into = [&] { world.scan_into(mine, kept, std::plus<>{}); };
      auto raw_call = mpi_call(o, bytes, mine.data(), raw_out.data());
      hilo_call();
      check_scan(out, me, "hilo-mpi");
      hilo_into();
      check_scan(kept, me, "hilo-mpi");
      raw_call();
      check_scan(raw_out, me, "mpi");
      rounds("scan", bytes, hilo_call, raw_call);
      rounds("scan-into", bytes, hilo_into, raw_call);
      continue;
    }
    with_block_size(
        bytes,
        [&](auto size) {
          using Block = std::array<std::byte, decltype(size)::value>;
          const std::vector<std::byte> flat = blocks_from(me, ranks, sizeof(Block));
          std::vector<Block> mine(ranks), out, kept, raw_out(ranks);
          std::memcpy(mine.data(), flat.data(), flat.size());
          auto hilo_call = [&] { out = world.all_to_all(mine); };
          auto hilo_into = [&] { world.all_to_all_into(mine, kept); };
          auto raw_call = mpi_call(o, bytes, mine.data(), raw_out.data());
          hilo_call();
          check_blocks(reinterpret_cast<const std::byte*>(out.data()), me, ranks, bytes,
                       "hilo-mpi");
          hilo_into();
          check_blocks(reinterpret_cast<const std::byte*>(kept.data()), me, ranks, bytes,
                       "hilo-mpi");
          raw_call();
          check_blocks(reinterpret_cast<const std::byte*>(raw_out.data()), me, ranks, bytes, "mpi");
          rounds("alltoall", bytes, hilo_call, raw_call);
          rounds("alltoall-into", bytes, hilo_into, raw_call);
        },
        BlockSizes{});
  }
}

void run_gloo(const bench::Options& o) {
  if (o.pattern != "alltoall")
    throw std::invalid_argument("--system gloo measures --pattern alltoall only");
  bench::GlooJob job(o);
  if (job.rank == 0) bench::print_header();
  for (std::uint64_t bytes : pattern_sizes(o)) {
    std::vector<std::byte> in = blocks_from(job.rank, job.ranks, bytes);
    std::vector<std::byte> out(in.size());
    // Gloo's buffers are registered once per size, as a program that reuses them would.
    gloo::AlltoallOptions options(job.context);
    options.setInput(reinterpret_cast<char*>(in.data()), in.size());
    options.setOutput(reinterpret_cast<char*>(out.data()), out.size());
    auto call = [&] { gloo::alltoall(options); };
    call();
    check_blocks(out.data(), job.rank, job.ranks, bytes, "gloo");
    row(job.rank, o, o.pattern, "gloo", bytes, job.ranks,
        us_per_call(
            o, bytes, job.ranks, call, [&] { job.barrier(); },
            [&](int x) { return job.agree_sum(x); }, [&](double x) { return job.slowest(x); }));
  }
  job.finish();
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("bench_collectives", argc, argv, [&](const bench::Options& o) {
    if (o.pattern != "alltoall" && o.pattern != "scan")
      throw std::invalid_argument("--pattern must be alltoall or scan, not '" + o.pattern + "'");
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
    } else if (o.system == "gloo") {
      run_gloo(o);
    } else {
      throw std::invalid_argument(
          "--system must be hilo, hilo+mpi, hilo-local, mpi or gloo, not '" + o.system + "'");
    }
  });
}
