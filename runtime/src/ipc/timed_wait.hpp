// Private helper for the ipc layer: timed waits on a pthread mutex or a POSIX semaphore.
#pragma once

#include <pthread.h>
#include <semaphore.h>

#include <cerrno>
#include <ctime>

namespace hilo::ipc::detail {

// Now + `nanoseconds` on `clock`; very long waits are capped at about a century.
inline timespec deadline_after(clockid_t clock, long long nanoseconds) {
  constexpr long long kBillion = 1'000'000'000;
  constexpr long long kCenturyInSeconds = 100LL * 365 * 24 * 3600;
  timespec deadline{};
  clock_gettime(clock, &deadline);
  long long seconds = nanoseconds / kBillion;
  if (seconds > kCenturyInSeconds) seconds = kCenturyInSeconds;
  long long fraction = deadline.tv_nsec + nanoseconds % kBillion;
  deadline.tv_sec += static_cast<time_t>(seconds + fraction / kBillion);
  deadline.tv_nsec = static_cast<long>(fraction % kBillion);
  return deadline;
}

// Nanoseconds from now until `deadline` on CLOCK_MONOTONIC (negative once it has passed).
inline long long nanoseconds_until(const timespec& deadline) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (static_cast<long long>(deadline.tv_sec) - now.tv_sec) * 1'000'000'000LL +
         (deadline.tv_nsec - now.tv_nsec);
}

// The timed waits use CLOCK_MONOTONIC (pthread_mutex_clocklock, sem_clockwait) so that a change
// of the wall clock neither shortens nor stretches them. Under ThreadSanitizer, GCC 12's libtsan
// does not intercept the *_clock* calls, and its pthread_mutex_timedlock interceptor ignores
// EOWNERDEAD: either way it would not see the lock taken and would report a false "unlock of an
// unlocked mutex". So under TSan a timed lock polls pthread_mutex_trylock (fully intercepted,
// EOWNERDEAD included) every millisecond, and a timed semaphore wait uses sem_timedwait
// (CLOCK_REALTIME, intercepted). Release builds never poll.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kUnderThreadSanitizer = true;
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif

// Like pthread_mutex_clocklock with a deadline `nanoseconds` from now: 0, ETIMEDOUT,
// EOWNERDEAD or another error number.
inline int timed_lock(pthread_mutex_t* mutex, long long nanoseconds) {
  timespec deadline = deadline_after(CLOCK_MONOTONIC, nanoseconds);
  if constexpr (!kUnderThreadSanitizer) {
    return pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &deadline);
  } else {
    for (;;) {
      int result = pthread_mutex_trylock(mutex);
      if (result != EBUSY) return result;
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (now.tv_sec > deadline.tv_sec ||
          (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
        return ETIMEDOUT;
      }
      timespec pause{0, 1'000'000};
      nanosleep(&pause, nullptr);
    }
  }
}

// The absolute deadline for timed_wait, computed once so that a wait resumed after EINTR does
// not start counting again.
inline timespec semaphore_deadline_after(long long nanoseconds) {
  return deadline_after(kUnderThreadSanitizer ? CLOCK_REALTIME : CLOCK_MONOTONIC, nanoseconds);
}

// Like sem_clockwait: 0, or -1 with errno set.
inline int timed_wait(sem_t* semaphore, const timespec& deadline) {
  if constexpr (kUnderThreadSanitizer) {
    return sem_timedwait(semaphore, &deadline);
  } else {
    return sem_clockwait(semaphore, CLOCK_MONOTONIC, &deadline);
  }
}

}  // namespace hilo::ipc::detail
