// The all-gather algorithms (MPI_Allgather), by name, and the one function that chooses among
// them.
//
//   gather_broadcast  a linear gather to rank 0, then a binomial broadcast of the gathered values
//                     (algorithms/gather_broadcast_all_gather.hpp): any type, values of
//                     different sizes on different ranks included.
//   ring              p-1 steps around the ring, each value passed on straight into its place
//                     (algorithms/ring_all_gather.hpp): values of one size (trivially copyable,
//                     not ranges), so every rank knows every value's size beforehand.
//
// The choice keeps gather_broadcast for every value: ring runs when asked for by name
// (HILO_ALLGATHER), until measurements say from which size on it is faster. Every rank must run
// the same algorithm, so the choice depends only on what every rank shares (the value's kind and
// the number of ranks), and HILO_ALLGATHER must be the same on every rank.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <cstdint>
#include <string_view>

namespace hilo::detail {

enum class AllGatherAlgorithm : std::uint8_t {
  automatic,  // choose_all_gather
  gather_broadcast,
  ring,
};

// "gather_broadcast", "ring", "automatic": the names HILO_ALLGATHER takes.
std::string_view name_of(AllGatherAlgorithm algorithm);

// HILO_ALLGATHER's algorithm, automatic when it is unset or empty; hilo::Error for a name that is
// not an algorithm, listing the names.
AllGatherAlgorithm all_gather_algorithm_from_environment();

// What the choice may depend on (the same on every rank).
struct AllGatherShape {
  bool one_size = false;  // trivially copyable values, not ranges: the same size on every rank
  int ranks = 1;
};

// gather_broadcast always; ring values of one size and p > 1.
bool can_run(AllGatherAlgorithm algorithm, const AllGatherShape& shape);

// The algorithm to run: `requested` where it can run on `shape`, else gather_broadcast.
AllGatherAlgorithm choose_all_gather(const AllGatherShape& shape,
                                     AllGatherAlgorithm requested = AllGatherAlgorithm::automatic);

}  // namespace hilo::detail
