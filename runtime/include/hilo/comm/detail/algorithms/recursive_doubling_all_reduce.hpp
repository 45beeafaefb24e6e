// Recursive-doubling all-reduce: log2 p steps in which partners swap what they have and both
// combine, so a small all-reduce costs log2 p one-way hops, half of a tree reduce followed by a
// broadcast (MPI's choice for small messages too). Both partners compute op(mine, theirs): the
// same value, bit for bit, for a commutative op. For p not a power of two, the first 2*extra
// ranks pair up first: each odd one hands its value to the even one below, sits out, and gets
// the result back at the end. Any value type (the only all-reduce for values that are not
// contiguous vectors).
#pragma once

#include "hilo/comm/detail/algorithms/combine_values.hpp"
#include "hilo/comm/detail/algorithms/tags.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

// Into `acc`, which holds this rank's value on entry.
template <class T, class Op>
void recursive_doubling_all_reduce(Transport& t, T& acc, Op& op, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  int pof2 = 1;
  while (pof2 * 2 <= p) pof2 *= 2;
  const int extra = p - pof2;
  int vrank = r - extra;  // this rank's number among the pof2 that exchange
  if (r < 2 * extra) {
    if (r % 2 == 1) {
      send_value(t, r - 1, tags::exchange, acc, deadline);
      recv_value(t, r - 1, tags::exchange, acc, deadline);
      return;
    }
    T theirs{};
    recv_value(t, r + 1, tags::exchange, theirs, deadline);
    combine(acc, theirs, op);
    vrank = r / 2;
  }
  auto real_rank = [&](int v) { return v < extra ? 2 * v : v + extra; };
  for (int mask = 1; mask < pof2; mask <<= 1) {
    const int partner = real_rank(vrank ^ mask);
    OutgoingBytes out = encode(acc);  // acc is not touched until this send is done
    auto sent = t.isend(partner, tags::exchange, nullptr, out.data, out.bytes, out.type);
    T theirs{};
    recv_value(t, partner, tags::exchange, theirs, deadline);
    sent->wait(deadline);
    combine(acc, theirs, op);
  }
  if (r < 2 * extra) send_value(t, r + 1, tags::exchange, acc, deadline);
}

}  // namespace hilo::detail
