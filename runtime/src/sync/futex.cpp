// The futex system call behind hilo::detail::futex_wait / futex_wake (see detail/futex.hpp).
#include "hilo/sync/detail/futex.hpp"

#if !defined(__linux__)
#error "hilo's sync layer sleeps on Linux futexes: port runtime/src/sync/futex.cpp to this system"
#endif

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

namespace hilo::detail {
namespace {

// The kernel compares the word's value itself; it only reads it, hence the const_cast.
std::uint32_t* address_of(const FutexWord& word) noexcept {
  return reinterpret_cast<std::uint32_t*>(const_cast<FutexWord*>(&word));
}

// Private futexes: the words never live in memory shared between processes (hilo::ipc has its
// own process-shared primitives), and private ones skip the kernel's shared-mapping lookup.
long futex(const FutexWord& word, int operation, std::uint32_t value, const timespec* timeout,
           std::uint32_t bitset) noexcept {
  return syscall(SYS_futex, address_of(word), operation | FUTEX_PRIVATE_FLAG, value, timeout,
                 nullptr, bitset);
}

}  // namespace

void futex_wait(const FutexWord& word, std::uint32_t expected) noexcept {
  futex(word, FUTEX_WAIT, expected, nullptr, 0);
}

bool futex_wait_until(const FutexWord& word, std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept {
  const auto since_epoch = deadline.time_since_epoch();
  if (since_epoch.count() < 0) return false;  // long past: nothing to wait for
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const timespec absolute{static_cast<time_t>(seconds.count()),
                          static_cast<long>((since_epoch - seconds).count())};
  // FUTEX_WAIT_BITSET takes an absolute deadline on CLOCK_MONOTONIC, which is what libstdc++'s
  // steady_clock reads: repeated wake-ups do not stretch the wait.
  const long result = futex(word, FUTEX_WAIT_BITSET, expected, &absolute, FUTEX_BITSET_MATCH_ANY);
  return !(result == -1 && errno == ETIMEDOUT);
}

void futex_wake(const FutexWord& word, std::uint32_t count) noexcept {
  const int wake = count > static_cast<std::uint32_t>(INT_MAX) ? INT_MAX : static_cast<int>(count);
  futex(word, FUTEX_WAKE, static_cast<std::uint32_t>(wake), nullptr, 0);
}

}  // namespace hilo::detail
