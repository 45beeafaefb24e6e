// Ring all-reduce: a reduce-scatter then an all-gather, each p-1 steps moving 1/p of the data,
// so every link carries 2(p-1)/p of it (bandwidth-optimal, as Gloo's allreduce_ring).
//
// Nothing is copied up front: step 0 sends from `in`, and every chunk a rank receives during the
// reduce-scatter (each exactly once) is combined as out = op(in, incoming). When `out` is not
// `in`, a chunk's incoming bytes land in `out` itself and are combined there, so no scratch
// memory is needed; in place, they land in a scratch chunk. A step's chunk travels in segments
// (exchange_step), and combining one segment overlaps the arrival of the next.

#include "comm/algorithms/pipeline_steps.hpp"
#include "hilo/comm/detail/all_reduce.hpp"

namespace hilo::detail {

void ring_all_reduce(Transport& t, VectorBytes v, const Combiner& combine,
                     const PipelineOptions& options, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t n = v.count, size = v.type.size;
  const bool in_place = v.in == v.out;
  auto begin = [&](int chunk) { return n * static_cast<std::size_t>(chunk) / p; };
  auto length = [&](int chunk) { return begin(chunk + 1) - begin(chunk); };
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  ScratchBytes scratch(in_place ? (length(0) + 1) * size : 0);

  for (int step = 0; step < p - 1; ++step) {
    const int send_chunk = (r - step + p) % p, recv_chunk = (r - step - 1 + p) % p;
    const std::byte* mine = v.in + begin(recv_chunk) * size;
    std::byte* into = in_place ? scratch.data() : v.out + begin(recv_chunk) * size;
    std::byte* result = v.out + begin(recv_chunk) * size;
    const std::byte* from = (step == 0 ? v.in : v.out) + begin(send_chunk) * size;
    exchange_step(t, v.type, right, from, length(send_chunk), left, into, length(recv_chunk),
                  options, deadline, [&](std::size_t first, std::size_t last) {
                    combine(mine + first * size, into + first * size, result + first * size,
                            last - first);
                  });
  }
  for (int step = 0; step < p - 1; ++step) {
    const int send_chunk = (r + 1 - step + p) % p, recv_chunk = (r - step + p) % p;
    gather_step(t, v.type, right, v.out + begin(send_chunk) * size, length(send_chunk), left,
                v.out + begin(recv_chunk) * size, length(recv_chunk), deadline);
  }
}

}  // namespace hilo::detail
