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
  // What to measure, for programs that measure more than one thing (bench_p2p: "windows", the
  // default, or "pingpong"; bench_collectives: "alltoall" or "scan").
  std::string pattern;
  // The address Gloo's ranks listen on: "loopback" (127.0.0.1, the default: every rank on this
  // host) or "hostname" (the address the rank's host name resolves to: ranks on other hosts).
  std::string gloo_address = "loopback";
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
// --pattern NAME --gloo-address loopback|hostname
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
    else if (flag == "--pattern")
      o.pattern = value;
    else if (flag == "--gloo-address")
      o.gloo_address = value;
    else if (flag == "--scale") {
      o.scale = std::stod(value);
      if (!(o.scale > 0)) throw std::invalid_argument("--scale must be positive");
    } else
      throw std::invalid_argument("unknown option " + flag +
                                  " (known: --system --transport --min-bytes --max-bytes "
                                  "--repetition --ranks --scale --store --pattern --gloo-address)");
  }
  if (o.system.empty()) throw std::invalid_argument("--system is required");
  if (o.min_bytes == 0 || o.min_bytes > o.max_bytes)
    throw std::invalid_argument("need 0 < --min-bytes <= --max-bytes");
  if (o.ranks < 1) throw std::invalid_argument("--ranks must be at least 1");
  if (o.gloo_address != "loopback" && o.gloo_address != "hostname")
    throw std::invalid_argument("--gloo-address must be loopback or hostname, not '" +
                                o.gloo_address + "'");
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

// The number of steps of `per_step` seconds that fills the time box, within [2, max_steps], as
// agree(proposal) makes it: the same count on every rank (e.g. rank 0's proposal).
template <class Agree>
int agreed_steps(const Options& o, double per_step, Agree&& agree, int max_steps) {
  const double wanted = time_box_seconds * o.scale / std::max(per_step, 1e-9);
  return agree(static_cast<int>(std::clamp(wanted, 2.0, double(max_steps))));
}

// Times `step` OSU style: `pilot` untimed steps (the warm-up, which also estimates the cost of a
// step), then the ranks agree on a step count and run it between barriers. Returns seconds per
// step.
template <class Step, class Barrier, class Agree>
double seconds_per_step(const Options& o, Step&& step, Barrier&& barrier, Agree&& agree, int pilot,
                        int max_steps) {
  barrier();
  const auto pilot_start = Clock::now();
  for (int i = 0; i < pilot; ++i) step();
  const int steps = agreed_steps(o, seconds_since(pilot_start) / pilot, agree, max_steps);
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

// Two systems in one process, measured together: hilo-mpi and the raw MPI calls under it, or
// hilo and Boost.MPI over one MPI. Separate processes differ in core placement and memory layout
// by more than hilo's own cost (the same build's 8 B latency read x0.96 and x1.19 of raw MPI's in
// two full runs). Two whole measurements one after the other in one process still did not
// share enough: each allocated its own buffers (the first at a new size on memory glibc had just
// mapped, the next on its heap; hilo-mpi's 16 MiB all-reduce read x1.04-1.17 of the same
// MPI_Allreduce when it ran first in its round), and with 4 ranks on 2 cores a 0.2 s measurement
// could run with two ranks sharing a core throughout while the other's did not (at p = 4 the same
// 16 MiB MPI_Allreduce, through hilo and raw, read x0.94-1.07 of itself in six such pairs).
// So the two systems' steps interleave in blocks of about block_seconds (a block of a, a block
// of b, then b before a in the next pair, and so on), on the same buffers, and each system's time
// is the sum of its blocks: both run under the same conditions, and their ratio is what hilo
// itself adds. Every rank runs the same blocks, so they switch systems at the same step.
// A measurement returns the seconds per step of each; report.py pairs them (the k-th row of each
// system in one process and size) into one ratio per round.
constexpr int paired_rounds = 2;
constexpr double block_seconds = 0.001;

struct PairedSeconds {
  double a, b;  // seconds per step of each system
};

// Times `step_a` and `step_b` interleaved, each for about one time box: `pilot` untimed steps of
// each (the warm-up, which also estimates the cost of a step), then the agreed number of steps of
// each in blocks. `a_first` says which system starts the first block (rounds alternate it).
template <class StepA, class StepB, class Barrier, class Agree>
PairedSeconds interleaved_seconds_per_step(const Options& o, StepA&& step_a, StepB&& step_b,
                                           Barrier&& barrier, Agree&& agree, int pilot,
                                           int max_steps, bool a_first) {
  auto time_steps = [](auto& step, int count) {
    const auto start = Clock::now();
    for (int i = 0; i < count; ++i) step();
    return seconds_since(start);
  };
  barrier();
  const double pilot_seconds = std::max(time_steps(step_a, pilot), time_steps(step_b, pilot));
  const double per_step = std::max(pilot_seconds / pilot, 1e-9);
  const int steps = agreed_steps(o, per_step, agree, max_steps);
  const int block =
      agree(static_cast<int>(std::clamp(block_seconds / per_step, 1.0, double(steps))));
  barrier();
  PairedSeconds total{0, 0};
  bool a_next = a_first;
  for (int done = 0; done < steps; a_next = !a_next) {
    const int count = std::min(block, steps - done);
    if (a_next) {
      total.a += time_steps(step_a, count);
      total.b += time_steps(step_b, count);
    } else {
      total.b += time_steps(step_b, count);
      total.a += time_steps(step_a, count);
    }
    done += count;
  }
  return {total.a / steps, total.b / steps};
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
