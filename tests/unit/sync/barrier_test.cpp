// hilo::Barrier: phases that never overlap, the completion function, arrive_and_drop, the timed
// wait (and the barrier's state after it times out), and argument checks.
#include "hilo/sync/barrier.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "hilo/errors.hpp"

using namespace std::chrono_literals;

namespace {

// Runs body(thread_index) on `count` threads at once and joins them.
template <class Body>
void run_threads(int count, Body body) {
  std::vector<std::jthread> threads;
  for (int i = 0; i < count; ++i) threads.emplace_back(body, i);
}

}  // namespace

TEST_CASE("phases never overlap and the completion runs once per phase, before any release") {
  constexpr int thread_count = 8;
  constexpr int phases = 1000;
  // Per phase: how many threads arrived, how many left, and how often the completion ran.
  std::vector<std::atomic<int>> arrived(phases);
  std::vector<std::atomic<int>> left(phases);
  std::vector<int> completions(phases, 0);  // plain ints: only the completion writes them
  std::atomic<int> current_phase{0};
  std::atomic<int> violations{0};

  hilo::Barrier barrier(thread_count, [&] {
    const int phase = current_phase.load();
    ++completions[phase];
    // Everyone has arrived and no one has been released yet.
    if (arrived[phase].load() != thread_count || left[phase].load() != 0) violations.fetch_add(1);
    current_phase.store(phase + 1);
  });
  CHECK(barrier.expected() == thread_count);

  run_threads(thread_count, [&](int) {
    for (int phase = 0; phase < phases; ++phase) {
      arrived[phase].fetch_add(1);
      barrier.arrive_and_wait();
      // Released: every thread reached this phase, and the completion already ran for it.
      if (arrived[phase].load() != thread_count || completions[phase] != 1) {
        violations.fetch_add(1);
      }
      // No thread can be in the phase after next while we are still leaving this one.
      if (phase + 2 < phases && arrived[phase + 2].load() != 0) violations.fetch_add(1);
      left[phase].fetch_add(1);
    }
  });

  CHECK(violations.load() == 0);
  CHECK(current_phase.load() == phases);
  int wrong_completion_counts = 0;
  for (int phase = 0; phase < phases; ++phase) {
    if (completions[phase] != 1 || left[phase].load() != thread_count) ++wrong_completion_counts;
  }
  CHECK(wrong_completion_counts == 0);
}

TEST_CASE("a barrier of one never waits and still runs its completion each phase") {
  int completions = 0;
  hilo::Barrier barrier(1, [&] { ++completions; });
  for (int i = 0; i < 5; ++i) barrier.arrive_and_wait();
  barrier.arrive_and_wait_for(1ms);
  CHECK(completions == 6);
}

TEST_CASE("arrive_and_drop counts for this phase and the barrier expects one fewer afterwards") {
  std::atomic<int> completions{0};
  hilo::Barrier barrier(3, [&] { completions.fetch_add(1); });
  constexpr int phases = 100;
  run_threads(3, [&](int index) {
    if (index == 0) {
      barrier.arrive_and_drop();  // counts for phase 0, then gone
      return;
    }
    for (int phase = 0; phase < phases; ++phase) barrier.arrive_and_wait();
  });
  CHECK(completions.load() == phases);
  CHECK(barrier.expected() == 2);
}

TEST_CASE("the last arrival may be a drop: it completes the phase for the waiter") {
  int completions = 0;
  hilo::Barrier barrier(2, [&] { ++completions; });
  std::jthread waiter([&] {
    barrier.arrive_and_wait();  // phase 0: released by the drop below
    barrier.arrive_and_wait();  // phase 1: alone now, so it completes at once
  });
  barrier.arrive_and_drop();
  waiter.join();
  CHECK(completions == 2);
  CHECK(barrier.expected() == 1);
}

// Without a completion function the last thread publishes the next phase inline (no call to
// the out-of-line completion path); these cover that path, its wake-up of sleeping waiters, and
// drops applied without a completion.
TEST_CASE("without a completion, waiters that slept on the futex are released every phase") {
  constexpr int thread_count = 3;
  constexpr int phases = 5;
  hilo::Barrier barrier(thread_count);
  std::vector<std::atomic<int>> arrived(phases);
  std::atomic<int> early_releases{0};
  run_threads(thread_count, [&](int index) {
    for (int phase = 0; phase < phases; ++phase) {
      // The last thread comes long after the spin is over, so the others are asleep.
      if (index == thread_count - 1) std::this_thread::sleep_for(20ms);
      arrived[phase].fetch_add(1);
      barrier.arrive_and_wait();
      if (arrived[phase].load() != thread_count) early_releases.fetch_add(1);
    }
  });
  CHECK(early_releases.load() == 0);
  CHECK(barrier.expected() == thread_count);
}

TEST_CASE("without a completion, a drop releases the waiter and takes effect the next phase") {
  hilo::Barrier barrier(2);
  std::atomic<int> passed{0};
  std::jthread waiter([&] {
    barrier.arrive_and_wait();  // phase 0: released by the drop below
    passed.fetch_add(1);
    barrier.arrive_and_wait();  // phase 1: alone now, so it completes at once
    passed.fetch_add(1);
  });
  std::this_thread::sleep_for(20ms);  // the waiter sleeps by now
  barrier.arrive_and_drop();
  waiter.join();
  CHECK(passed.load() == 2);
  CHECK(barrier.expected() == 1);
}

TEST_CASE("a timed wait throws Timeout, not early, naming the counts; the barrier stays usable") {
  std::atomic<int> completions{0};
  hilo::Barrier barrier(2, [&] { completions.fetch_add(1); });

  const auto start = std::chrono::steady_clock::now();
  try {
    barrier.arrive_and_wait_for(50ms);
    FAIL("arrive_and_wait_for returned although the other thread never arrived");
  } catch (const hilo::Timeout& timeout) {
    CHECK(std::chrono::steady_clock::now() - start >= 50ms);
    const std::string message = timeout.what();
    CHECK_THAT(message, Catch::StartsWith("hilo: Barrier::arrive_and_wait: timed out"));
    CHECK_THAT(message, Catch::Contains("1 of the 2 expected threads arrived"));
    CHECK_THAT(message, Catch::Contains("withdrawn"));
  }
  CHECK(completions.load() == 0);

  // The arrival was withdrawn: another lone arrival does not complete the phase either.
  std::jthread([&] { CHECK_THROWS_AS(barrier.arrive_and_wait_for(20ms), hilo::Timeout); }).join();
  CHECK(completions.load() == 0);

  const auto system_deadline = std::chrono::system_clock::now() + 20ms;
  CHECK_THROWS_AS(barrier.arrive_and_wait_until(system_deadline), hilo::Timeout);
  CHECK(std::chrono::system_clock::now() >= system_deadline);

  // Two real arrivals complete exactly one phase, then the next phase works as well.
  run_threads(2, [&](int) {
    barrier.arrive_and_wait();
    barrier.arrive_and_wait_for(10s);
  });
  CHECK(completions.load() == 2);
  CHECK(barrier.expected() == 2);
}

TEST_CASE("a timed wait returns normally when the others arrive in time") {
  hilo::Barrier barrier(2);
  std::jthread late([&] {
    std::this_thread::sleep_for(20ms);
    barrier.arrive_and_wait();
  });
  CHECK_NOTHROW(barrier.arrive_and_wait_for(10s));
}

TEST_CASE("timeouts racing with phase completion never lose or invent an arrival") {
  constexpr int phases = 2000;
  std::vector<std::atomic<int>> arrived(phases);
  std::atomic<int> completions{0};
  std::atomic<int> timeouts{0};
  std::atomic<int> violations{0};
  hilo::Barrier barrier(2, [&] { completions.fetch_add(1); });

  run_threads(2, [&](int index) {
    for (int phase = 0; phase < phases; ++phase) {
      arrived[phase].fetch_add(1);
      if (index == 0) {
        // Now and then arrive late, so that the other thread surely times out in this phase.
        if (phase % 10 == 0) std::this_thread::sleep_for(100us);
        barrier.arrive_and_wait();
      } else {
        // Deadlines so short that many expire right as the other thread arrives.
        for (;;) {
          try {
            barrier.arrive_and_wait_for(std::chrono::microseconds(phase % 50));
            break;
          } catch (const hilo::Timeout&) {
            timeouts.fetch_add(1);
          }
        }
      }
      if (arrived[phase].load() != 2 || completions.load() < phase + 1) violations.fetch_add(1);
    }
  });
  CHECK(violations.load() == 0);
  CHECK(completions.load() == phases);
  CHECK(timeouts.load() > 0);  // the race was actually exercised
}

TEST_CASE("a throwing completion still completes the phase; the last thread gets the exception") {
  std::atomic<int> phase{0};
  hilo::Barrier barrier(2, [&] {
    if (phase.fetch_add(1) == 0) throw std::runtime_error("completion failed in phase 0");
  });
  std::atomic<int> exceptions{0};
  run_threads(2, [&](int) {
    try {
      barrier.arrive_and_wait();
    } catch (const std::runtime_error&) {
      exceptions.fetch_add(1);
    }
    barrier.arrive_and_wait();  // the next phase works
  });
  CHECK(exceptions.load() == 1);
  CHECK(phase.load() == 2);
}

TEST_CASE("Barrier rejects expected counts out of range") {
  CHECK_THROWS_AS(hilo::Barrier(0), std::invalid_argument);
  CHECK_THROWS_AS(hilo::Barrier(-1), std::invalid_argument);
  CHECK_THROWS_AS(hilo::Barrier(hilo::Barrier::max() + 1), std::invalid_argument);
  CHECK_THROWS_WITH(hilo::Barrier(0), Catch::StartsWith("hilo: Barrier: expected count 0") &&
                                          Catch::Contains("between 1 and"));
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<hilo::Barrier>);
  STATIC_REQUIRE_FALSE(std::is_move_constructible_v<hilo::Barrier>);
}
