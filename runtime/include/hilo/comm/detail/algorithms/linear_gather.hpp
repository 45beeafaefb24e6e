// Linear gather: every rank sends its value to the root, which receives them in rank order, each
// straight into its place. p-1 messages into one rank: the root's link is the bottleneck whatever
// the tree, since it must receive (p-1)/p of the data either way.
#pragma once

#include <vector>

#include "hilo/comm/detail/algorithms/tags.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

// Every rank's value, in rank order, on the root; empty on every other rank.
template <class T>
std::vector<T> linear_gather(Transport& t, const T& value, int root, Deadline deadline) {
  if (t.rank() != root) {
    send_value(t, root, tags::gather, value, deadline);
    return {};
  }
  std::vector<T> all(t.size());
  for (int source = 0; source < t.size(); ++source) {
    if (source == root)
      all[source] = value;
    else
      recv_value(t, source, tags::gather, all[source], deadline);
  }
  return all;
}

}  // namespace hilo::detail
