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
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "hilo/comm/detail/algorithms/combine_values.hpp"
#include "hilo/comm/detail/all_to_all.hpp"
#include "hilo/comm/detail/byte_buffer_cache.hpp"
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

// A mismatch travels as a message of the vector's own wire type (its element type, or a serialized
// archive), padded to whole elements, on its own tag: one receive with any tag takes either kind,
// and the tag tells which. (A probe first would tell them apart too, but the tcp backend's probe
// waits for its progress thread, where its receive reads the connection itself.)
template <class T>
constexpr DataType scan_wire_type() {
  if constexpr (encoding_of<T>() == Encoding::contiguous)
    return data_type_of<typename contiguous<T>::element>();  // as sink_for(T&) expects
  else
    return serialized_type;
}

using ScanMismatchWords = std::array<std::uint64_t, 4>;

template <class T>
std::vector<std::byte> mismatch_bytes(const ScanMismatch& m) {
  const std::size_t unit = scan_wire_type<T>().size > 1 ? scan_wire_type<T>().size : 1;
  const ScanMismatchWords words{m.lower_rank, m.lower_length, m.upper_rank, m.upper_length};
  std::vector<std::byte> bytes((sizeof words + unit - 1) / unit * unit);
  std::memcpy(bytes.data(), words.data(), sizeof words);
  return bytes;
}

inline ScanMismatch mismatch_from(const void* bytes) {
  ScanMismatchWords w{};
  std::memcpy(w.data(), bytes, sizeof w);
  return ScanMismatch{w[0], w[1], w[2], w[3]};
}

// After a receive into sink_for(into, staging) with any tag: the mismatch if one came (`into` then
// holds garbage), else nullopt with `into` holding the reduction.
template <class T>
std::optional<ScanMismatch> decode_prefix(const Status& status, T& into, ByteBuffer* staging) {
  // Any tag was accepted: in a correct program the first collective message from this peer is
  // the scan's (per-pair order), so another tag means the ranks are in different collectives.
  if (status.tag != tags::scan && status.tag != tags::scan_mismatch)
    throw_error<Error>("hilo: rank ", status.source, " sent a message of another collective (tag ",
                       status.tag,
                       ") where this rank's scan expected its prefix: every rank must call the "
                       "same collectives in the same order");
  if (status.tag == tags::scan_mismatch) {
    if (status.bytes < sizeof(ScanMismatchWords))
      throw_error<Error>("hilo: a scan's mismatch message from rank ", status.source, " has ",
                         status.bytes, " bytes");
    if constexpr (encoding_of<T>() == Encoding::serialized)
      return mismatch_from(staging->data());
    else
      return mismatch_from(into.data());
  }
  if constexpr (encoding_of<T>() == Encoding::serialized)
    deserialize(*staging, into, status.source, status.tag);
  return std::nullopt;
}

// Receives from `source` a block's reduction into `into`, or the mismatch found in that block
// (returned). Only vectors can mismatch; other values take one plain receive.
template <class T>
std::optional<ScanMismatch> recv_prefix(Transport& t, int source, T& into, Deadline deadline) {
  if constexpr (is_vector<T>::value) {
    std::optional<BorrowedBuffer> staging;
    if constexpr (encoding_of<T>() == Encoding::serialized) staging.emplace(t.byte_buffers());
    ByteBuffer* buffer = staging ? &**staging : nullptr;
    const Status status = t.recv(source, any_tag, sink_for(into, buffer), deadline);
    return decode_prefix(status, into, buffer);
  } else {
    recv_value(t, source, tags::scan, into, deadline);
    return std::nullopt;
  }
}

// Sends to `dest` a block's reduction, or the mismatch found in it.
template <class T>
void send_prefix(Transport& t, int dest, const T& value,
                 const std::optional<ScanMismatch>& mismatch, Deadline deadline) {
  if (mismatch) {
    const std::vector<std::byte> bytes = mismatch_bytes<T>(*mismatch);
    t.send(dest, tags::scan_mismatch, bytes.data(), bytes.size(), scan_wire_type<T>(), deadline);
  } else {
    send_value(t, dest, tags::scan, value, deadline);
  }
}

// Sends `mine` (or its mismatch) to `partner` and receives the partner's into `theirs` (or returns
// its mismatch), as one Transport::sendrecv: no deadlock whoever starts first.
template <class T>
std::optional<ScanMismatch> exchange_prefix(Transport& t, int partner, const T& mine,
                                            const std::optional<ScanMismatch>& mine_mismatch,
                                            T& theirs, Deadline deadline) {
  if constexpr (!is_vector<T>::value) {
    (void)mine_mismatch;  // only vectors can mismatch
    exchange_values(t, partner, mine, partner, theirs, tags::scan, deadline);
    return std::nullopt;
  } else {
    std::optional<BorrowedBuffer> staging;
    if constexpr (encoding_of<T>() == Encoding::serialized) staging.emplace(t.byte_buffers());
    ByteBuffer* buffer = staging ? &**staging : nullptr;
    Status status;
    if (mine_mismatch) {
      const std::vector<std::byte> bytes = mismatch_bytes<T>(*mine_mismatch);
      status =
          t.sendrecv(partner, tags::scan_mismatch, bytes.data(), bytes.size(), scan_wire_type<T>(),
                     partner, any_tag, sink_for(theirs, buffer), deadline);
    } else {
      OutgoingBytes out = encode(mine);
      status = t.sendrecv(partner, tags::scan, out.data, out.bytes, out.type, partner, any_tag,
                          sink_for(theirs, buffer), deadline);
    }
    return decode_prefix(status, theirs, buffer);
  }
}

}  // namespace hilo::detail
