// The prefix reductions (MPI_Scan, MPI_Exscan) by recursive doubling (MPICH's algorithm): in step
// k a rank swaps its partial reduction with rank r xor 2^k, if there is one. What comes from a
// lower rank is the reduction of the block of ranks just below this rank's block, so it is
// folded in on the left, both into the partial reduction passed on and into this rank's result.
// ceil(log2 p) steps for any p; the operation must be associative (commutativity is not needed:
// every fold keeps rank order).
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <optional>
#include <utility>

#include "hilo/comm/detail/algorithms/combine_values.hpp"
#include "hilo/comm/detail/all_to_all.hpp"

namespace hilo::detail {

namespace tags {
inline constexpr int scan = 10;
}

// The reduction with `op` of the values of ranks 0..r (inclusive) or 0..r-1 (exclusive: nullopt
// on rank 0), element-wise for vectors.
template <class T, class Op>
std::optional<T> recursive_doubling_scan(Transport& t, const T& value, Op& op, bool exclusive,
                                         Deadline deadline) {
  const int p = t.size(), r = t.rank();
  T partial = value;  // the reduction over this rank's current block of ranks
  std::optional<T> result;
  if (!exclusive) result = value;
  for (int mask = 1; mask < p; mask <<= 1) {
    const int partner = r ^ mask;
    if (partner >= p) continue;
    T theirs{};
    exchange_values(t, partner, partial, partner, theirs, tags::scan, deadline);
    if (partner < r) {  // theirs reduces the ranks just below this block: it goes on the left
      if (result) {
        T folded = theirs;
        combine(folded, *result, op);
        result = std::move(folded);
      } else {
        result = theirs;
      }
      combine(theirs, partial, op);
      partial = std::move(theirs);
    } else {
      combine(partial, theirs, op);
    }
  }
  return result;
}

}  // namespace hilo::detail
