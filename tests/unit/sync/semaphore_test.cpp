// hilo::Semaphore, hilo::BoundedSemaphore and hilo::SemaphoreGuard: the admission limit, timed
// acquires, the signal pattern, the bounded over-release check and argument checks.
#include "hilo/sync/semaphore.hpp"

#include <atomic>
#include <chrono>
#include <latch>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "hilo/errors.hpp"

using namespace std::chrono_literals;

namespace {

// Raises `high_water` to `value` if it is higher.
void record_max(std::atomic<int>& high_water, int value) {
  int seen = high_water.load();
  while (value > seen && !high_water.compare_exchange_weak(seen, value)) {
  }
}

}  // namespace

TEMPLATE_TEST_CASE("never more than n threads hold the semaphore, and n do at once", "",
                   hilo::Semaphore, hilo::BoundedSemaphore) {
  constexpr int limit = 3;
  constexpr int thread_count = 8;
  constexpr int iterations = 400;
  TestType semaphore(limit);
  std::atomic<int> inside{0};
  std::atomic<int> high_water{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < thread_count; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < iterations; ++i) {
          hilo::SemaphoreGuard guard(semaphore);
          record_max(high_water, inside.fetch_add(1) + 1);
          // Stay inside a little so that others pile up behind the limit.
          if (i % 8 == 0) {
            std::this_thread::sleep_for(50us);
          } else {
            std::this_thread::yield();
          }
          inside.fetch_sub(1);
        }
      });
    }
  }
  CHECK(high_water.load() == limit);
  CHECK(semaphore.count() == limit);
}

TEST_CASE("Semaphore(0) is the signal pattern: acquire waits for another thread's release") {
  hilo::Semaphore ready(0);
  CHECK_FALSE(ready.try_acquire());
  int message = 0;  // not atomic: the semaphore orders the write before the read
  std::jthread producer([&] {
    std::this_thread::sleep_for(10ms);
    message = 42;
    ready.release();
  });
  ready.acquire();
  CHECK(message == 42);
  CHECK(ready.count() == 0);
}

TEST_CASE("release(k) lets k waiting threads through") {
  hilo::Semaphore gate(0);
  constexpr int waiters = 4;
  std::atomic<int> passed{0};
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < waiters; ++i) {
      threads.emplace_back([&] {
        gate.acquire();
        passed.fetch_add(1);
      });
    }
    gate.release(waiters);
  }
  CHECK(passed.load() == waiters);
  CHECK(gate.count() == 0);
}

TEMPLATE_TEST_CASE("a timed acquire times out when nothing is released, and not early", "",
                   hilo::Semaphore, hilo::BoundedSemaphore) {
  TestType semaphore(1);
  semaphore.acquire();

  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(semaphore.try_acquire_for(50ms));
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);

  const auto deadline = std::chrono::steady_clock::now() + 30ms;
  CHECK_FALSE(semaphore.try_acquire_until(deadline));
  CHECK(std::chrono::steady_clock::now() >= deadline);

  const auto system_deadline = std::chrono::system_clock::now() + 30ms;
  CHECK_FALSE(semaphore.try_acquire_until(system_deadline));
  CHECK(std::chrono::system_clock::now() >= system_deadline);

  CHECK(semaphore.count() == 0);
}

TEMPLATE_TEST_CASE("a timed acquire succeeds at once when free, and when released in time", "",
                   hilo::Semaphore, hilo::BoundedSemaphore) {
  TestType semaphore(1);
  REQUIRE(semaphore.try_acquire_for(10s));
  std::jthread releaser([&] {
    std::this_thread::sleep_for(20ms);
    semaphore.release();
  });
  REQUIRE(semaphore.try_acquire_for(10s));
  CHECK(semaphore.count() == 0);
}

TEST_CASE("Semaphore rejects bad arguments with std::invalid_argument") {
  CHECK_THROWS_AS(hilo::Semaphore(-1), std::invalid_argument);
  CHECK_THROWS_AS(hilo::Semaphore(hilo::Semaphore::max() + 1), std::invalid_argument);
  CHECK_NOTHROW(hilo::Semaphore(0));
  CHECK_NOTHROW(hilo::Semaphore(hilo::Semaphore::max()));

  hilo::Semaphore semaphore(1);
  CHECK_THROWS_AS(semaphore.release(0), std::invalid_argument);
  CHECK_THROWS_AS(semaphore.release(-2), std::invalid_argument);
  CHECK_THROWS_WITH(semaphore.release(0),
                    Catch::StartsWith("hilo: Semaphore::release: release(0) is invalid"));
  CHECK_THROWS_WITH(hilo::Semaphore(-1),
                    Catch::StartsWith("hilo: Semaphore: initial count -1 is out of range"));
  CHECK(semaphore.count() == 1);

  hilo::Semaphore full(hilo::Semaphore::max() - 1);
  full.release();
  CHECK(full.count() == hilo::Semaphore::max());
  CHECK(full.count() == hilo::Semaphore::max());
}

// The update is fine on its own; it is the count it meets that is too high (as for
// BoundedSemaphore's limit), so this is a hilo::Error, not a bad argument.
TEST_CASE("Semaphore release past the maximum throws hilo::Error and changes nothing") {
  hilo::Semaphore full(hilo::Semaphore::max());
  CHECK_THROWS_AS(full.release(), hilo::Error);
  CHECK_THROWS_WITH(
      full.release(),
      Catch::StartsWith("hilo: Semaphore::release: release(1) would raise the count") &&
          Catch::Contains("past the maximum"));
  CHECK(full.count() == hilo::Semaphore::max());
}

TEST_CASE("BoundedSemaphore rejects bad arguments with std::invalid_argument") {
  CHECK_THROWS_AS(hilo::BoundedSemaphore(0), std::invalid_argument);
  CHECK_THROWS_AS(hilo::BoundedSemaphore(-3), std::invalid_argument);
  CHECK_THROWS_AS(hilo::BoundedSemaphore(hilo::BoundedSemaphore::max() + 1), std::invalid_argument);
  hilo::BoundedSemaphore semaphore(2);
  semaphore.acquire();
  CHECK_THROWS_AS(semaphore.release(0), std::invalid_argument);
  CHECK_THROWS_AS(semaphore.release(-1), std::invalid_argument);
  CHECK_THROWS_WITH(semaphore.release(-1),
                    Catch::StartsWith("hilo: BoundedSemaphore::release: release(-1) is invalid"));
  CHECK_THROWS_WITH(hilo::BoundedSemaphore(0),
                    Catch::StartsWith("hilo: BoundedSemaphore: initial count 0 is out of range"));
  CHECK(semaphore.count() == 1);
}

TEST_CASE("BoundedSemaphore over-release throws hilo::Error and changes nothing") {
  hilo::BoundedSemaphore semaphore(3);
  CHECK(semaphore.initial() == 3);
  CHECK_THROWS_AS(semaphore.release(), hilo::Error);
  CHECK_THROWS_WITH(semaphore.release(),
                    Catch::StartsWith("hilo: BoundedSemaphore::release: release(1) would raise "
                                      "the count to 4, above its initial value 3"));
  CHECK(semaphore.count() == 3);

  semaphore.acquire();
  semaphore.acquire();
  CHECK_THROWS_WITH(semaphore.release(3), Catch::Contains("would raise the count to 4"));
  CHECK(semaphore.count() == 1);
  semaphore.release(2);
  CHECK(semaphore.count() == 3);
  // Still exactly 3 units: 3 acquires succeed and a 4th does not.
  CHECK(semaphore.try_acquire());
  CHECK(semaphore.try_acquire());
  CHECK(semaphore.try_acquire());
  CHECK_FALSE(semaphore.try_acquire());
}

TEST_CASE("BoundedSemaphore: of many concurrent releases, exactly the acquired ones succeed") {
  constexpr int limit = 4;
  constexpr int releasers = 8;
  constexpr int rounds = 200;
  hilo::BoundedSemaphore semaphore(limit);
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < limit; ++i) REQUIRE(semaphore.try_acquire());
    std::atomic<int> released{0};
    std::atomic<int> refused{0};
    {
      std::latch start(releasers);
      std::vector<std::jthread> threads;
      for (int t = 0; t < releasers; ++t) {
        threads.emplace_back([&] {
          start.arrive_and_wait();
          try {
            semaphore.release();
            released.fetch_add(1);
          } catch (const hilo::Error&) {
            refused.fetch_add(1);
          }
        });
      }
    }
    REQUIRE(released.load() == limit);
    REQUIRE(refused.load() == releasers - limit);
    REQUIRE(semaphore.count() == limit);
  }
}

TEST_CASE("SemaphoreGuard acquires for its scope and works with any semaphore type") {
  hilo::Semaphore semaphore(2);
  {
    hilo::SemaphoreGuard guard(semaphore);
    CHECK(semaphore.count() == 1);
    {
      hilo::SemaphoreGuard inner(semaphore);
      CHECK(semaphore.count() == 0);
    }
    CHECK(semaphore.count() == 1);
  }
  CHECK(semaphore.count() == 2);

  hilo::BoundedSemaphore bounded(1);
  {
    hilo::SemaphoreGuard guard(bounded);
    STATIC_REQUIRE(std::is_same_v<decltype(guard), hilo::SemaphoreGuard<hilo::BoundedSemaphore>>);
    CHECK_FALSE(bounded.try_acquire());
  }
  CHECK(bounded.count() == 1);

  std::counting_semaphore<4> standard(1);
  {
    hilo::SemaphoreGuard guard(standard);
    CHECK_FALSE(standard.try_acquire());
  }
  CHECK(standard.try_acquire());
}

TEST_CASE("SemaphoreGuard releases when its scope is left by an exception") {
  hilo::BoundedSemaphore semaphore(1);
  try {
    hilo::SemaphoreGuard guard(semaphore);
    throw std::runtime_error("leaving the scope early");
  } catch (const std::runtime_error&) {
  }
  CHECK(semaphore.count() == 1);
}

TEST_CASE("semaphores and guards are neither copyable nor movable") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<hilo::Semaphore>);
  STATIC_REQUIRE_FALSE(std::is_move_constructible_v<hilo::Semaphore>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<hilo::BoundedSemaphore>);
  STATIC_REQUIRE_FALSE(std::is_move_constructible_v<hilo::BoundedSemaphore>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<hilo::SemaphoreGuard<hilo::Semaphore>>);
}
