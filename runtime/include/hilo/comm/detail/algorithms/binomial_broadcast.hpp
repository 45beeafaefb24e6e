// Binomial-tree broadcast: ceil(log2 p) steps. Ranks are numbered relative to the root (vr); rank
// vr receives from vr minus its lowest set bit, then sends to vr + 2^j for every 2^j below that
// bit. A non-root rank learns the value's size from the message itself, so it needs no length
// beforehand (which is also why no rank can choose another algorithm by the value's size).
#pragma once

#include <memory>
#include <vector>

#include "hilo/comm/detail/algorithms/tags.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

template <class T>
void binomial_broadcast(Transport& t, T& value, int root, Deadline deadline) {
  const int p = t.size(), vr = (t.rank() - root + p) % p;
  int mask = 1;
  for (; mask < p; mask <<= 1) {
    if (vr & mask) {
      recv_value(t, (vr - mask + root) % p, tags::broadcast, value, deadline);
      break;
    }
  }
  OutgoingBytes out = encode(value);  // encoded once, sent to every child
  std::vector<std::unique_ptr<Operation>> sends;
  for (mask >>= 1; mask > 0; mask >>= 1)
    if (vr + mask < p)
      sends.push_back(
          t.isend((vr + mask + root) % p, tags::broadcast, nullptr, out.data, out.bytes, out.type));
  for (auto& s : sends) s->wait(deadline);
}

}  // namespace hilo::detail
