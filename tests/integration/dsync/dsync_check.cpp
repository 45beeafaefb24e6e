// The distributed sync checks as a multi-process program, for the backends whose ranks are
// processes (mpirun, hilorun). The unit tests run the same checks over the local backend.
//
//   dsync_check                 every check below; prints "dsync_check: OK ..." and exits 0,
//                               or prints each failed check and exits 1
//   dsync_check kill_holder [busy_coordinator]
//                               rank 1 takes a DistributedMutex, prints "rank 1 pid P holding"
//                               and sleeps; the others queue for it and must get PeerLost once
//                               rank 1 is killed: each prints "PeerLost(rank R): ..." and exits 0.
//                               With busy_coordinator rank 0 does not queue but sleeps.
//
// The high-water mark is measured without trusting the semaphore: every holder records when it
// got a unit (after acquire returned) and when it gave it back (before release), on the
// machine's monotonic clock, and rank 0 sweeps all the intervals. Each recorded interval lies
// inside the real holding time, so the measured overlap never exceeds the real one. This needs
// every rank on one machine (one clock), as in the ctest runs.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hilo/hilo.hpp"

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

int failures = 0;

void check(bool ok, const std::string& what, int rank) {
  if (ok) return;
  ++failures;
  std::cout << "FAILED on rank " << rank << ": " << what << std::endl;
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

// Every rank (with `threads` threads each) takes a unit `rounds` times; returns the high-water
// mark on rank 0 (0 elsewhere).
template <class Take, class Give>
int hold_many_times(hilo::Communicator& world, int threads, int rounds, Take take, Give give) {
  std::vector<Interval> mine;
  std::mutex mine_mutex;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<Interval> local;
      for (int i = 0; i < rounds; ++i) {
        take();
        const std::int64_t entered = now_ns();
        if ((i + t) % 4 == 0) std::this_thread::sleep_for(200us);  // vary the holding time
        const std::int64_t left = now_ns();
        give();
        local.push_back({entered, left});
      }
      std::lock_guard lock(mine_mutex);
      mine.insert(mine.end(), local.begin(), local.end());
    });
  }
  for (auto& w : workers) w.join();
  std::vector<std::vector<Interval>> all = world.gather(mine, 0);
  if (world.rank() != 0) return 0;
  std::vector<Interval> every;
  for (const auto& from_rank : all) every.insert(every.end(), from_rank.begin(), from_rank.end());
  check(every.size() == static_cast<std::size_t>(world.size() * threads * rounds),
        "rank 0 received " + std::to_string(every.size()) + " intervals", 0);
  return most_overlapping(every);
}

void check_high_water(hilo::Communicator& world) {
  const int n = world.size();
  const int k = std::max(1, n / 2);
  hilo::DistributedSemaphore licences(world, k);
  int most = hold_many_times(
      world, 2, 100, [&] { licences.acquire(); }, [&] { licences.release(); });
  if (world.rank() == 0) {
    check(most <= k,
          "semaphore: " + std::to_string(most) + " holders at once, limit " + std::to_string(k), 0);
    std::cout << "semaphore: max_holders=" << most << " limit=" << k << std::endl;
  }

  hilo::DistributedMutex mutex(world, /*coordinator=*/n - 1);
  most = hold_many_times(
      world, 2, 100, [&] { mutex.lock(); }, [&] { mutex.unlock(); });
  if (world.rank() == 0) {
    check(most <= 1, "mutex: " + std::to_string(most) + " holders at once", 0);
    std::cout << "mutex: max_holders=" << most << std::endl;
  }
}

// Rank 0 acquires as fast as it can; the others acquire until rank 0 says stop. With FIFO
// granting every other rank gets units meanwhile.
void check_no_starvation(hilo::Communicator& world) {
  constexpr int greedy_rounds = 300;
  constexpr int stop_tag = 1;
  hilo::DistributedSemaphore licences(world, 1);
  hilo::Communicator control = world.dup();
  world.barrier();
  int count = 0;
  if (world.rank() == 0) {
    for (; count < greedy_rounds; ++count) {
      licences.acquire();
      licences.release();
    }
    for (int r = 1; r < world.size(); ++r) control.send(r, stop_tag, 0);
  } else {
    while (!control.iprobe(0, stop_tag)) {
      licences.acquire();
      ++count;
      licences.release();
    }
    control.recv<int>(0, stop_tag);
  }
  std::vector<int> counts = world.gather(count, 0);
  if (world.rank() != 0) return;
  std::string line = "acquisitions per rank while rank 0 was greedy:";
  for (int r = 0; r < world.size(); ++r) {
    line += " " + std::to_string(counts[r]);
    if (r > 0) check(counts[r] > 0, "rank " + std::to_string(r) + " starved", 0);
  }
  std::cout << line << std::endl;
}

// With every unit held, try_acquire_for runs out (not early) and try_acquire refuses; once
// the units come back the same rank gets one.
void check_timeout(hilo::Communicator& world) {
  const int n = world.size();
  if (n < 2) return;
  const int k = n - 1;
  const int waiter = n - 1;
  hilo::DistributedSemaphore licences(world, k);
  if (world.rank() != waiter) licences.acquire();
  world.barrier();
  if (world.rank() == waiter) {
    auto start = std::chrono::steady_clock::now();
    bool got = licences.try_acquire_for(200ms);
    auto waited = std::chrono::steady_clock::now() - start;
    check(!got, "try_acquire_for got a unit while all were held", waiter);
    check(waited >= 200ms, "try_acquire_for gave up early", waiter);
    check(!licences.try_acquire(), "try_acquire got a unit while all were held", waiter);
  }
  world.barrier();
  if (world.rank() != waiter) licences.release();
  if (world.rank() == waiter) {
    check(licences.try_acquire_for(20s), "no unit after the holders released theirs", waiter);
    licences.release();
    std::cout << "try_acquire_for: timed out with all " << k << " units held, got one after"
              << std::endl;
  }
}

// Rank 1 holds the mutex until it is killed. The other ranks queue for it, except the
// coordinator (rank 0) when `coordinator_busy`: it then sleeps through the kill as if busy with
// other work, so the waiters cannot learn of the loss from the coordinator ending.
int kill_holder(hilo::Communicator& world, bool coordinator_busy) {
  // hilorun sends SIGTERM to the other ranks as soon as it reaps the killed one, racing with
  // their reports. Ignoring it gives them hilorun's grace period (SIGKILL follows, so nothing
  // can hang) to show that they got PeerLost on their own.
  std::signal(SIGTERM, SIG_IGN);
  hilo::DistributedMutex mutex(world);
  if (world.rank() == 1) mutex.lock();
  world.barrier();
  if (world.rank() == 1) {
    std::cout << "rank 1 pid " << getpid() << " holding" << std::endl;
    for (;;) std::this_thread::sleep_for(1s);  // until killed
  }
  if (world.rank() == 0 && coordinator_busy) {
    std::cout << "rank 0 busy" << std::endl;
    std::this_thread::sleep_for(10s);  // hilorun ends it with SIGKILL after its grace period
    return 0;
  }
  std::cout << "rank " << world.rank() << " waiting" << std::endl;
  try {
    mutex.lock();
    std::cout << "rank " << world.rank() << " got the mutex that rank 1 holds" << std::endl;
    return 1;
  } catch (const hilo::PeerLost& e) {
    std::cout << "PeerLost(rank " << e.rank() << "): " << e.what() << std::endl;
    return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    hilo::Runtime runtime(argc, argv);
    hilo::Communicator& world = runtime.world();
    const std::string mode = argc > 1 ? argv[1] : "all";
    if (mode == "kill_holder") {
      if (world.size() < 3) {
        std::cerr << "dsync_check kill_holder needs at least 3 ranks" << std::endl;
        return 2;
      }
      return kill_holder(world, argc > 2 && std::string(argv[2]) == "busy_coordinator");
    }
    if (mode != "all") {
      std::cerr << "usage: dsync_check [kill_holder [busy_coordinator]]" << std::endl;
      return 2;
    }
    check_high_water(world);
    check_no_starvation(world);
    check_timeout(world);
    int failed_anywhere = world.all_reduce(failures, std::plus<>{});
    if (world.rank() == 0) {
      if (failed_anywhere == 0)
        std::cout << "dsync_check: OK backend=" << world.backend_name() << " ranks=" << world.size()
                  << std::endl;
      else
        std::cout << "dsync_check: " << failed_anywhere << " checks FAILED" << std::endl;
    }
    return failed_anywhere == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "dsync_check: " << e.what() << std::endl;
    return 3;
  }
}
