// Binomial-tree reduction to the root: ceil(log2 p) steps, the broadcast's tree run backwards.
// Ranks are numbered relative to the root (vr); in step k a rank with bit k set sends what it has
// combined so far to vr - 2^k and is done, and a rank without it receives from vr + 2^k, if that
// rank exists, and combines acc = op(acc, theirs). Relative to the root every combine joins two
// adjacent ranges of ranks in order; the reduction assumes a commutative operation anyway, as
// MPI's built-in ones are, because the ranks are rotated by the root.
#pragma once

#include <optional>

#include "hilo/comm/detail/algorithms/combine_values.hpp"
#include "hilo/comm/detail/algorithms/tags.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

// The result on the root; std::nullopt on every other rank.
template <class T, class Op>
std::optional<T> binomial_reduce(Transport& t, const T& value, Op& op, int root,
                                 Deadline deadline) {
  const int p = t.size(), vr = (t.rank() - root + p) % p;
  T acc = value;
  for (int mask = 1; mask < p; mask <<= 1) {
    if (vr & mask) {
      send_value(t, (vr - mask + root) % p, tags::reduce, acc, deadline);
      return std::nullopt;
    }
    if (vr + mask < p) {
      T in{};
      recv_value(t, (vr + mask + root) % p, tags::reduce, in, deadline);
      combine(acc, in, op);
    }
  }
  return acc;
}

}  // namespace hilo::detail
