// Communicator::stamped, declared in hilo/comm/communicator.hpp, which includes this file at its
// end: a blocking collective's body run under its stamp, on a backend whose collective channel
// carries one (local, tcp: Transport::collective_stamping). The channel's Mailbox finds a peer
// whose message carries another call's stamp (comm/mailbox.hpp) and the receive fails with
// detail::CollectiveOutOfStep, which raise_collective_mismatch turns into CollectiveMismatch on
// both ranks (comm/collective_mismatch.cpp).
#pragma once

#include <atomic>

#include "hilo/comm/communicator.hpp"

namespace hilo {

// Always inlined: out of line, it and the algorithm it calls were two more calls per collective.
template <class F>
[[gnu::always_inline]] inline auto Communicator::stamped(F& body) -> decltype(body()) {
  if (!stamping_.stamp) return body();
  // A plain store through a pointer fixed for the transport's life: no virtual call per
  // collective. The sequencer drained the nonblocking collectives before this one first, so
  // theirs went out with the stamp they had.
  stamping_.stamp->store(collectives_.stamp(), std::memory_order_relaxed);
  try {
    if (stamping_.notice_from->load(std::memory_order_acquire) >= 0) [[unlikely]]
      transport_->raise_collective_notice();
    return body();
  } catch (const detail::CollectiveOutOfStep& out_of_step) {
    raise_collective_mismatch(out_of_step);
  } catch (...) {
    // A Timeout, a lost peer, a bad argument: what the peers send for this call from now on is
    // a leftover, which the channel drops instead of finding the next call out of step.
    transport_->abandon_collective(stamping_.stamp->load(std::memory_order_relaxed));
    throw;
  }
}

}  // namespace hilo
