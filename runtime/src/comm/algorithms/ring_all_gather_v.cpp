// Ring all-gather of blocks of different sizes (hilo/comm/detail/gather_v.hpp): the all-gather
// half of the ring all-reduce (ring_all_reduce.cpp). In step s rank r passes block r-s to its
// right and receives block r-s-1 from its left, straight into its place in `out`; every rank
// knows every block's size, so each receive expects exactly its block.
#include <cstring>
#include <vector>

#include "comm/algorithms/pipeline_steps.hpp"
#include "hilo/comm/detail/gather_v.hpp"

namespace hilo::detail {

void ring_all_gather_v(Transport& t, const std::byte* mine, std::byte* out,
                       const std::uint64_t* counts, DataType type, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t size = type.size;
  std::vector<std::size_t> at(static_cast<std::size_t>(p) + 1, 0);  // where each block begins
  for (int q = 0; q < p; ++q) at[q + 1] = at[q] + counts[q];
  if (counts[r] > 0) std::memcpy(out + at[r] * size, mine, counts[r] * size);
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  for (int step = 0; step < p - 1; ++step) {
    const int send_block = (r - step + p) % p, recv_block = (r - step - 1 + p) % p;
    gather_step(t, type, right, out + at[send_block] * size, counts[send_block], left,
                out + at[recv_block] * size, counts[recv_block], deadline);
  }
}

}  // namespace hilo::detail
