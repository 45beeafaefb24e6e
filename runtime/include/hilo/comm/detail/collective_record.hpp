/// \file
/// hilo::detail::CollectiveRecord: a communicator's last few blocking collectives and the stamp
/// of the current one; hilo::detail::CollectiveStamping: where a backend that owns its wire takes
/// that stamp from.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "hilo/comm/detail/collective_call.hpp"

namespace hilo::detail {

/// The last few blocking collectives of one communicator on this rank, by sequence number modulo
/// their count: current() is the one running or last run. Kept so that a peer found out of step
/// by a message it sent in an earlier call than the one it is in now can describe that call.
class CollectiveRecord {
 public:
  /// Every call recorded here is on the communicator `name` (interned: outlives the record).
  void name_communicator(const char* name) {
    for (CollectiveCall& call : calls_) call.communicator = name;
  }
  /// The next call's slot, its sequence number set; the caller fills in the rest.
  CollectiveCall& next() {
    CollectiveCall& call = calls_[++sequence_ % calls_.size()];
    call.sequence = sequence_;
    return call;
  }
  /// The blocking collective running or last run here.
  const CollectiveCall& current() const { return calls_[sequence_ % calls_.size()]; }
  /// The recent call whose sequence number has `low16` for its low 16 bits, or current() if none
  /// of the recent ones has.
  const CollectiveCall& recent(std::uint16_t low16) const {
    for (const CollectiveCall& call : calls_)
      if (call.sequence != 0 && call.sequence <= sequence_ &&
          static_cast<std::uint16_t>(call.sequence) == low16)
        return call;
    return current();
  }
  /// current()'s stamp (collective_stamp). Its low 16 bits are kept for the last operation, root
  /// and shape seen (an operation's name is an interned literal: a pointer comparison), so a run
  /// of the same collective hashes nothing: it runs on every collective call.
  std::uint32_t stamp() {
    const CollectiveCall& call = current();
    if (call.operation != kind_.operation || call.root != kind_.root ||
        call.shape.fixed != kind_.shape.fixed ||
        (call.shape.fixed && (call.shape.count != kind_.shape.count ||
                              !(call.shape.type == kind_.shape.type)))) [[unlikely]] {
      kind_ = call;
      kind_stamp_ = stamp_of_kind(call, stamped_operation(call.operation));
    }
    return (static_cast<std::uint32_t>(call.sequence & 0xffff) << 16) | kind_stamp_;
  }

 private:
  std::array<CollectiveCall, 4> calls_{};
  std::uint64_t sequence_ = 0;    // current().sequence
  // The last call stamp() saw (its operation, root and shape; no operation before the first).
  CollectiveCall kind_ = [] {
    CollectiveCall none;
    none.operation = nullptr;
    return none;
  }();
  std::uint16_t kind_stamp_ = 0;  // stamp_of_kind(kind_)
};

/// Where a Communicator puts the stamp of each blocking collective, on a backend whose
/// collective channel carries stamps (Transport::collective_stamping): both point into the
/// channel, which lives as long as the transport, so a Communicator asks once and a collective
/// pays a plain store and a load, no virtual call.
struct CollectiveStamping {
  /// What every message sent on the channel carries and every receive posted on it expects from
  /// now on (0: none). Written by the communicator's thread as a blocking collective starts,
  /// after the nonblocking collectives before it finished; read by whichever thread sends or
  /// posts a receive on the channel: relaxed suffices (the atomic is for the race checker).
  std::atomic<std::uint32_t>* stamp = nullptr;
  /// The rank that told this one it is in a different collective call (a notice), or -1: a
  /// collective that starts after one did raises at once (Transport::raise_collective_notice).
  const std::atomic<int>* notice_from = nullptr;
};

}  // namespace hilo::detail
