// Bruck's all-to-all (Bruck, Ho, Kipnis, Upfal, Weathersby 1997; MPICH's for small blocks), in
// the layout hilo/comm/detail/all_to_all.hpp describes:
//   1. rotate: slot i holds the block for rank r+i;
//   2. for k = 1, 2, 4, ... < p: send the slots whose index has bit k set to rank r+k, packed in
//      one message, and put what comes from rank r-k into the same slots. A block in slot i moves
//      forward by exactly i ranks over the steps, so after the last one slot i holds the block
//      that rank r-i sent to rank r;
//   3. unrotate into `out`.
// Each rank sends ceil(log2 p) messages instead of p-1, at the price of every block hopping up to
// log2 p times: the better trade for small blocks.
#include <cstring>

#include "comm/algorithms/pipeline_steps.hpp"
#include "hilo/comm/detail/all_to_all.hpp"

namespace hilo::detail {

namespace {
void copy_bytes(std::byte* to, const std::byte* from, std::size_t bytes) {
  if (bytes > 0) std::memcpy(to, from, bytes);
}
}  // namespace

void bruck_all_to_all(Transport& t, BlocksBytes b, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t block = b.count * b.type.size;
  const auto slots = static_cast<std::size_t>(p);
  ScratchBytes rotated(slots * block), packed((slots / 2 + 1) * block),
      arrived((slots / 2 + 1) * block);
  for (int i = 0; i < p; ++i)
    copy_bytes(rotated.data() + i * block, b.in + (r + i) % p * block, block);
  for (int k = 1; k < p; k <<= 1) {
    std::size_t n = 0;
    for (int i = 0; i < p; ++i)
      if (i & k) copy_bytes(packed.data() + n++ * block, rotated.data() + i * block, block);
    t.sendrecv((r + k) % p, tags::all_to_all, packed.data(), n * block, b.type, (r - k + p) % p,
               tags::all_to_all, Sink{b.type, arrived.data(), n * block, {}}, deadline);
    n = 0;
    for (int i = 0; i < p; ++i)
      if (i & k) copy_bytes(rotated.data() + i * block, arrived.data() + n++ * block, block);
  }
  for (int i = 0; i < p; ++i)
    copy_bytes(b.out + (r - i + p) % p * block, rotated.data() + i * block, block);
}

}  // namespace hilo::detail
