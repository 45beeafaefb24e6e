// Blocking on a 32-bit atomic, with an optional deadline: the one thing hilo's sync layer needs
// that C++20 lacks. std::atomic<T>::wait has no timed form, and hilo::Semaphore and hilo::Barrier
// must offer timed waits that share one wake-up mechanism with their untimed waits (mixing
// std::atomic::wait with a hand-made timed wait would lose wake-ups: libstdc++ skips the wake
// system call when it counted no std::atomic waiters). On Linux this is the futex system call,
// which is also what libstdc++ uses underneath std::atomic::wait and std::counting_semaphore.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <type_traits>

namespace hilo::detail {

using FutexWord = std::atomic<std::uint32_t>;
static_assert(sizeof(FutexWord) == sizeof(std::uint32_t) && FutexWord::is_always_lock_free,
              "the futex system call needs a plain 32-bit word");

// Sleeps while `word` holds `expected`. Returns when woken, when the value differs on entry, or
// spuriously (a signal): callers re-check their condition in a loop.
void futex_wait(const FutexWord& word, std::uint32_t expected) noexcept;

// Like futex_wait, but gives up at `deadline`. Returns false only if the deadline passed (never
// before it: the kernel measures the absolute deadline on CLOCK_MONOTONIC, steady_clock's clock).
bool futex_wait_until(const FutexWord& word, std::uint32_t expected,
                      std::chrono::steady_clock::time_point deadline) noexcept;

// Wakes up to `count` threads sleeping on `word`.
void futex_wake(const FutexWord& word, std::uint32_t count) noexcept;

// Spins briefly until `ready()` holds, as libstdc++ does before it sleeps in std::atomic::wait:
// a short wait is over before a system call would have returned. Returns ready()'s last value.
template <class Ready>
bool spin_briefly(Ready&& ready) noexcept {
  constexpr int relax_rounds = 12;  // the same counts libstdc++ 12 uses (__atomic_spin)
  constexpr int yield_rounds = 4;
  for (int round = 0; round < relax_rounds; ++round) {
    if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  for (int round = 0; round < yield_rounds; ++round) {
    if (ready()) return true;
    std::this_thread::yield();
  }
  return ready();
}

// Spins (with the processor's pause hint) until `ready()` holds or about `budget` has passed;
// returns ready()'s last value.
template <class Ready>
bool spin_pausing_for(Ready&& ready, std::chrono::nanoseconds budget) noexcept {
  constexpr int pauses_between_clock_reads = 16;  // a clock read costs about one pause
  const auto give_up = std::chrono::steady_clock::now() + budget;
  do {
    for (int round = 0; round < pauses_between_clock_reads; ++round) {
      if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  } while (std::chrono::steady_clock::now() < give_up);
  return ready();
}

// The spin before sleeping in waits that usually end one or two cache-line transfers after the
// other thread moves (a barrier phase). There spin_briefly's dozen pauses are over too soon, and
// the futex sleep and wake-up that follow cost several microseconds (more under virtualisation,
// where a wake-up is an inter-processor interrupt): ten times the hop itself. So spin for a few
// microseconds, about what a sleep and wake-up cost (min_budget to max_budget), halving after a
// failed spin and doubling after a successful one.
// The floor is not lower on purpose. With a floor well under a microsecond, two threads that
// once fell out of step (one descheduled for a moment) stayed out of step: each woke the other
// and was asleep again before the other was up, every spin failed, and the budget sat at the
// floor; a 2-thread barrier was then slower than std::barrier, and many times slower than with
// this floor (benchmarks/analysis.md, "Measurements behind constants in the code"). When the
// spins keep failing because the other thread really cannot run (more threads than cores), a
// spin wastes at most those few microseconds, about a wake-up's cost. No yields between the spin
// and the sleep: on a loaded machine a yield can hand the core to a busy process for a whole
// time slice, whereas a sleeper, once woken, preempts it at once.
// One per waiting object; its updates are racy on purpose (relaxed): it is only a hint.
class AdaptiveSpin {
 public:
  static constexpr std::chrono::nanoseconds min_budget{4000};
  static constexpr std::chrono::nanoseconds max_budget{8000};

  // Spins until `ready()` holds or the budget is spent; returns ready()'s last value. The caller
  // sleeps if it is false.
  template <class Ready>
  bool spin(Ready&& ready) noexcept {
    const std::int64_t budget = budget_ns_.load(std::memory_order_relaxed);
    if (spin_pausing_for(ready, std::chrono::nanoseconds(budget))) {
      if (budget < max_budget.count()) budget_ns_.store(budget * 2, std::memory_order_relaxed);
      return true;
    }
    if (budget > min_budget.count()) budget_ns_.store(budget / 2, std::memory_order_relaxed);
    return false;
  }
  std::chrono::nanoseconds budget() const noexcept {
    return std::chrono::nanoseconds(budget_ns_.load(std::memory_order_relaxed));
  }

 private:
  std::atomic<std::int64_t> budget_ns_{4000};
};

// Runs `wait_steady(steady_deadline) -> bool` until it returns true or `deadline`, on any clock,
// has passed. A deadline on another clock (system_clock) is re-read after every wake-up, so a
// clock change moves the wait as the caller asked.
template <class Clock, class Duration, class WaitSteady>
bool wait_until_on_any_clock(const std::chrono::time_point<Clock, Duration>& deadline,
                             WaitSteady&& wait_steady) {
  using std::chrono::steady_clock;
  if constexpr (std::is_same_v<Clock, steady_clock>) {
    return wait_steady(std::chrono::ceil<steady_clock::duration>(deadline));
  } else {
    for (;;) {
      const auto now = Clock::now();
      if (now >= deadline) return false;
      const auto left = std::chrono::ceil<steady_clock::duration>(deadline - now);
      if (wait_steady(steady_clock::now() + left)) return true;
    }
  }
}

}  // namespace hilo::detail
