// Reduce by reduce-scatter then gather (hilo/comm/detail/reduce.hpp): the ring all-reduce's
// reduce-scatter leaves chunk r+1 reduced on rank r (ring_reduce_scatter_chunks.hpp); every rank
// but the root then sends that chunk to the root, which has posted a receive for each straight
// into its place in `out`.
#include <memory>
#include <vector>

#include "comm/algorithms/ring_reduce_scatter_chunks.hpp"
#include "hilo/comm/detail/algorithms/tags.hpp"
#include "hilo/comm/detail/reduce.hpp"

namespace hilo::detail {

void reduce_scatter_gather_reduce(Transport& t, VectorBytes v, int root, const Combiner& combine,
                                  const PipelineOptions& options, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t size = v.type.size;
  const RingChunks chunks{v.count, p};
  ring_reduce_scatter_chunks(t, v, combine, options, deadline);
  auto reduced_on = [&](int rank) { return (rank + 1) % p; };  // the chunk `rank` has reduced
  if (r != root) {
    const int chunk = reduced_on(r);
    t.send(root, tags::reduce, v.out + chunks.begin(chunk) * size, chunks.length(chunk) * size,
           v.type, deadline);
    return;
  }
  std::vector<std::unique_ptr<Operation>> receives;
  for (int q = 0; q < p; ++q) {
    if (q == root) continue;
    const int chunk = reduced_on(q);
    receives.push_back(
        t.irecv(q, tags::reduce,
                Sink{v.type, v.out + chunks.begin(chunk) * size, chunks.length(chunk) * size, {}}));
  }
  for (auto& received : receives) received->wait(deadline);
}

}  // namespace hilo::detail
