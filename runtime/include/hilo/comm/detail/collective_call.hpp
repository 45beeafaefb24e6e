// What identifies one collective call, so that ranks in different collectives can be told so
// (hilo::CollectiveMismatch, hilo/errors.hpp), and the transport hook that checks it.
#pragma once

#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "hilo/comm/types.hpp"

namespace hilo {

/// The element type and count of a collective's value, where the operation needs the same on
/// every rank (an all_reduce, reduce or scan of numbers or of vectors of them); `fixed` false
/// where it does not (a broadcast's non-root ranks learn the size from the message; serialized
/// values).
struct CollectiveShape {
  DataType type{};
  std::uint64_t count = 0;
  bool fixed = false;
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
  std::uint64_t sequence = 0;
  std::string_view operation;
  int root = -1;
  CollectiveShape shape;
  std::string_view file;  ///< The call site's file, its base name at least.
  std::uint32_t line = 0;
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
