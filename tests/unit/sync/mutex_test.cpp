// hilo::Mutex: mutual exclusion with the standard lock wrappers, try_lock and the timed locks.
#include "hilo/sync/mutex.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <semaphore>
#include <thread>
#include <type_traits>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

constexpr int thread_count = 8;
constexpr long increments_in_total = 1'000'000;

// Runs `body` on thread_count threads at once and joins them.
template <class Body>
void run_threads(Body body) {
  std::vector<std::jthread> threads;
  for (int i = 0; i < thread_count; ++i) threads.emplace_back(body);
}

// Holds `mutex` on another thread until the returned object's release() (or destruction).
class HeldElsewhere {
 public:
  explicit HeldElsewhere(hilo::Mutex& mutex)
      : holder_([this, &mutex] {
          std::scoped_lock lock(mutex);
          locked_.release();
          may_unlock_.acquire();
        }) {
    locked_.acquire();
  }
  ~HeldElsewhere() { release(); }
  void release() {
    if (!released_) {
      released_ = true;
      may_unlock_.release();
      holder_.join();
    }
  }

 private:
  std::binary_semaphore locked_{0};
  std::binary_semaphore may_unlock_{0};
  bool released_ = false;
  std::thread holder_;
};

}  // namespace

TEST_CASE("hilo::Mutex is neither copyable nor movable") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<hilo::Mutex>);
  STATIC_REQUIRE_FALSE(std::is_move_constructible_v<hilo::Mutex>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<hilo::Mutex>);
}

TEST_CASE("a non-atomic counter stays exact under std::scoped_lock") {
  hilo::Mutex mutex;
  long counter = 0;  // deliberately not atomic: only the mutex keeps it exact
  run_threads([&] {
    for (long i = 0; i < increments_in_total / thread_count; ++i) {
      std::scoped_lock lock(mutex);
      ++counter;
    }
  });
  CHECK(counter == increments_in_total);
}

TEST_CASE("a non-atomic counter stays exact under std::unique_lock and try_lock") {
  hilo::Mutex mutex;
  long counter = 0;
  run_threads([&] {
    for (long i = 0; i < increments_in_total / thread_count; ++i) {
      if (i % 2 == 0) {
        std::unique_lock lock(mutex);
        ++counter;
      } else {
        std::unique_lock lock(mutex, std::try_to_lock);
        if (!lock) lock.lock();
        ++counter;
      }
    }
  });
  CHECK(counter == increments_in_total);
}

TEST_CASE("try_lock fails while another thread holds the mutex and succeeds once it is free") {
  hilo::Mutex mutex;
  HeldElsewhere held(mutex);
  CHECK_FALSE(mutex.try_lock());
  held.release();
  REQUIRE(mutex.try_lock());
  mutex.unlock();
}

TEST_CASE("try_lock_for times out while held, and not early") {
  hilo::Mutex mutex;
  HeldElsewhere held(mutex);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(mutex.try_lock_for(50ms));
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);

  const auto until_start = std::chrono::system_clock::now();
  CHECK_FALSE(mutex.try_lock_until(until_start + 30ms));
  CHECK(std::chrono::system_clock::now() >= until_start + 30ms);

  std::unique_lock lock(mutex, 20ms);
  CHECK_FALSE(lock.owns_lock());
}

TEST_CASE("try_lock_for succeeds on a free mutex and when the holder releases in time") {
  hilo::Mutex mutex;
  REQUIRE(mutex.try_lock_for(10s));
  mutex.unlock();
  REQUIRE(mutex.try_lock_until(std::chrono::steady_clock::now() + 10s));
  mutex.unlock();

  HeldElsewhere held(mutex);
  std::jthread releaser([&] {
    std::this_thread::sleep_for(20ms);
    held.release();
  });
  REQUIRE(mutex.try_lock_for(10s));
  mutex.unlock();
}
