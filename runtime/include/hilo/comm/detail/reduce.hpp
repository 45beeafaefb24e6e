// The reduce algorithms (MPI_Reduce), by name, and the one function that chooses among them.
//
//   binomial               the broadcast's tree run backwards, ceil(log2 p) steps, each moving
//                          the whole value (algorithms/binomial_reduce.hpp): any type.
//   reduce_scatter_gather  the ring all-reduce's reduce-scatter, then every rank sends its
//                          reduced chunk to the root (Rabenseifner's reduce, with a ring for its
//                          first half): each rank sends and combines (p-1)/p of the vector, and
//                          the root receives (p-1)/p more, where the tree has the root receive
//                          and combine log2 p whole vectors. Contiguous vectors only; compiled in
//                          libhilo over bytes, as the vector all-reduces are.
//
// The choice by size keeps binomial for every value: reduce_scatter_gather runs when asked for
// by name (HILO_REDUCE), until measurements say from which size on it is faster. Every rank must
// run the same algorithm, so the choice depends only on what every rank shares (the element count
// and size, the number of ranks), and HILO_REDUCE must be the same on every rank.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hilo/comm/detail/all_reduce.hpp"
#include "hilo/comm/detail/combine.hpp"
#include "hilo/comm/detail/pipeline_options.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

enum class ReduceAlgorithm : std::uint8_t {
  automatic,  // choose by size (choose_reduce)
  binomial,
  reduce_scatter_gather,
};

// "binomial", "reduce_scatter_gather", "automatic": the names HILO_REDUCE takes.
std::string_view name_of(ReduceAlgorithm algorithm);

// HILO_REDUCE's algorithm, automatic when it is unset or empty; hilo::Error for a name that is not
// an algorithm, listing the names.
ReduceAlgorithm reduce_algorithm_from_environment();

// What the choice may depend on (the same on every rank).
struct ReduceShape {
  bool contiguous = false;  // a vector of trivially copyable elements, combined element-wise
  std::size_t count = 0;    // elements
  std::size_t element_bytes = 0;
  int ranks = 1;
};

// binomial always; reduce_scatter_gather a contiguous vector and p > 1.
bool can_run(ReduceAlgorithm algorithm, const ReduceShape& shape);

// The algorithm to run: `requested` where it can run on `shape`, else the choice by size.
ReduceAlgorithm choose_reduce(const ReduceShape& shape,
                              ReduceAlgorithm requested = ReduceAlgorithm::automatic);

// The reduction of v.in over every rank into v.out on `root`; v.out holds v.count elements on
// every rank (elsewhere it is scratch) and does not overlap v.in. Pipelined as `options` says.
void reduce_scatter_gather_reduce(Transport& t, VectorBytes v, int root, const Combiner& combine,
                                  const PipelineOptions& options, Deadline deadline);

}  // namespace hilo::detail
