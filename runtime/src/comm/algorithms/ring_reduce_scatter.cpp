// Ring reduce-scatter (hilo/comm/detail/reduce_scatter.hpp): the first half of the ring
// all-reduce (ring_all_reduce.cpp), its chunks numbered one lower so that the chunk a rank ends
// with fully reduced is its own. In step s rank r sends chunk r-s-1 (its own input in step 0,
// afterwards the partial sum received in the step before) to its right and receives chunk r-s-2
// from its left, combining it with its own input as it arrives (exchange_step). The last step
// receives chunk r, combined straight into `out`.
#include <cstring>

#include "comm/algorithms/pipeline_steps.hpp"
#include "hilo/comm/detail/reduce_scatter.hpp"

namespace hilo::detail {

void ring_reduce_scatter(Transport& t, const std::byte* in, std::byte* out, std::size_t count,
                         DataType type, const Combiner& combine, const PipelineOptions& options,
                         Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t size = type.size, block = count * size;
  if (p == 1) {
    if (block > 0) std::memcpy(out, in, block);
    return;
  }
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  ScratchBytes partial(static_cast<std::size_t>(p) * block), incoming(block);
  for (int step = 0; step < p - 1; ++step) {
    const int send_chunk = (r - step - 1 + 2 * p) % p, recv_chunk = (r - step - 2 + 2 * p) % p;
    const std::byte* from = (step == 0 ? in : partial.data()) + send_chunk * block;
    const std::byte* mine = in + recv_chunk * block;
    std::byte* into = incoming.data();
    std::byte* result = step == p - 2 ? out : partial.data() + recv_chunk * block;
    exchange_step(t, type, right, from, count, left, into, count, options, deadline,
                  [&](std::size_t first, std::size_t last) {
                    combine(mine + first * size, into + first * size, result + first * size,
                            last - first);
                  });
  }
}

}  // namespace hilo::detail
