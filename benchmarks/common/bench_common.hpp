// What every benchmark program shares: the command line, the size series, the iteration
// budget and the CSV row format
//   benchmark,system,transport,size_bytes,ranks,repetition,value,unit
// The driver (benchmarks/run.py) launches the programs and collects these rows.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

struct Options {
  std::string system;                  // which implementation to measure (program specific)
  std::string transport = "default";   // label only: how the ranks talk (shm, tcp, threads...)
  std::uint64_t min_bytes = 1;         // smallest size measured
  std::uint64_t max_bytes = 64 << 20;  // last size
  int repetition = 0;                  // label only: which repetition of the driver's loop
  int ranks = 2;       // for in-process systems (hilo-local); launchers set it otherwise
  double scale = 1.0;  // multiplies every iteration count (smoke tests: 0.01)
  std::string store;   // Gloo's file store directory
};

inline std::uint64_t parse_count(std::string_view flag, const std::string& text) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || text[0] == '-')
    throw std::invalid_argument(std::string(flag) + " wants a whole number, got '" + text + "'");
  return value;
}

// --system S --transport T --min-bytes N --max-bytes N --repetition R --ranks P --scale F --store D
inline Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--system")
      o.system = value;
    else if (flag == "--transport")
      o.transport = value;
    else if (flag == "--min-bytes")
      o.min_bytes = parse_count(flag, value);
    else if (flag == "--max-bytes")
      o.max_bytes = parse_count(flag, value);
    else if (flag == "--repetition")
      o.repetition = static_cast<int>(parse_count(flag, value));
    else if (flag == "--ranks")
      o.ranks = static_cast<int>(parse_count(flag, value));
    else if (flag == "--store")
      o.store = value;
    else if (flag == "--scale") {
      o.scale = std::stod(value);
      if (!(o.scale > 0)) throw std::invalid_argument("--scale must be positive");
    } else
      throw std::invalid_argument("unknown option " + flag +
                                  " (known: --system --transport --min-bytes --max-bytes "
                                  "--repetition --ranks --scale --store)");
  }
  if (o.system.empty()) throw std::invalid_argument("--system is required");
  if (o.min_bytes == 0 || o.min_bytes > o.max_bytes)
    throw std::invalid_argument("need 0 < --min-bytes <= --max-bytes");
  if (o.ranks < 1) throw std::invalid_argument("--ranks must be at least 1");
  return o;
}

// OSU's habit: sizes by powers of 4. Point-to-point starts at 8 B (the latency target's size),
// collectives at 4 B (one float); then 16, 64, ... so that 1 MiB, 16 MiB and 64 MiB (the
// targets' sizes) are in the series. Only sizes within [--min-bytes, --max-bytes] are kept.
inline std::vector<std::uint64_t> sizes(const Options& o, std::uint64_t first = 8) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = first; s <= o.max_bytes; s = (s == first && s < 16) ? 16 : s * 4)
    if (s >= o.min_bytes) out.push_back(s);
  return out;
}

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Seconds each measured size may take (times --scale). The machine is shared and loaded, so a
// fixed iteration count (OSU's habit) can take minutes; instead a pilot run estimates the time
// per step and the count that fills this box is used, within [2, max_steps].
constexpr double time_box_seconds = 0.2;

// Times `step` OSU style: `pilot` untimed steps (the warm-up, which also estimates the cost of a
// step), then the ranks agree on a step count and run it between barriers. Returns seconds per
// step. agree(proposal) must return the same count on every rank (e.g. rank 0's proposal).
template <class Step, class Barrier, class Agree>
double seconds_per_step(const Options& o, Step&& step, Barrier&& barrier, Agree&& agree, int pilot,
                        int max_steps) {
  barrier();
  const auto pilot_start = Clock::now();
  for (int i = 0; i < pilot; ++i) step();
  const double per_step = std::max(seconds_since(pilot_start) / pilot, 1e-9);
  const double wanted = time_box_seconds * o.scale / per_step;
  const int steps = agree(static_cast<int>(std::clamp(wanted, 2.0, double(max_steps))));
  barrier();
  const auto start = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  return seconds_since(start) / steps;
}

// Warm-up steps: plenty for small messages, a couple for large ones (each is long already).
// Small ones get a few hundred: the first size measured right after the ranks start otherwise
// caught threads still sharing one core before the scheduler spread them (hilo-local's 8 B
// read 9-12 us in some runs and 0.4 us in others with 10 warm-up steps).
inline int pilot_steps(std::uint64_t bytes) {
  return bytes >= (1u << 20) ? 1 : bytes >= (64u << 10) ? 4 : 300;
}

// Two systems in one process, measured in alternation at each size: hilo-mpi and the raw MPI
// calls under it, or hilo and Boost.MPI over one MPI. Separate processes differ in core placement
// and memory layout by more than hilo's own cost (the same build's 8 B latency read x0.96 and
// x1.19 of raw MPI's in two full runs); in one process, alternating, the two share all of that,
// and their ratio is what hilo itself adds. Each round measures both, a first in even rounds and
// b first in odd ones, so neither always runs on a warmer machine. report.py pairs the rows of
// one process and size in the order they are printed.
// Before its rounds each size gets an unrecorded measurement of both (warm_up_options): the first
// measurement at a new, larger size runs on memory that the later ones do not. glibc maps the
// first large buffers afresh and, once they are freed, raises its mmap threshold and serves the
// same sizes from the heap; MPI's own temporary buffers move with it. Without the warm-up, round 0
// paid for it, and round 0 always ran a first: hilo-mpi's 16 MiB all-reduce read x1.04-1.17 of
// the same MPI_Allreduce in round 0 and x0.97-1.01 in round 1; with it, x0.99-1.01 in both.
constexpr int paired_rounds = 2;

// The options of those warm-up measurements: a quarter of the time box is enough to settle memory.
inline Options warm_up_options(const Options& o) {
  Options warm = o;
  warm.scale *= 0.25;
  return warm;
}

template <class MeasureA, class MeasureB>
void alternate(MeasureA&& a, MeasureB&& b) {
  for (int round = 0; round < paired_rounds; ++round) {
    if (round % 2 == 0) {
      a();
      b();
    } else {
      b();
      a();
    }
  }
}

// main() of every benchmark program: runs `body` with the parsed options; a bad argument or a
// failed run becomes one line on stderr naming the program, and exit status 1.
template <class Body>
int guarded_main(const char* program, int argc, char** argv, Body&& body) {
  try {
    body(parse_options(argc, argv));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}

inline void print_header() {
  std::printf("benchmark,system,transport,size_bytes,ranks,repetition,value,unit\n");
}

inline void print_row(std::string_view benchmark, std::string_view system,
                      std::string_view transport, std::uint64_t bytes, int ranks, int repetition,
                      double value, std::string_view unit) {
  std::printf("%.*s,%.*s,%.*s,%llu,%d,%d,%.6g,%.*s\n", int(benchmark.size()), benchmark.data(),
              int(system.size()), system.data(), int(transport.size()), transport.data(),
              static_cast<unsigned long long>(bytes), ranks, repetition, value, int(unit.size()),
              unit.data());
  std::fflush(stdout);
}

}  // namespace bench
