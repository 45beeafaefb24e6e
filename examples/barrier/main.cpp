// barrier: R ranks x T threads go through P phases. The threads of a rank meet at a
// hilo::Barrier; the last of them to arrive takes the whole rank to world.barrier(), so nobody
// starts phase k+1 before every thread of every rank has finished phase k. The program checks
// that it really happened that way, three independent ways, and exits 1 if anything was out of
// order:
//
//   1. counters, in each rank: every thread counts itself finished with phase k before it
//      arrives; a thread starting phase k+1 must see all T counted;
//   2. messages, across ranks and hosts: before the ranks' barrier of phase k every rank sends
//      rank 0 "finished k, T threads"; rank 0 must have all R*T before it enters (and so before
//      anyone can leave) that barrier; after it, every rank's count of completed phases is
//      gathered on rank 0 and must be k+1 everywhere;
//   3. clocks, among ranks on one host: each thread stamps when it finished phase k and when it
//      started k+1 (steady_clock is one clock for the whole machine, not comparable between
//      machines); on each host the last "finished k" must come before the first "started k+1".
//
//   barrier                          4 threads per rank, 5 phases
//   barrier --threads 8 --phases 20
//   barrier --cheat                  rank 0's thread 0 skips the barrier after phase 0: the
//                                    checks must catch it (exit 1), which shows they can fail
//
// Rank 0 prints: barrier: OK ranks=R threads=T phases=P hosts=a,b,c
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <hilo/hilo.hpp>

#include "example_support.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int finished_tag = 1;
// No call waits longer than this for another rank: a dead or stuck rank is an error, not a hang.
constexpr auto rank_timeout = std::chrono::seconds(60);

struct Options {
  int threads = 4;
  int phases = 5;
  bool cheat = false;
};

constexpr const char* usage =
    "usage: barrier [--threads T] [--phases P] [--cheat]\n"
    "  --threads T  threads per rank (1 to 64, default 4)\n"
    "  --phases P   phases to go through (1 to 1000, default 5)\n"
    "  --cheat      rank 0's thread 0 skips the barriers after phase 0 (must FAIL)\n";

// Throws std::invalid_argument saying what is wrong.
Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--threads") {
      options.threads = static_cast<int>(
          hilo_examples::parse_count(arg, hilo_examples::option_value(argc, argv, i), 1, 64));
    } else if (arg == "--phases") {
      options.phases = static_cast<int>(
          hilo_examples::parse_count(arg, hilo_examples::option_value(argc, argv, i), 1, 1000));
    } else if (arg == "--cheat") {
      options.cheat = true;
    } else {
      throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
    }
  }
  // With one thread the cheat would leave rank 0 out of the ranks' barriers: the others would
  // wait for it until they time out, which shows nothing about the checks.
  if (options.cheat && options.threads < 2)
    throw std::invalid_argument("--cheat needs at least 2 threads per rank");
  return options;
}

// What a rank tells rank 0 when all its threads are through phase k (check 2).
struct FinishedReport {
  int rank = -1;
  int phase = -1;
  int threads_finished = 0;
};

// When one thread started and finished each phase (check 3), in steady_clock nanoseconds.
struct PhaseTimes {
  std::int64_t started = 0;
  std::int64_t finished = 0;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// One rank: its threads, their hilo::Barrier, and what the checks found.
class PhasedRank {
 public:
  PhasedRank(hilo::Communicator& world, const Options& options)
      : world_(world),
        options_(options),
        finished_(options.phases),
        times_(static_cast<std::size_t>(options.threads) * options.phases),
        threads_meet_(options.threads, [this] { take_the_rank_through_its_barrier(); }) {}

  void run() {
    std::vector<std::jthread> threads;
    for (int t = 0; t < options_.threads; ++t) threads.emplace_back([this, t] { work(t); });
  }  // the jthreads join here

  bool broken() const { return broken_.load(); }
  const std::vector<std::string>& violations() const { return violations_; }
  const std::vector<PhaseTimes>& times() const { return times_; }

 private:
  void work(int thread) {
    bool skipping_barriers = false;
    for (int phase = 0; phase < options_.phases; ++phase) {
      PhaseTimes& stamp = times_[static_cast<std::size_t>(thread) * options_.phases + phase];
      stamp.started = now_ns();
      if (phase > 0) {  // check 1: everyone here finished the previous phase
        const int done = finished_[phase - 1].load();
        if (done != options_.threads) {
          violation("rank " + std::to_string(world_.rank()) + " thread " + std::to_string(thread) +
                    " started phase " + std::to_string(phase) + " when only " +
                    std::to_string(done) + " of its rank's " + std::to_string(options_.threads) +
                    " threads had finished phase " + std::to_string(phase - 1));
        }
      }
      // The phase's work: a few milliseconds, different for every thread and rank, so that they
      // arrive in a different order each phase.
      const int work_ms = 1 + (thread * 7 + phase * 3 + world_.rank() * 5) % 6;
      if (!skipping_barriers) std::this_thread::sleep_for(std::chrono::milliseconds(work_ms));
      stamp.finished = now_ns();
      finished_[phase].fetch_add(1);

      if (skipping_barriers) continue;
      if (options_.cheat && world_.rank() == 0 && thread == 0) {
        threads_meet_.arrive_and_drop();  // leaves without waiting for the others: a bug
        skipping_barriers = true;
        continue;
      }
      threads_meet_.arrive_and_wait();
      if (broken_.load()) return;  // the ranks' barrier failed: every thread stops here
    }
  }

  // The barrier's completion: run by the last thread of this rank to arrive, once per phase,
  // while the others still wait. If the ranks' part fails (hilo::Timeout, hilo::PeerLost), it
  // is recorded and every thread of this rank stops after this phase.
  void take_the_rank_through_its_barrier() {
    const int phase = phases_completed_;
    try {
      const int here = finished_[phase].load();
      if (world_.rank() != 0) {
        world_.send(0, finished_tag, FinishedReport{world_.rank(), phase, here},
                    hilo::within(rank_timeout));
      } else {
        check_every_rank_finished(phase, here);
      }
      world_.barrier(hilo::within(rank_timeout));
      ++phases_completed_;
      const std::vector<int> completed_by_rank =
          world_.gather(phases_completed_, 0, hilo::within(rank_timeout));
      for (std::size_t r = 0; r < completed_by_rank.size(); ++r) {
        if (completed_by_rank[r] != phases_completed_) {
          violation("after the barrier of phase " + std::to_string(phase) + " rank " +
                    std::to_string(r) + " had completed " + std::to_string(completed_by_rank[r]) +
                    " phases, rank 0 " + std::to_string(phases_completed_));
        }
      }
    } catch (const std::exception& error) {
      violation("phase " + std::to_string(phase) + ": " + error.what());
      broken_.store(true);
    }
  }

  // Check 2, on rank 0 before it enters the ranks' barrier of `phase`: every rank's report is
  // in, each for this phase and all its threads.
  void check_every_rank_finished(int phase, int finished_here) {
    int threads_finished = finished_here;
    std::vector<bool> reported(world_.size(), false);
    reported[0] = true;
    for (int i = 1; i < world_.size(); ++i) {
      const auto report =
          world_.recv<FinishedReport>(hilo::any_source, finished_tag, hilo::within(rank_timeout));
      if (report.phase != phase || report.rank < 1 || report.rank >= world_.size() ||
          reported[report.rank]) {
        violation("rank 0, about to release phase " + std::to_string(phase) +
                  ", got a report from rank " + std::to_string(report.rank) + " for phase " +
                  std::to_string(report.phase));
      } else {
        reported[report.rank] = true;
      }
      threads_finished += report.threads_finished;
    }
    const int everyone = world_.size() * options_.threads;
    if (threads_finished != everyone) {
      violation("rank 0 was to release phase " + std::to_string(phase + 1) + " with " +
                std::to_string(threads_finished) + " of " + std::to_string(everyone) +
                " threads finished with phase " + std::to_string(phase));
    } else {
      std::printf(
          "barrier: phase %d: all %d threads (%d ranks x %d) had finished it when rank 0 "
          "entered the ranks' barrier\n",
          phase, everyone, world_.size(), options_.threads);
    }
  }

  void violation(std::string what) {
    std::scoped_lock lock(violations_mutex_);
    violations_.push_back(std::move(what));
  }

  hilo::Communicator& world_;
  const Options& options_;
  std::vector<std::atomic<int>> finished_;  // per phase: threads of this rank done with it
  std::vector<PhaseTimes> times_;           // [thread * phases + phase], each written by its thread
  int phases_completed_ = 0;                // only the completion touches it, one at a time
  std::atomic<bool> broken_{false};
  hilo::Mutex violations_mutex_;
  std::vector<std::string> violations_;
  hilo::Barrier threads_meet_;  // last: its completion uses the members above
};

// Check 3, on rank 0: for ranks on one host, the last thread to finish phase k did so before
// the first thread started phase k+1.
struct ClockCheck {
  int compared = 0;  // host x phase pairs
  std::vector<std::string> violations;
};

ClockCheck check_clocks(const std::vector<std::string>& host_of_rank,
                        const std::vector<std::vector<PhaseTimes>>& times_of_rank,
                        const Options& options) {
  ClockCheck check;
  for (const std::string& host : hilo_examples::each_host_once(host_of_rank)) {
    for (int phase = 0; phase + 1 < options.phases; ++phase) {
      std::int64_t last_finish = INT64_MIN;
      std::int64_t first_start = INT64_MAX;
      for (std::size_t r = 0; r < host_of_rank.size(); ++r) {
        if (host_of_rank[r] != host) continue;
        for (int t = 0; t < options.threads; ++t) {
          const auto base = static_cast<std::size_t>(t) * options.phases;
          last_finish = std::max(last_finish, times_of_rank[r].at(base + phase).finished);
          first_start = std::min(first_start, times_of_rank[r].at(base + phase + 1).started);
        }
      }
      ++check.compared;
      if (last_finish > first_start) {
        check.violations.push_back(
            "on " + host + " a thread started phase " + std::to_string(phase + 1) + " " +
            std::to_string((last_finish - first_start) / 1000) +
            " us before the last thread finished phase " + std::to_string(phase));
      }
    }
  }
  return check;
}

}  // namespace

int main(int argc, char** argv) {
  int rank = 0;
  try {
    hilo::Runtime runtime(argc, argv);
    hilo::Communicator& world = runtime.world();
    rank = world.rank();

    const std::optional<Options> options =
        hilo_examples::parse_options(parse, argc, argv, world, "barrier", usage);
    if (!options) return 2;

    PhasedRank phased(world, *options);
    phased.run();
    for (const std::string& what : phased.violations())
      std::fprintf(stderr, "barrier: rank %d: %s\n", rank, what.c_str());
    if (phased.broken()) {
      std::printf("barrier: FAILED on rank %d (see the messages above)\n", rank);
      return 1;
    }

    const auto timeout = hilo::within(rank_timeout);
    const std::vector<std::string> host_of_rank =
        world.gather(hilo_examples::this_host(), 0, timeout);
    const std::vector<std::vector<PhaseTimes>> times_of_rank =
        world.gather(phased.times(), 0, timeout);
    const std::optional<int> violations =
        world.reduce(static_cast<int>(phased.violations().size()), std::plus<>{}, 0, timeout);
    if (rank != 0) return phased.violations().empty() ? 0 : 1;

    const ClockCheck clocks = check_clocks(host_of_rank, times_of_rank, *options);
    for (const std::string& what : clocks.violations)
      std::fprintf(stderr, "barrier: clocks: %s\n", what.c_str());
    const int total = *violations + static_cast<int>(clocks.violations.size());
    const std::string hosts = hilo_examples::host_list(host_of_rank);
    std::printf(
        "barrier: %s ranks=%d threads=%d phases=%d hosts=%s clock_checks=%d "
        "violations=%d\n",
        total == 0 ? "OK" : "FAILED", world.size(), options->threads, options->phases,
        hosts.c_str(), clocks.compared, total);
    return total == 0 ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "barrier: FAILED on rank %d: %s\n", rank, error.what());
    return 1;
  }
}
