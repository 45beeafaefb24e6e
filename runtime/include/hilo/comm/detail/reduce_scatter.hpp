// Reduce-scatter (MPI_Reduce_scatter_block): rank i gets block i reduced over every rank.
//
//   ring      the first half of the ring all-reduce (ring_all_reduce.cpp): p-1 steps around the
//             ring, each moving one block and combining it as it arrives (the same pipelined
//             exchange step), so every link carries (p-1)/p of the data. Blocks of one size of
//             trivially copyable elements, combined through a Combiner; compiled in libhilo.
//   pairwise  every block goes straight to its owner (the pairwise all-to-all), which then folds
//             them in rank order: any value type, vectors element-wise.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "hilo/comm/detail/algorithms/combine_values.hpp"
#include "hilo/comm/detail/all_to_all.hpp"
#include "hilo/comm/detail/combine.hpp"
#include "hilo/comm/detail/pipeline_options.hpp"
#include "hilo/detail/error_message.hpp"

namespace hilo::detail {

// `in` holds p blocks of `count` elements; `out` (count elements) gets block r combined over
// every rank. `out` does not overlap `in`. Each step is pipelined in segments as `options` says.
void ring_reduce_scatter(Transport& t, const std::byte* in, std::byte* out, std::size_t count,
                         DataType type, const Combiner& combine, const PipelineOptions& options,
                         Deadline deadline);

template <class T, class Op>
T pairwise_reduce_scatter(Transport& t, const std::vector<T>& values, Op& op, Deadline deadline) {
  std::vector<T> contributions(static_cast<std::size_t>(t.size()));
  pairwise_all_to_all_values(t, values, contributions, deadline);
  if constexpr (is_vector<T>::value) {
    // Every block has arrived, so no rank waits on this one if it throws.
    const std::size_t mine = contributions[t.rank()].size();
    for (std::size_t q = 0; q < contributions.size(); ++q)
      if (contributions[q].size() != mine)
        throw_error<Error>("hilo: rank ", q, " contributes ", contributions[q].size(),
                           " elements to block ", t.rank(), " but rank ", t.rank(), " contributes ",
                           mine, "; values[i] must have the same length on every rank");
  }
  T result = std::move(contributions[0]);
  for (std::size_t q = 1; q < contributions.size(); ++q) combine(result, contributions[q], op);
  return result;
}

}  // namespace hilo::detail
