// Ring all-reduce: a reduce-scatter then an all-gather, each p-1 steps moving 1/p of the data,
// so every link carries 2(p-1)/p of it (bandwidth-optimal, as Gloo's allreduce_ring). The
// reduce-scatter is ring_reduce_scatter_chunks.cpp; after it rank r holds chunk r+1 reduced, and
// in step s of the all-gather it passes chunk r+1-s to its right and receives chunk r-s from its
// left, straight into its place.

#include "comm/algorithms/pipeline_steps.hpp"
#include "comm/algorithms/ring_reduce_scatter_chunks.hpp"
#include "hilo/comm/detail/all_reduce.hpp"

namespace hilo::detail {

void ring_all_reduce(Transport& t, VectorBytes v, const Combiner& combine,
                     const PipelineOptions& options, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t size = v.type.size;
  const RingChunks chunks{v.count, p};
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  ring_reduce_scatter_chunks(t, v, combine, options, deadline);
  for (int step = 0; step < p - 1; ++step) {
    const int send_chunk = (r + 1 - step + p) % p, recv_chunk = (r - step + p) % p;
    gather_step(t, v.type, right, v.out + chunks.begin(send_chunk) * size,
                chunks.length(send_chunk), left, v.out + chunks.begin(recv_chunk) * size,
                chunks.length(recv_chunk), deadline);
  }
}

}  // namespace hilo::detail
