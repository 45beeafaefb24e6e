/// \file
/// hilo::Mutex: a lock that one thread holds at a time (Python's threading.Lock), with timed
/// attempts. It is Lockable and TimedLockable, so it works with std::scoped_lock,
/// std::unique_lock and std::lock:
///
/// \code
/// hilo::Mutex mutex;
/// {
///   std::scoped_lock lock(mutex);           // released at the closing brace, even on throw
///   print_the_whole_line();
/// }
/// std::unique_lock lock(mutex, std::chrono::milliseconds(50));   // try_lock_for
/// if (!lock) { /* still held by someone else after 50 ms */ }
/// \endcode
///
/// std::timed_mutex already has everything needed; hilo::Mutex is that, under the name the rest
/// of hilo and its examples use, with its timed waits kept visible to ThreadSanitizer (below). Not
/// recursive: locking it twice from one thread deadlocks, as with Python's Lock. Not copyable or
/// movable.
#pragma once

#include <chrono>
#include <mutex>

namespace hilo {

/// A lock that one thread holds at a time, with timed attempts (see mutex.hpp). Lockable and
/// TimedLockable; not recursive, not copyable or movable.
class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  /// Blocks, without a time limit, until this thread holds the mutex. Locking it twice from one
  /// thread deadlocks.
  void lock() { mutex_.lock(); }
  /// Takes the mutex if it is free; never waits.
  bool try_lock() noexcept { return mutex_.try_lock(); }
  /// Releases the mutex, which this thread must hold.
  void unlock() noexcept { mutex_.unlock(); }

  /// Waits at most `timeout` for the lock; false if it was still held (never returns false early).
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    return try_lock_until(std::chrono::steady_clock::now() + timeout);
  }

  /// Every timed wait goes through std::timed_mutex's system_clock path
  /// (pthread_mutex_timedlock), re-checking the caller's own clock after each attempt, so a
  /// wall-clock jump cannot end it early. Why not simply mutex_.try_lock_until(deadline): for a
  /// steady_clock deadline libstdc++ calls pthread_mutex_clocklock, which GCC 12's
  /// ThreadSanitizer does not intercept, and it then reports every successful timed lock as
  /// "unlock of an unlocked mutex" in the user's program.
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    using std::chrono::system_clock;
    for (;;) {
      const auto left = deadline - Clock::now();
      if (left <= decltype(left)::zero()) return mutex_.try_lock();
      if (mutex_.try_lock_until(system_clock::now() +
                                std::chrono::ceil<system_clock::duration>(left))) {
        return true;
      }
    }
  }

 private:
  std::timed_mutex mutex_;
};

}  // namespace hilo
