// All-gather as a linear gather to rank 0 followed by a binomial broadcast of the gathered
// vector: any value type, values of different sizes on different ranks included (the broadcast
// carries their sizes). For blocks of known sizes the ring of all_gather_v (gather_v.hpp) moves
// less through any one rank.
#pragma once

#include <vector>

#include "hilo/comm/detail/algorithms/binomial_broadcast.hpp"
#include "hilo/comm/detail/algorithms/linear_gather.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

template <class T>
std::vector<T> gather_broadcast_all_gather(Transport& t, const T& value, Deadline deadline) {
  std::vector<T> all = linear_gather(t, value, 0, deadline);
  binomial_broadcast(t, all, 0, deadline);
  return all;
}

}  // namespace hilo::detail
