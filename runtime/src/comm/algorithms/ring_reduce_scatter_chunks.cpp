// The reduce-scatter half of the ring all-reduce (ring_reduce_scatter_chunks.hpp). In step s
// rank r sends chunk r-s to its right and receives chunk r-s-1 from its left, combining it with
// its own input as it arrives; after p-1 steps chunk r+1 has been combined over every rank.
//
// Nothing is copied up front: step 0 sends from `in`, and every chunk a rank receives (each
// exactly once) is combined as out = op(in, incoming). When `out` is not `in`, a chunk's incoming
// bytes land in `out` itself and are combined there, so no scratch memory is needed; in place,
// they land in a scratch chunk. A step's chunk travels in segments (exchange_step), and combining
// one segment overlaps the arrival of the next.
#include "comm/algorithms/ring_reduce_scatter_chunks.hpp"

#include "comm/algorithms/pipeline_steps.hpp"

namespace hilo::detail {

void ring_reduce_scatter_chunks(Transport& t, VectorBytes v, const Combiner& combine,
                                const PipelineOptions& options, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t size = v.type.size;
  const bool in_place = v.in == v.out;
  const RingChunks chunks{v.count, p};
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  ScratchBytes scratch(in_place ? (chunks.length(0) + 1) * size : 0);

  for (int step = 0; step < p - 1; ++step) {
    const int send_chunk = (r - step + p) % p, recv_chunk = (r - step - 1 + p) % p;
    const std::byte* mine = v.in + chunks.begin(recv_chunk) * size;
    std::byte* into = in_place ? scratch.data() : v.out + chunks.begin(recv_chunk) * size;
    std::byte* result = v.out + chunks.begin(recv_chunk) * size;
    const std::byte* from = (step == 0 ? v.in : v.out) + chunks.begin(send_chunk) * size;
    exchange_step(
        t, v.type, right, from, chunks.length(send_chunk), left, into, chunks.length(recv_chunk),
        options, deadline, [&](std::size_t first, std::size_t last) {
          combine(mine + first * size, into + first * size, result + first * size, last - first);
        });
  }
}

}  // namespace hilo::detail
