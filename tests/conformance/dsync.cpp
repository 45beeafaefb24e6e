// hilo::DistributedSemaphore and hilo::DistributedMutex on every backend: at most k holders
// over many rounds, k at once is possible, no rank starves, try_acquire_for times out.
//
// The high-water mark is measured without trusting the semaphore: every holder records when it
// got a unit (after acquire returned) and when it gave it back (before release), on the
// machine's monotonic clock, and rank 0 sweeps all the intervals. Each recorded interval lies
// inside the real holding time, so the measured overlap never exceeds the real one. This needs
// every rank on one machine (one clock), as in the conformance runs.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "harness.hpp"

using namespace std::chrono_literals;

namespace {

struct Interval {
  std::int64_t entered_ns;
  std::int64_t left_ns;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The most intervals that overlap at one instant.
int most_overlapping(const std::vector<Interval>& intervals) {
  std::vector<std::pair<std::int64_t, int>> events;  // (time, +1 enter / -1 leave)
  for (const auto& i : intervals) {
    events.emplace_back(i.entered_ns, +1);
    events.emplace_back(i.left_ns, -1);
  }
  std::sort(events.begin(), events.end());  // at equal times the leave (-1) comes first
  int now = 0, most = 0;
  for (const auto& [time, delta] : events) most = std::max(most, now += delta);
  return most;
}

// Every rank, with `threads` threads, takes a unit `rounds` times. Returns every holding
// interval of every rank on rank 0 (empty elsewhere).
template <class Take, class Give>
std::vector<Interval> hold_many_times(hilo::Communicator& c, int threads, int rounds, Take take,
                                      Give give) {
  std::vector<Interval> mine;
  std::mutex mine_mutex;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<Interval> local;
      for (int i = 0; i < rounds; ++i) {
        take();
        const std::int64_t entered = now_ns();
        if ((i + t) % 4 == 0) std::this_thread::sleep_for(100us);  // vary the holding time
        const std::int64_t left = now_ns();
        give();
        local.push_back({entered, left});
      }
      std::lock_guard lock(mine_mutex);
      mine.insert(mine.end(), local.begin(), local.end());
    });
  }
  for (auto& w : workers) w.join();
  std::vector<Interval> every;
  for (const auto& from_rank : c.gather(mine, 0))
    every.insert(every.end(), from_rank.begin(), from_rank.end());
  return every;
}

}  // namespace

CONFORMANCE_CASE("DistributedSemaphore: at most k of the ranks' threads hold a unit at once") {
  constexpr int threads = 2, rounds = 60;
  const int k = std::max(1, c.size() / 2);
  hilo::DistributedSemaphore licences(c, k);
  auto every = hold_many_times(
      c, threads, rounds, [&] { licences.acquire(); }, [&] { licences.release(); });
  EXPECT(licences.held_here() == 0);
  if (c.rank() == 0) {
    EXPECT(every.size() == static_cast<std::size_t>(c.size() * threads * rounds));
    EXPECT(most_overlapping(every) <= k);
  }
}

CONFORMANCE_CASE("DistributedMutex: one thread of one rank at a time") {
  constexpr int threads = 2, rounds = 60;
  hilo::DistributedMutex mutex(c, /*coordinator=*/c.size() - 1);
  auto every = hold_many_times(
      c, threads, rounds, [&] { mutex.lock(); }, [&] { mutex.unlock(); });
  if (c.rank() == 0) {
    EXPECT(every.size() == static_cast<std::size_t>(c.size() * threads * rounds));
    EXPECT(most_overlapping(every) == 1);
  }
}

CONFORMANCE_CASE("DistributedSemaphore: k ranks can hold a unit at the same time") {
  // The k holders meet in a barrier while holding; if fewer were let in it would time out.
  const int k = std::max(1, c.size() - 1);
  hilo::DistributedSemaphore licences(c, k);
  hilo::Communicator holders = c.split(c.rank() < k ? 0 : 1, c.rank());
  if (c.rank() < k) {
    licences.acquire();
    holders.barrier(hilo::within(30s));
    licences.release();
  }
  c.barrier();
}

CONFORMANCE_CASE("DistributedSemaphore: no rank starves while rank 0 acquires greedily") {
  // FIFO granting: rank 0 (also the coordinator, the cheapest rank to serve) takes the one unit
  // as fast as it can until every other rank has said it got `wanted` units, then tells them to
  // stop. With FIFO that takes as long as the scheduler needs to run each of them once; a
  // coordinator that let rank 0 jump the queue would keep them at zero until the deadline. (A
  // fixed number of greedy rounds would not do: with more ranks than cores, rank 0 can finish
  // them before another rank's first request is even sent.)
  constexpr int min_greedy_rounds = 200;
  constexpr int wanted = 3;
  constexpr auto deadline = 30s;
  constexpr int had_enough_tag = 1;  // each other rank sends exactly one, then waits for stop
  constexpr int stop_tag = 2;
  hilo::DistributedSemaphore licences(c, 1);
  hilo::Communicator control = c.dup();
  c.barrier();
  int count = 0;
  if (c.rank() == 0) {
    int had_enough = 0;
    const auto give_up = std::chrono::steady_clock::now() + deadline;
    while ((count < min_greedy_rounds || had_enough < c.size() - 1) &&
           std::chrono::steady_clock::now() < give_up) {
      licences.acquire();
      ++count;
      licences.release();
      while (control.iprobe(hilo::any_source, had_enough_tag)) {
        control.recv<int>(hilo::any_source, had_enough_tag);
        ++had_enough;
      }
    }
    for (int r = 1; r < c.size(); ++r) control.send(r, stop_tag, 0);
    for (; had_enough < c.size() - 1; ++had_enough)  // from those stopped before `wanted`
      control.recv<int>(hilo::any_source, had_enough_tag);
  } else {
    bool said = false;
    while (!control.iprobe(0, stop_tag)) {
      licences.acquire();
      ++count;
      licences.release();
      if (count == wanted) {
        control.send(0, had_enough_tag, count);
        said = true;
      }
    }
    if (!said) control.send(0, had_enough_tag, count);
    control.recv<int>(0, stop_tag);
  }
  std::vector<int> counts = c.gather(count, 0);
  if (c.rank() == 0) EXPECT(counts[0] >= min_greedy_rounds);
  for (int r = 1; r < static_cast<int>(counts.size()); ++r) EXPECT(counts[r] >= wanted);
}

CONFORMANCE_CASE("DistributedSemaphore: try_acquire_for times out while all k are held") {
  if (c.size() < 2) return;
  const int k = c.size() - 1;
  const int waiter = c.size() - 1;
  hilo::DistributedSemaphore licences(c, k);
  if (c.rank() != waiter) licences.acquire();
  c.barrier();
  if (c.rank() == waiter) {
    auto start = std::chrono::steady_clock::now();
    EXPECT(!licences.try_acquire_for(150ms));
    EXPECT(std::chrono::steady_clock::now() - start >= 150ms);  // and not early
    EXPECT(!licences.try_acquire());
  }
  c.barrier();
  if (c.rank() != waiter) licences.release();
  if (c.rank() == waiter) {
    EXPECT(licences.try_acquire_for(30s));  // the withdrawn requests took nothing
    licences.release();
  }
}
