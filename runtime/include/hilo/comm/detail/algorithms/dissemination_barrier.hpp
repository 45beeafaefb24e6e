// Dissemination barrier (Hensgen, Finkel and Manber 1988): ceil(log2 p) rounds; in round k every
// rank sends one empty message to rank r+2^k and waits for one from rank r-2^k. After the last
// round every rank has heard, directly or through others, from every rank, so none leaves before
// all have arrived; correct for any p, not only powers of two.
#pragma once

#include <cstddef>

#include "hilo/comm/detail/algorithms/tags.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

inline void dissemination_barrier(Transport& t, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  for (int k = 1; k < p; k *= 2) {
    auto sent = t.isend((r + k) % p, tags::barrier, nullptr, nullptr, 0, data_type_of<std::byte>());
    std::byte none{};
    t.recv((r - k + p) % p, tags::barrier, Sink{data_type_of<std::byte>(), &none, 0, {}}, deadline);
    sent->wait(deadline);
  }
}

}  // namespace hilo::detail
