// What identifies one collective call, so that ranks in different collectives can be told so
// (hilo::CollectiveMismatch, hilo/errors.hpp), and the transport hook that checks it.
#pragma once

#include <cstdint>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "hilo/comm/types.hpp"
#include "hilo/errors.hpp"

namespace hilo {

/// The element type and count of a collective's value, where the operation needs the same on
/// every rank (an all_reduce, reduce or scan of numbers or of vectors of them); `fixed` false
/// where it does not (a broadcast's non-root ranks learn the size from the message; serialized
/// values).
struct CollectiveShape {
  DataType type{};          ///< The element type (when `fixed`).
  std::uint64_t count = 0;  ///< How many elements (when `fixed`).
  bool fixed = false;       ///< Whether the operation needs the same type and count everywhere.
};

/// One collective call on a communicator, as Communicator records it before the call runs (plain
/// stores into its own state: every field is a pointer or a number, nothing is built).
struct CollectiveCall {
  const char* communicator = "";  ///< Its name ("world"), interned: outlives the call.
  std::uint64_t sequence = 0;     ///< 1 for the first blocking collective on it, 2 next, ...
  const char* operation = "";     ///< "broadcast", "all_reduce", ... (a literal).
  int root = -1;                  ///< The root, or -1 for an operation that has none.
  CollectiveShape shape;          ///< Type and count where the operation fixes them.
  std::source_location where;     ///< The caller's call site.
};

/// A CollectiveCall as two ranks compare it: the same fields, the strings as views (of a
/// CollectiveCall's literals, or of a descriptor received from another rank).
struct CollectiveCallView {
  std::uint64_t sequence = 0;  ///< As CollectiveCall::sequence.
  std::string_view operation;  ///< As CollectiveCall::operation.
  int root = -1;               ///< As CollectiveCall::root.
  CollectiveShape shape;       ///< As CollectiveCall::shape.
  std::string_view file;       ///< The call site's file, its base name at least.
  std::uint32_t line = 0;      ///< The call site's line.
};

namespace detail {

// A std::vector of numbers (not of bool, which is not contiguous).
template <class T>
struct is_vector_of_numbers : std::false_type {};
template <class E, class A>
struct is_vector_of_numbers<std::vector<E, A>>
    : std::bool_constant<std::is_arithmetic_v<E> && !std::is_same_v<E, bool>> {};

/// The type and count of `value` where the operations that combine values fix them: a number, or
/// a std::vector of numbers; not fixed for anything else.
template <class T>
CollectiveShape shape_of(const T& value) {
  if constexpr (std::is_arithmetic_v<T>) {
    return {data_type_of<T>(), 1, true};
  } else if constexpr (is_vector_of_numbers<T>::value) {
    return {data_type_of<typename T::value_type>(), value.size(), true};
  } else {
    return {};
  }
}

/// `call` as another rank would compare it.
CollectiveCallView view_of(const CollectiveCall& call);
/// Whether two ranks are in the same collective: the same sequence number, operation and root,
/// and the same type and count where the operation fixes them. (The call sites may differ.)
bool same_collective(const CollectiveCallView& a, const CollectiveCallView& b);
/// "hilo: collective mismatch on <comm>: rank <a> is in <op> (root R, N elements of <type>) at
/// <file>:<line>, rank <b> is in ..." (hilo::CollectiveMismatch's message), the details in
/// parentheses only where they tell the two calls apart (the root always).
std::string collective_mismatch_message(std::string_view communicator, int rank_a,
                                        const CollectiveCallView& a, int rank_b,
                                        const CollectiveCallView& b);

/// The 32 bits every message of `call` carries on the collective channel of the local backend:
/// the low 16 bits of its sequence number, then 8 bits of its operation, then 8 bits of its root,
/// type and count (not a scan's or exscan's count, which those calls compare themselves). Never 0,
/// which marks a message of no collective. Two ranks whose next messages to each other carry
/// different stamps are in different collectives (or in the same operation with a different root,
/// type or count).
std::uint32_t collective_stamp(const CollectiveCall& call);
/// What a stamp takes from the operation's name: its code, and whether the count is part of the
/// stamp. Computed from the text (the same in every process); CollectiveRecord keeps the last.
struct StampedOperation {
  std::uint8_t code = 0;        ///< 8 bits of the operation's name.
  bool count_in_stamp = false;  ///< False for scan and exscan, which compare lengths themselves.
};
/// The StampedOperation of `operation`.
StampedOperation stamped_operation(std::string_view operation);
/// The low 16 bits of collective_stamp (8 of the operation, 8 of root, type and count), never 0,
/// so that no stamp is 0 whatever the sequence number. They change only when the operation, root
/// or shape do: CollectiveRecord keeps them for the last call's.
inline std::uint16_t stamp_of_kind(const CollectiveCall& call, StampedOperation operation) {
  std::uint64_t mix = static_cast<std::uint32_t>(call.root) + std::uint64_t{1};
  if (call.shape.fixed) {
    mix ^= (std::uint64_t{static_cast<std::uint8_t>(call.shape.type.kind)} << 56) ^
           (std::uint64_t{call.shape.type.size} << 32);
    if (operation.count_in_stamp) mix ^= call.shape.count * 0x9e3779b97f4a7c15u;
  }
  mix *= 0xff51afd7ed558ccdu;  // spreads every bit of the fields into the top 8
  mix ^= mix >> 29;
  mix *= 0xc4ceb9fe1a85ec53u;
  const auto low = static_cast<std::uint16_t>((std::uint32_t{operation.code} << 8) |
                                              static_cast<std::uint8_t>(mix >> 56));
  return low == 0 ? 1 : low;
}
/// collective_stamp with the operation's part already computed: a few multiplications, no loop.
inline std::uint32_t collective_stamp(const CollectiveCall& call, StampedOperation operation) {
  return (static_cast<std::uint32_t>(call.sequence & 0xffff) << 16) |
         stamp_of_kind(call, operation);
}
/// The sequence number's low 16 bits in a stamp (collective_stamp).
inline std::uint16_t stamp_sequence(std::uint32_t stamp) {
  return static_cast<std::uint16_t>(stamp >> 16);
}
/// The operation whose code a stamp carries, or "an unknown collective" if no known operation
/// has it: what a rank can say of a peer that never described its call.
std::string_view operation_of_stamp(std::uint32_t stamp);

/// The tag of the notice one rank sends another on the collective channel when it found it in a
/// different collective (and of the answer): negative, so no user receive ever takes it.
inline constexpr int collective_notice_tag = -7;

/// A collective-channel receive found its peer out of step: the next message from `peer` is of a
/// different collective call (`peer_stamp`), or `peer` sent a notice saying it found this rank
/// in a different call (`notice`). Communicator turns it into hilo::CollectiveMismatch on every
/// rank involved; derived from hilo::Error so that, should it reach a user some other way (a
/// nonblocking collective's request), it is still an error hilo reports.
class CollectiveOutOfStep : public Error {
 public:
  /// `what` is the message; the rest as the members below.
  CollectiveOutOfStep(const std::string& what, int peer, std::uint32_t peer_stamp, bool notice)
      : Error(what), peer(peer), peer_stamp(peer_stamp), notice(notice) {}
  int peer;                  ///< The peer found out of step, or that said this rank is.
  std::uint32_t peer_stamp;  ///< The stamp of the peer's message (0 for a notice).
  bool notice;               ///< Whether the peer said so (a notice), not a stamp.
};

}  // namespace detail

/// Checks, before a collective runs, that every rank of the communicator is in the same one, and
/// raises hilo::CollectiveMismatch on every rank if not (the mpi backend's HILO_CHECK=collectives:
/// MPI's wire is not hilo's to stamp). A transport has one or none for its whole life.
class CollectiveChecker {
 public:
  virtual ~CollectiveChecker() = default;
  /// Blocks until every rank has given its call (bounded by `deadline`: hilo::Timeout).
  virtual void check_same_collective(const CollectiveCall& call, Deadline deadline) = 0;
};

}  // namespace hilo
