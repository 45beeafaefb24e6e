/// \file
/// Counting semaphores: hilo::Semaphore, hilo::BoundedSemaphore (Python's threading.Semaphore and
/// threading.BoundedSemaphore) and hilo::SemaphoreGuard, which holds one unit for a scope.
///
/// \code
/// hilo::BoundedSemaphore slots(3);          // at most 3 threads inside at once
/// {
///   hilo::SemaphoreGuard guard(slots);      // acquire ... release at the closing brace
///   use_the_connection();
/// }
/// \endcode
///
/// std::counting_semaphore lacks what these add: a count that can be read, arguments that are
/// checked instead of undefined behaviour (a negative count, release(0), a count past the
/// maximum), and the bounded variant's over-release check. The wait path is the same as
/// libstdc++'s (a brief spin, then a futex sleep), and a release only makes a wake-up system call
/// when some thread is asleep.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "hilo/sync/detail/futex.hpp"

namespace hilo {
namespace detail {

// Checks a constructor argument; throws std::invalid_argument naming `who`.
std::uint32_t checked_initial_count(const char* who, std::ptrdiff_t initial,
                                    std::ptrdiff_t minimum);

// The errors of release, out of line so that the inline release stays small.
[[noreturn]] void throw_invalid_update(const char* who, std::ptrdiff_t update);
[[noreturn]] void throw_past_maximum(std::ptrdiff_t update, std::uint32_t before);
[[noreturn]] void throw_above_initial(std::ptrdiff_t update, std::uint32_t before,
                                      std::uint32_t initial);

// What Semaphore and BoundedSemaphore share: the count, the acquire side, and a release that
// refuses to lift the count past a limit. They differ only in that limit and in how they report
// passing it. The count is the futex word; `sleepers_` lets release skip the wake-up system call
// when nobody sleeps.
class SemaphoreBase {
 public:
  /// The largest count a semaphore can hold.
  static constexpr std::ptrdiff_t max() noexcept {
    return std::numeric_limits<std::int32_t>::max();
  }

  SemaphoreBase(const SemaphoreBase&) = delete;
  SemaphoreBase& operator=(const SemaphoreBase&) = delete;

  /// Takes a unit, waiting while there is none.
  void acquire() noexcept {
    if (try_acquire() || spin_briefly([this] { return try_acquire(); })) return;
    sleep_until_acquired(nullptr);
  }

  /// Takes a unit if there is one; never waits.
  bool try_acquire() noexcept {
    std::uint32_t count = count_.load(std::memory_order_relaxed);
    while (count > 0) {
      if (count_.compare_exchange_weak(count, count - 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  /// Waits at most `timeout` for a unit; false if none came (never returns false early).
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& timeout) {
    return try_acquire_until(std::chrono::steady_clock::now() + timeout);
  }
  template <class Clock, class Duration>
  bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    if (try_acquire()) return true;
    return wait_until_on_any_clock(deadline,
                                   [this](auto steady) { return sleep_until_acquired(&steady); });
  }

  /// The count right now: a snapshot, already stale if other threads are using the semaphore.
  std::ptrdiff_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 protected:
  explicit SemaphoreBase(std::uint32_t initial) noexcept : count_(initial) {}
  ~SemaphoreBase() = default;

  // Adds `update` unless the count would pass `limit`. Returns the count seen before, and
  // whether it was added; when not added nothing changed, even with other releases racing.
  struct ReleaseResult {
    bool added;
    std::uint32_t before;
  };
  ReleaseResult release_up_to(std::uint32_t update, std::uint32_t limit) noexcept {
    std::uint32_t count = count_.load(std::memory_order_relaxed);
    do {
      if (count > limit || update > limit - count) return {false, count};
      // seq_cst (with the load of sleepers_ below) pairs with the sleeper's increment of
      // sleepers_ before it sleeps: either it sees the new count, or we see it and wake it.
    } while (!count_.compare_exchange_weak(count, count + update, std::memory_order_seq_cst,
                                           std::memory_order_relaxed));
    if (sleepers_.load(std::memory_order_seq_cst) > 0) futex_wake(count_, update);
    return {true, count};
  }

 private:
  // The slow path: registers as a sleeper and sleeps on the count while it is 0. Returns false
  // if `deadline` (when given) passed without a unit.
  bool sleep_until_acquired(const std::chrono::steady_clock::time_point* deadline) noexcept {
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    bool acquired = false;
    for (;;) {
      if (try_acquire()) {
        acquired = true;
        break;
      }
      if (deadline == nullptr) {
        futex_wait(count_, 0);
      } else if (!futex_wait_until(count_, 0, *deadline)) {
        acquired = try_acquire();  // a release may have landed right at the deadline
        break;
      }
    }
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return acquired;
  }

  FutexWord count_;
  std::atomic<std::uint32_t> sleepers_{0};
};

}  // namespace detail

/// A counting semaphore (Python's threading.Semaphore): acquire takes a unit (waiting while there
/// is none), release gives units back. Semaphore(0) is the signal pattern: the waiter blocks until
/// another thread releases. Not copyable or movable (threads hold references to it).
/// Also has, from its base: acquire() (blocks without a time limit while the count is
/// 0; never throws), try_acquire() (never waits), try_acquire_for(d) / try_acquire_until(t)
/// (false if no unit came in time), count() (a snapshot) and max().
class Semaphore : public detail::SemaphoreBase {
 public:
  /// Throws std::invalid_argument if `initial` is negative or above max().
  explicit Semaphore(std::ptrdiff_t initial)
      : SemaphoreBase(detail::checked_initial_count("Semaphore", initial, 0)) {}

  /// Gives back `update` units, waking up to that many waiters. Throws std::invalid_argument if
  /// update < 1 or above max(), hilo::Error if the count would pass max() (then nothing changes).
  void release(std::ptrdiff_t update = 1) {
    if (update < 1 || update > max()) detail::throw_invalid_update("Semaphore", update);
    const auto result =
        release_up_to(static_cast<std::uint32_t>(update), static_cast<std::uint32_t>(max()));
    if (!result.added) detail::throw_past_maximum(update, result.before);
  }
};

/// A semaphore whose count may never rise above its initial value, like Python's
/// threading.BoundedSemaphore: releasing more than was acquired is a bug, and it is reported at
/// the release that does it instead of silently letting one more thread in later. Also has, from
/// its base: acquire() (blocks without a time limit while the count is 0; never throws),
/// try_acquire() (never waits), try_acquire_for(d) / try_acquire_until(t) (false if no unit came in
/// time), count() (a snapshot) and max().
class BoundedSemaphore : public detail::SemaphoreBase {
 public:
  /// Throws std::invalid_argument unless 1 <= initial <= max().
  explicit BoundedSemaphore(std::ptrdiff_t initial)
      : SemaphoreBase(detail::checked_initial_count("BoundedSemaphore", initial, 1)),
        initial_(static_cast<std::uint32_t>(initial)) {}

  /// Gives back `update` units. Throws hilo::Error, changing nothing, if that would lift the count
  /// above the initial value (also when several threads release at once: the check and the
  /// update are one atomic step). Throws std::invalid_argument if update < 1.
  void release(std::ptrdiff_t update = 1) {
    if (update < 1 || update > max()) {
      detail::throw_invalid_update("BoundedSemaphore", update);
    }
    const auto result = release_up_to(static_cast<std::uint32_t>(update), initial_);
    if (!result.added) detail::throw_above_initial(update, result.before, initial_);
  }

  /// The initial value, which is also the most the count can be.
  std::ptrdiff_t initial() const noexcept { return initial_; }

 private:
  std::uint32_t initial_;
};

/// Holds one unit of a semaphore for a scope: acquires in the constructor, releases in the
/// destructor. Works with hilo::Semaphore, hilo::BoundedSemaphore, std::counting_semaphore, or
/// anything with acquire() and release(). If the release throws (a BoundedSemaphore that was
/// over-released by hand inside the scope), std::terminate reports that exception.
template <class SemaphoreType>
class [[nodiscard]] SemaphoreGuard {
 public:
  /// Acquires one unit of `semaphore`, blocking as its acquire() does.
  explicit SemaphoreGuard(SemaphoreType& semaphore) : semaphore_(semaphore) {
    semaphore_.acquire();
  }
  ~SemaphoreGuard() { semaphore_.release(); }
  SemaphoreGuard(const SemaphoreGuard&) = delete;
  SemaphoreGuard& operator=(const SemaphoreGuard&) = delete;

 private:
  SemaphoreType& semaphore_;
};

}  // namespace hilo
