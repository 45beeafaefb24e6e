// The reduce-scatter half of the ring all-reduce, shared by the algorithms that start with it:
// the ring all-reduce (then an all-gather around the ring) and the reduce-scatter-gather reduce
// (then a gather to the root).
#pragma once

#include <cstddef>

#include "hilo/comm/detail/all_reduce.hpp"
#include "hilo/comm/detail/pipeline_options.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

// The p chunks a vector of `count` elements is cut into: chunk c is elements [begin(c),
// begin(c + 1)), the first ones one element shorter when p does not divide count.
struct RingChunks {
  std::size_t count;
  int ranks;
  std::size_t begin(int chunk) const { return count * static_cast<std::size_t>(chunk) / ranks; }
  std::size_t length(int chunk) const { return begin(chunk + 1) - begin(chunk); }
};

// p-1 steps around the ring; after them chunk (r+1) % p of v.out holds that chunk combined over
// every rank, and v.out's other chunks partial results (or nothing) the caller overwrites. p > 1.
void ring_reduce_scatter_chunks(Transport& t, VectorBytes v, const Combiner& combine,
                                const PipelineOptions& options, Deadline deadline);

}  // namespace hilo::detail
