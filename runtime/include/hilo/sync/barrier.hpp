/// \file
/// hilo::Barrier: n threads meet, and none goes on until all n have arrived; then it is ready for
/// the next phase, any number of times (like std::barrier, plus a timed wait).
///
/// \code
/// hilo::Barrier barrier(4, [] { std::puts("phase done"); });   // completion: optional
/// // in each of the 4 threads, once per phase:
/// compute_my_part();
/// barrier.arrive_and_wait();        // the completion runs once, before anyone is released
/// \endcode
///
/// - arrive_and_drop(): this thread arrives for the current phase and leaves the barrier: later
///   phases expect one thread fewer. It does not wait.
/// - arrive_and_wait_for(timeout): throws hilo::Timeout if the phase has not completed in time.
///   The timed-out arrival is withdrawn before the throw, so the barrier is exactly as if this
///   thread had not arrived: still usable, still expecting the same number of threads, and this
///   thread may arrive again (or drop). If the phase completes while the timeout is being
///   handled, the arrival counts and the call returns normally instead.
/// - The completion function runs in the thread that arrives last, exactly once per phase. If it
///   throws, the phase still completes (every waiter is released) and the exception propagates
///   from that last thread's arrive call.
/// - Using it from more threads than expected in one phase is a bug and its behaviour undefined,
///   as with std::barrier.
///
/// Why not std::barrier: it has no timed wait, and a timed wait needs to take its arrival back.
/// The untimed path costs about the same or less: one atomic add to arrive, a spin of a few
/// microseconds (the other threads are usually that close), then a futex sleep on the phase
/// number, which the last thread bumps and wakes (only if anyone sleeps). With no completion
/// function and no drop pending, the last thread publishes the next phase inline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>

#include "hilo/sync/detail/futex.hpp"

namespace hilo {

/// n threads meet, and none goes on until all n have arrived, any number of phases (like
/// std::barrier, plus a timed wait; see barrier.hpp). Not copyable.
class Barrier {
 public:
  /// The largest number of threads a barrier can expect.
  static constexpr std::ptrdiff_t max() noexcept {
    return std::numeric_limits<std::int32_t>::max();
  }

  /// Throws std::invalid_argument unless 1 <= expected <= max().
  explicit Barrier(std::ptrdiff_t expected, std::function<void()> completion = {});
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  /// Arrives and blocks, without a time limit, until every expected thread has arrived. The last
  /// thread runs the completion function; if it throws, that thread's call throws it (the others
  /// are released).
  void arrive_and_wait() {
    const Arrival arrival = arrive();
    if (arrival.last) {
      finish_phase(arrival.phase);
    } else {
      wait_for_phase_end(arrival.phase);
    }
  }

  /// Arrives for the current phase and leaves the barrier: later phases expect one thread fewer.
  /// Does not wait. If it is the last arrival, runs the completion and throws what it throws.
  void arrive_and_drop();

  /// Throws hilo::Timeout (after withdrawing this arrival) if the phase does not complete in time.
  template <class Rep, class Period>
  void arrive_and_wait_for(const std::chrono::duration<Rep, Period>& timeout) {
    arrive_and_wait_until(std::chrono::steady_clock::now() + timeout);
  }
  /// arrive_and_wait_for until `deadline` (any clock). Throws hilo::Timeout as it.
  template <class Clock, class Duration>
  void arrive_and_wait_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    const Arrival arrival = arrive();
    if (arrival.last) {
      finish_phase(arrival.phase);
      return;
    }
    const bool completed = detail::wait_until_on_any_clock(
        deadline, [&](auto steady) { return wait_for_phase_end_until(arrival.phase, steady); });
    if (!completed) withdraw_or_finish(arrival.phase);
  }

  /// How many threads the current phase waits for (the initial count minus the drops so far that
  /// have taken effect: a drop counts from the phase after it).
  std::ptrdiff_t expected() const noexcept { return expected_.load(std::memory_order_relaxed); }

 private:
  struct Arrival {
    std::uint32_t phase;
    bool last;
  };

  // state_ packs the phase number (high 32 bits) with the arrivals so far in that phase (low 32
  // bits), so that arriving is one atomic add and withdrawing can check, in the same atomic
  // step, that its phase has not completed meanwhile.
  static std::uint32_t phase_of(std::uint64_t state) noexcept {
    return static_cast<std::uint32_t>(state >> 32);
  }
  static std::uint32_t arrivals_of(std::uint64_t state) noexcept {
    return static_cast<std::uint32_t>(state);
  }

  Arrival arrive() noexcept {
    const std::uint64_t before = state_.fetch_add(1, std::memory_order_acq_rel);
    // expected_ only changes while the last thread completes a phase, before it publishes the
    // next phase in state_, so the add above has already synchronised with that change.
    return {phase_of(before), arrivals_of(before) + 1 == expected_.load(std::memory_order_relaxed)};
  }

  // True once the phase number has moved past `phase`. Signed difference: phase numbers wrap.
  bool phase_ended(std::uint32_t phase) const noexcept {
    return static_cast<std::int32_t>(published_phase_.load(std::memory_order_acquire) - phase) > 0;
  }

  bool spin_until_phase_end(std::uint32_t phase) noexcept {
    return phase_ended(phase) || spin_.spin([&] { return phase_ended(phase); });
  }
  void wait_for_phase_end(std::uint32_t phase) noexcept {
    if (!spin_until_phase_end(phase)) sleep_until_phase_end(phase, nullptr);
  }
  bool wait_for_phase_end_until(std::uint32_t phase,
                                std::chrono::steady_clock::time_point deadline) noexcept {
    return spin_until_phase_end(phase) || sleep_until_phase_end(phase, &deadline);
  }

  // Run by the last thread to arrive. The common case (no completion function, no drop in this
  // phase) stays inline; only the rest goes out of line to complete_phase.
  void finish_phase(std::uint32_t phase) {
    if (has_completion_ || drops_this_phase_.load(std::memory_order_relaxed) != 0) {
      complete_phase(phase);
    } else {
      publish_next_phase(phase);
    }
  }
  // Every expected thread has arrived, so nothing else touches state_ until the next phase is
  // published here; a timed-out waiter that wants to withdraw sees arrivals == expected and
  // waits for us instead.
  void publish_next_phase(std::uint32_t phase) noexcept {
    const std::uint32_t next = phase + 1;
    state_.store(static_cast<std::uint64_t>(next) << 32, std::memory_order_release);
    // seq_cst pairs with sleep_until_phase_end: either this thread sees its sleeper, or the
    // sleeper's futex call sees the new phase.
    published_phase_.store(next, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) wake_sleepers();
  }

  bool sleep_until_phase_end(std::uint32_t phase,
                             const std::chrono::steady_clock::time_point* deadline) noexcept;
  void wake_sleepers() noexcept;
  void complete_phase(std::uint32_t phase);
  void withdraw_or_finish(std::uint32_t phase);

  // Two cache lines: arriving threads write the first one, waiting threads spin reading the
  // second, which changes only once a phase; apart, arrivals do not keep pulling the line out
  // from under the spinners. 64 bytes: x86-64's and most ARM cores' line size
  // (std::hardware_destructive_interference_size would warn that it may vary across compilers).
  static constexpr std::size_t cache_line = 64;

  alignas(cache_line) std::atomic<std::uint64_t> state_{0};
  std::atomic<std::uint32_t> expected_;
  // Drops that take effect when the current phase completes; only droppers and the last thread
  // of the phase touch it.
  std::atomic<std::uint32_t> drops_this_phase_{0};
  const bool has_completion_;

  // The futex word waiters sleep on: the current phase number, published after state_ moves on.
  alignas(cache_line) detail::FutexWord published_phase_{0};
  std::atomic<std::uint32_t> sleepers_{0};
  detail::AdaptiveSpin spin_;  // written by waiters only, and rarely

  alignas(cache_line) const std::function<void()> completion_;
};

}  // namespace hilo
