// The all-to-all algorithms, by name, and the one function that chooses among them; the
// exchanges of blocks of different sizes (all_to_all_v, the all-to-all of vectors, strings and
// serialized values).
//
//   pairwise  p-1 steps; in step k every rank sends its block for rank r+k and receives the block
//             of rank r-k, each block going straight to its owner (MPICH's and Open MPI's choice
//             for large blocks). Blocks of any size, and each pair's may differ.
//   bruck     ceil(log2 p) steps; in step k every rank sends the blocks whose index has bit k set
//             to rank r+k, so each block hops log2 p times but a rank sends log2 p messages
//             instead of p-1 (Bruck et al. 1997; MPICH's choice for small blocks). Blocks of one
//             size only.
//
// The byte algorithms are compiled in libhilo (runtime/src/comm/algorithms/, one file each) and
// see elements only as bytes of `type.size`. Every rank must run the same algorithm, so the
// choice depends only on what every rank shares: the block size and the number of ranks.
// HILO_ALLTOALL names an algorithm for every fixed-size all-to-all of a job, for tests and tuning;
// it must be the same on every rank.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/comm/types.hpp"

namespace hilo::detail {

namespace tags {
inline constexpr int all_to_all = 9;
}

enum class AllToAllAlgorithm : std::uint8_t {
  automatic,  // choose by block size (choose_all_to_all)
  pairwise,
  bruck,
};

// "pairwise", "bruck", "automatic": the names HILO_ALLTOALL takes.
std::string_view name_of(AllToAllAlgorithm algorithm);

// HILO_ALLTOALL's algorithm, automatic when it is unset or empty; hilo::Error for a name that is
// not an algorithm, listing the names.
AllToAllAlgorithm all_to_all_algorithm_from_environment();

// Blocks of at most this size go by Bruck's algorithm (when p > 2: at p = 2 both are one step);
// larger ones pairwise, where Bruck's extra hops cost more than its fewer messages save (MPICH's
// threshold for short messages).
inline constexpr std::size_t bruck_max_block_bytes = 256;

// The algorithm to run for blocks of `block_bytes` over `ranks` ranks: `requested` unless it is
// automatic, else the choice by size.
AllToAllAlgorithm choose_all_to_all(std::size_t block_bytes, int ranks,
                                    AllToAllAlgorithm requested = AllToAllAlgorithm::automatic);

// p blocks of `count` elements of `type.size` bytes each: block j of `in` goes to rank j, block j
// of `out` comes from rank j. `in` and `out` do not overlap.
struct BlocksBytes {
  const std::byte* in;
  std::byte* out;
  std::size_t count;
  DataType type;
};

void pairwise_all_to_all(Transport& t, BlocksBytes b, Deadline deadline);
void bruck_all_to_all(Transport& t, BlocksBytes b, Deadline deadline);
// The algorithm choose_all_to_all picks for `b`, `requested` if not automatic.
void all_to_all_blocks(Transport& t, BlocksBytes b, Deadline deadline,
                       AllToAllAlgorithm requested = AllToAllAlgorithm::automatic);

// MPI_Alltoallv by pairwise exchange: counts and displacements in elements, one per rank. Every
// step runs even when a block of another size arrives (so no peer is left waiting); then the
// first such block is a hilo::Error naming the rank that sent it and the rank that expected
// another count.
void pairwise_all_to_all_v(Transport& t, const std::byte* send, const int* send_counts,
                           const int* send_displs, std::byte* recv, const int* recv_counts,
                           const int* recv_displs, DataType type, Deadline deadline);

// Sends `mine` to `dest` and receives `theirs` from `source`, as one Transport::sendrecv on
// `tag`: any value kind (a serialized one is encoded, then decoded after).
template <class S, class R>
Status exchange_values(Transport& t, int dest, const S& mine, int source, R& theirs, int tag,
                       Deadline deadline) {
  OutgoingBytes out = encode(mine);
  if constexpr (encoding_of<R>() == Encoding::serialized) {
    BorrowedBuffer staging(t.byte_buffers());
    Status status = t.sendrecv(dest, tag, out.data, out.bytes, out.type, source, tag,
                               sink_for(theirs, &*staging), deadline);
    deserialize(*staging, theirs, status.source, status.tag);
    return status;
  } else {
    return t.sendrecv(dest, tag, out.data, out.bytes, out.type, source, tag,
                      sink_for(theirs, nullptr), deadline);
  }
}

// The all-to-all of any values by pairwise exchange, each encoded on its own (vectors and strings
// as their elements, other types serialized): values[j] goes to rank j, result[j] comes from rank
// j. `result` holds size() values.
template <class T>
void pairwise_all_to_all_values(Transport& t, const std::vector<T>& values, std::vector<T>& result,
                                Deadline deadline) {
  const int p = t.size(), r = t.rank();
  result[r] = values[r];
  for (int k = 1; k < p; ++k) {
    const int to = (r + k) % p, from = (r - k + p) % p;
    exchange_values(t, to, values[to], from, result[from], tags::all_to_all, deadline);
  }
}

}  // namespace hilo::detail
