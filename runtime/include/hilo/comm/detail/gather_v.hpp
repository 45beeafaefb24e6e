// Gathers of a different number of elements from every rank (MPI_Allgatherv, MPI_Gatherv).
//
//   ring_all_gather_v  p-1 steps around the ring, each passing on the block received in the step
//                      before (the second half of the ring all-reduce), once every rank knows
//                      every rank's count; compiled in libhilo.
//   linear_gather_v    the root receives from every rank in rank order, each message appended
//                      where the one before ended; the sizes come with the messages.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

namespace tags {
inline constexpr int gather_v = 11;
}

// `mine` (counts[r] elements) and every other rank's block, in rank order, into `out`, which
// holds the sum of `counts` elements.
void ring_all_gather_v(Transport& t, const std::byte* mine, std::byte* out,
                       const std::uint64_t* counts, DataType type, Deadline deadline);

template <class E>
std::vector<E> linear_gather_v(Transport& t, std::span<const E> mine, int root, Deadline deadline) {
  const DataType type = data_type_of<E>();
  if (t.rank() != root) {
    t.send(root, tags::gather_v, mine.data(), mine.size_bytes(), type, deadline);
    return {};
  }
  std::vector<E> all;
  for (int source = 0; source < t.size(); ++source) {
    if (source == root) {
      all.insert(all.end(), mine.begin(), mine.end());
      continue;
    }
    Sink append{type, nullptr, 0, [&all](std::size_t bytes) -> void* {
                  const std::size_t at = all.size();
                  all.resize(at + bytes / sizeof(E));
                  return all.data() + at;
                }};
    t.recv(source, tags::gather_v, append, deadline);
  }
  return all;
}

}  // namespace hilo::detail
