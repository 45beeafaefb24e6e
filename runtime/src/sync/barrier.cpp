// hilo::Barrier's slow paths: sleeping until a phase ends, completing a phase, dropping out and
// withdrawing a timed-out arrival. The arrive fast path is inline in the header.
#include "hilo/sync/barrier.hpp"

#include <exception>
#include <stdexcept>
#include <string>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo {

Barrier::Barrier(std::ptrdiff_t expected, std::function<void()> completion)
    : has_completion_(static_cast<bool>(completion)), completion_(std::move(completion)) {
  if (expected < 1 || expected > max()) {
    detail::throw_error<std::invalid_argument>("hilo: Barrier: expected count ", expected,
                                               " is out of range; it must be between 1 and ",
                                               max());
  }
  expected_.store(static_cast<std::uint32_t>(expected), std::memory_order_relaxed);
}

bool Barrier::sleep_until_phase_end(
    std::uint32_t phase, const std::chrono::steady_clock::time_point* deadline) noexcept {
  // seq_cst pairs with complete_phase's store of published_phase_ and load of sleepers_: either
  // the futex call below sees the new phase, or complete_phase sees this sleeper and wakes it.
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  bool ended = true;
  for (;;) {
    const std::uint32_t published = published_phase_.load(std::memory_order_acquire);
    if (static_cast<std::int32_t>(published - phase) > 0) break;
    if (deadline == nullptr) {
      detail::futex_wait(published_phase_, published);
    } else if (!detail::futex_wait_until(published_phase_, published, *deadline)) {
      ended = phase_ended(phase);
      break;
    }
  }
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
  return ended;
}

void Barrier::wake_sleepers() noexcept {
  detail::futex_wake(published_phase_, std::numeric_limits<std::uint32_t>::max());
}

void Barrier::complete_phase(std::uint32_t phase) {
  // The slow half of finish_phase: a completion function to run, or drops to apply. No other
  // thread touches drops_this_phase_ or expected_ until the next phase is published (every
  // expected thread has arrived), so plain loads and stores suffice.
  std::exception_ptr completion_error;
  if (completion_) {
    try {
      completion_();
    } catch (...) {
      completion_error = std::current_exception();
    }
  }
  const std::uint32_t drops = drops_this_phase_.load(std::memory_order_relaxed);
  if (drops != 0) {
    drops_this_phase_.store(0, std::memory_order_relaxed);
    expected_.store(expected_.load(std::memory_order_relaxed) - drops, std::memory_order_relaxed);
  }
  publish_next_phase(phase);
  if (completion_error) std::rethrow_exception(completion_error);
}

void Barrier::arrive_and_drop() {
  // Counted before the arrival, so that the thread completing this phase (perhaps us) sees it.
  drops_this_phase_.fetch_add(1, std::memory_order_relaxed);
  const Arrival arrival = arrive();
  if (arrival.last) finish_phase(arrival.phase);
}

void Barrier::withdraw_or_finish(std::uint32_t phase) {
  std::uint64_t state = state_.load(std::memory_order_acquire);
  for (;;) {
    if (phase_of(state) != phase) return;  // the phase completed after all: the arrival counted
    const std::uint32_t arrivals = arrivals_of(state);
    const std::uint32_t expected = expected_.load(std::memory_order_relaxed);
    if (arrivals >= expected) {
      // The last thread is running the completion right now: the phase is complete in all but
      // name, so wait (briefly, unless the completion function is slow) and count as arrived.
      wait_for_phase_end(phase);
      return;
    }
    if (state_.compare_exchange_weak(state, state - 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      detail::throw_error<Timeout>(
          "hilo: Barrier::arrive_and_wait: timed out with ", arrivals, " of the ", expected,
          " expected threads arrived (this one included); this thread's arrival was withdrawn, so "
          "the barrier still expects ",
          expected, " and may be used again. Check that every thread reaches the barrier");
    }
  }
}

}  // namespace hilo
