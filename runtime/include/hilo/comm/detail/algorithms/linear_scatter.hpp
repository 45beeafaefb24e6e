// Linear scatter: the root sends values[q] to every rank q in rank order and keeps its own; p-1
// messages out of one rank, each going straight to its owner.
#pragma once

#include <vector>

#include "hilo/comm/detail/algorithms/tags.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

// `values` (one per rank) is read on the root only.
template <class T>
T linear_scatter(Transport& t, const std::vector<T>& values, int root, Deadline deadline) {
  if (t.rank() == root) {
    for (int dest = 0; dest < t.size(); ++dest)
      if (dest != root) send_value(t, dest, tags::scatter, values[dest], deadline);
    return values[root];
  }
  T mine{};
  recv_value(t, root, tags::scatter, mine, deadline);
  return mine;
}

}  // namespace hilo::detail
