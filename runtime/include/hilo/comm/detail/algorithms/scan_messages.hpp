// The messages of the scan algorithms (chain_scan.hpp, recursive_doubling_scan.hpp), and how they
// find vectors of different lengths without a separate exchange of lengths: the check rides in
// the scan's own messages.
//
// Every message a scan sends carries the reduction over a block of consecutive ranks [a, b], or,
// if two neighbouring ranks in that block contributed vectors of different lengths, the first such
// pair instead (a mismatch message, on its own tag). A rank joining two adjacent blocks keeps the
// lower block's mismatch, else the one at their boundary (the lower block's length against the
// upper block's first rank's), else the upper block's. So every rank learns the first mismatch
// among the ranks its own result covers, 0..r, and only those: rank r raises hilo::Error exactly
// when two neighbours among ranks 0..r differ, every such rank with the same message, and the
// ranks below the first differing one return their correct result. No rank leaves its steps
// early, so none is left waiting.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "hilo/comm/detail/algorithms/combine_values.hpp"
#include "hilo/comm/detail/all_to_all.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

namespace tags {
inline constexpr int scan = 10, scan_mismatch = 12;
}

// Two neighbouring ranks (upper_rank == lower_rank + 1) whose vectors differ in length.
struct ScanMismatch {
  std::uint64_t lower_rank = 0, lower_length = 0, upper_rank = 0, upper_length = 0;
};

[[noreturn]] inline void throw_scan_mismatch(const ScanMismatch& m) {
  throw_error<Error>("rank ", m.lower_rank, " contributed ", m.lower_length, " elements, rank ",
                     m.upper_rank, " contributed ", m.upper_length,
                     "; vectors combine element-wise, so every rank must contribute the same "
                     "length");
}

// The first mismatch in the join of two adjacent blocks, `upper_first` being the upper block's
// first rank; a block's mismatch (if any) stands for its value. The ranks of a block before its
// first mismatch share one length, so a failed upper block's first rank has the mismatch's
// lower_length.
template <class T>
std::optional<ScanMismatch> first_mismatch(const T& lower,
                                           const std::optional<ScanMismatch>& lower_mismatch,
                                           const T& upper,
                                           const std::optional<ScanMismatch>& upper_mismatch,
                                           int upper_first) {
  if (lower_mismatch) return lower_mismatch;
  if constexpr (is_vector<T>::value) {
    const std::uint64_t below = lower.size();
    const std::uint64_t above = upper_mismatch ? upper_mismatch->lower_length : upper.size();
    if (below != above)
      return ScanMismatch{static_cast<std::uint64_t>(upper_first - 1), below,
                          static_cast<std::uint64_t>(upper_first), above};
  }
  return upper_mismatch;
}

using ScanMismatchWords = std::array<std::uint64_t, 4>;

inline ScanMismatchWords words_of(const ScanMismatch& m) {
  return {m.lower_rank, m.lower_length, m.upper_rank, m.upper_length};
}

// Receives from `source` a block's reduction into `into`, or the mismatch found in that block
// (returned; `into` is then untouched). Only vectors can mismatch, so only they look at the tag
// first (a probe: the mismatch message has its own tag and type).
template <class T>
std::optional<ScanMismatch> recv_prefix(Transport& t, int source, T& into, Deadline deadline) {
  if constexpr (is_vector<T>::value) {
    if (t.probe(source, any_tag, deadline).tag == tags::scan_mismatch) {
      ScanMismatchWords w{};
      recv_value(t, source, tags::scan_mismatch, w, deadline);
      return ScanMismatch{w[0], w[1], w[2], w[3]};
    }
  }
  recv_value(t, source, tags::scan, into, deadline);
  return std::nullopt;
}

// Sends to `dest` a block's reduction, or the mismatch found in it.
template <class T>
void send_prefix(Transport& t, int dest, const T& value,
                 const std::optional<ScanMismatch>& mismatch, Deadline deadline) {
  if (mismatch)
    send_value(t, dest, tags::scan_mismatch, words_of(*mismatch), deadline);
  else
    send_value(t, dest, tags::scan, value, deadline);
}

// Sends `mine` (or its mismatch) to `partner` and receives the partner's into `theirs` (or returns
// its mismatch), without deadlock whoever starts first: the send does not block.
template <class T>
std::optional<ScanMismatch> exchange_prefix(Transport& t, int partner, const T& mine,
                                            const std::optional<ScanMismatch>& mine_mismatch,
                                            T& theirs, Deadline deadline) {
  if constexpr (!is_vector<T>::value) {
    (void)mine_mismatch;  // only vectors can mismatch
    exchange_values(t, partner, mine, partner, theirs, tags::scan, deadline);
    return std::nullopt;
  } else {
    const ScanMismatchWords words = mine_mismatch ? words_of(*mine_mismatch) : ScanMismatchWords{};
    OutgoingBytes out = mine_mismatch ? encode(words) : encode(mine);
    std::unique_ptr<Operation> sent =
        t.isend(partner, mine_mismatch ? tags::scan_mismatch : tags::scan, nullptr, out.data,
                out.bytes, out.type);
    std::optional<ScanMismatch> received = recv_prefix(t, partner, theirs, deadline);
    sent->wait(deadline);
    return received;
  }
}

}  // namespace hilo::detail
