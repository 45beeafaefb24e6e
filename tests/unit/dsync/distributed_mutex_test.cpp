// hilo::DistributedMutex over the local backend: mutual exclusion across ranks, the standard
// lock types, fairness and timeouts.
#include "hilo/dsync/distributed_mutex.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "hilo/runtime.hpp"
#include "rank_check.hpp"

using hilo::Communicator;
using hilo::DistributedMutex;
using namespace std::chrono_literals;

TEST_CASE("std::scoped_lock on a DistributedMutex lets one rank in at a time") {
  const int n = GENERATE(2, 3, 4, 5, 6, 7);
  constexpr int rounds = 100;
  // A plain int: if two ranks were inside at once, increments would be lost (and ThreadSanitizer
  // would report the race).
  long counter = 0;
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  hilo::run_local(n, [&](Communicator& world) {
    DistributedMutex mutex(world);
    for (int i = 0; i < rounds; ++i) {
      std::scoped_lock hold(mutex);
      int now = inside.fetch_add(1) + 1;
      if (now > most_inside.load()) most_inside.store(now);
      rank_check(mutex.held_here(), "mutex.held_here()");
      long read = counter;
      std::this_thread::yield();
      counter = read + 1;
      inside.fetch_sub(1);
    }
    rank_check(!(mutex.held_here()), "not mutex.held_here()");
  });
  INFO("n = " << n);
  CHECK(counter == static_cast<long>(n) * rounds);
  CHECK(most_inside.load() == 1);
}

TEST_CASE("every rank gets the DistributedMutex while rank 0 locks greedily") {
  const int n = GENERATE(2, 4, 7);
  constexpr int greedy_rounds = 200;
  std::vector<std::atomic<int>> per_rank(static_cast<std::size_t>(n));
  std::atomic<bool> stop{false};
  hilo::run_local(n, [&](Communicator& world) {
    DistributedMutex mutex(world);
    world.barrier();
    auto& mine = per_rank[static_cast<std::size_t>(world.rank())];
    auto turn = [&] {
      std::scoped_lock hold(mutex);
      mine.fetch_add(1);
    };
    if (world.rank() == 0) {
      // The coordinator relocks at once, with no message of its own to wait for, at least
      // greedy_rounds times and until every other rank has had a turn (a fixed count alone could
      // end before the others' first requests arrive). Were the grants not FIFO, the others would
      // starve: the time bound makes that a failure below, not a hang.
      auto others_had_a_turn = [&] {
        for (int r = 1; r < n; ++r)
          if (per_rank[static_cast<std::size_t>(r)].load() == 0) return false;
        return true;
      };
      const auto give_up = std::chrono::steady_clock::now() + 20s;
      for (int i = 0; (i < greedy_rounds || !others_had_a_turn()) &&
                      std::chrono::steady_clock::now() < give_up;
           ++i)
        turn();
      stop = true;
    } else {
      while (!stop.load()) turn();
    }
  });
  for (int r = 1; r < n; ++r) {
    INFO("n = " << n << ", rank " << r);
    CHECK(per_rank[static_cast<std::size_t>(r)].load() > 0);
  }
}

TEST_CASE("std::unique_lock with try_lock_for times out while another rank holds it") {
  std::atomic<bool> timed_out{false};
  std::atomic<bool> try_lock_refused{false};
  std::atomic<bool> locked_later{false};
  hilo::run_local(3, [&](Communicator& world) {
    DistributedMutex mutex(world, /*coordinator=*/1);
    std::unique_lock<DistributedMutex> hold(mutex, std::defer_lock);
    if (world.rank() == 0) hold.lock();
    world.barrier();
    if (world.rank() == 2) {
      auto start = std::chrono::steady_clock::now();
      timed_out = !hold.try_lock_for(100ms) && std::chrono::steady_clock::now() - start >= 100ms;
      try_lock_refused = !hold.try_lock();
    }
    world.barrier();
    if (world.rank() == 0) hold.unlock();
    if (world.rank() == 2)
      locked_later = hold.try_lock_until(std::chrono::steady_clock::now() + 20s);
  });  // rank 2's unique_lock unlocks on the way out
  CHECK(timed_out.load());
  CHECK(try_lock_refused.load());
  CHECK(locked_later.load());
}

TEST_CASE("std::scoped_lock takes two DistributedMutexes in any order without deadlock") {
  // std::lock's algorithm (lock one, try_lock the other, back off) relies on try_lock. It is
  // slow with remote locks (every attempt is a round trip), so few rounds.
  constexpr int rounds = 8;
  std::atomic<int> both_held{0};
  hilo::run_local(4, [&](Communicator& world) {
    DistributedMutex a(world);
    DistributedMutex b(world, /*coordinator=*/world.size() - 1);
    for (int i = 0; i < rounds; ++i) {
      if (world.rank() % 2 == 0) {
        std::scoped_lock hold(a, b);
        rank_check(a.held_here() && b.held_here(), "a.held_here() && b.held_here()");
        ++both_held;
      } else {
        std::scoped_lock hold(b, a);
        rank_check(a.held_here() && b.held_here(), "a.held_here() && b.held_here()");
        ++both_held;
      }
    }
  });
  CHECK(both_held.load() == 4 * rounds);
}

TEST_CASE("unlock on a rank that does not hold the DistributedMutex throws") {
  std::atomic<int> errors{0};
  hilo::run_local(2, [&](Communicator& world) {
    DistributedMutex mutex(world);
    try {
      mutex.unlock();
    } catch (const hilo::Error&) {
      ++errors;
    }
  });
  CHECK(errors.load() == 2);
}
