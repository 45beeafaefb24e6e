// The all-reduce algorithms, by name, and the one function that chooses among them.
//
//   recursive_doubling  log2 p steps, each moving the whole value: small messages, and any type
//                       (it is the only one for values that are not contiguous vectors).
//   ring                a reduce-scatter then an all-gather around a ring, 2(p-1) steps each
//                       moving 1/p of the vector: bandwidth-optimal for any p (Gloo's
//                       allreduce_ring).
//   halving_doubling    the same traffic in 2 log2 p steps (Rabenseifner's; Gloo's
//                       allreduce_halving_doubling): p a power of two, at least p elements.
//   direct              ranks read each other's vectors in place (Transport::peer_memory: the
//                       tcp backend among processes of one host); each byte copied once.
//   hierarchical        ranks on several hosts (Transport::host_map): a reduce-scatter among
//                       the ranks of each host, a ring across hosts for each slice among the
//                       ranks holding it, an all-gather within each host; each byte crosses
//                       between hosts once per host, where the flat ones send every rank's share.
//
// The vector algorithms are compiled in libhilo (runtime/src/comm/algorithms/, one file each)
// and see elements only as bytes of `type.size`, combined through a Combiner (combine.hpp), so
// they run optimised whatever the user's build flags. recursive_doubling is a template over the
// value type (algorithms/recursive_doubling_all_reduce.hpp). all_reduce_into (algorithms.hpp)
// runs the choice.
//
// Every rank must run the same algorithm, so the choice depends only on what every rank shares:
// the element count (which must be equal anyway), the element size, the number of ranks, and
// whether every rank can reach the others' memory and which host each rank runs on (the same on
// every rank: they depend on the hosts). HILO_ALLREDUCE names an algorithm for every all-reduce of
// a job, for tests and tuning; it must be the same on every rank (hilorun passes HILO_* variables
// to every rank).
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "hilo/comm/detail/combine.hpp"
#include "hilo/comm/detail/pipeline_options.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/comm/types.hpp"

namespace hilo::detail {

enum class AllReduceAlgorithm : std::uint8_t {
  automatic,  // choose by size (choose_all_reduce)
  recursive_doubling,
  ring,
  halving_doubling,
  direct,
  hierarchical,
};

// "ring", "halving_doubling", ...: the names HILO_ALLREDUCE takes.
std::string_view name_of(AllReduceAlgorithm algorithm);

// HILO_ALLREDUCE's algorithm, automatic when it is unset or empty; hilo::Error for a name that
// is not an algorithm, listing the names.
AllReduceAlgorithm all_reduce_algorithm_from_environment();

// All-reduces of at least this size use a bandwidth-optimal algorithm (halving-doubling for p a
// power of two, else the ring); below it, recursive doubling, whose log2 p steps each move the
// whole vector but cost fewer messages. docs/PERFORMANCE.md has the measurements behind it.
inline constexpr std::size_t large_message_bytes = 64 * 1024;
// The direct all-reduce from this size on, where the transport offers peer memory.
inline constexpr std::size_t direct_all_reduce_min_bytes = 256 * 1024;
// The hierarchical all-reduce from this size on, where ranks run on more than one host and some
// host runs more than one (below it, halving-doubling was as fast: docs/PERFORMANCE.md).
inline constexpr std::size_t hierarchical_all_reduce_min_bytes = 1024 * 1024;

// What the choice may depend on (the same on every rank).
struct AllReduceShape {
  bool contiguous = false;  // a vector of trivially copyable elements, combined element-wise
  std::size_t count = 0;    // elements
  std::size_t element_bytes = 0;
  int ranks = 1;
  bool peer_memory = false;  // Transport::peer_memory() is not null
  // From Transport::host_map() (count_hosts): how many hosts the ranks run on (0: the transport
  // does not say) and the most ranks on one of them.
  int hosts = 0;
  int most_ranks_on_one_host = 0;
};

// Fills shape.hosts and shape.most_ranks_on_one_host from a host map (Transport::host_map);
// leaves them 0 for an empty one.
void count_hosts(std::span<const int> host_map, AllReduceShape& shape);

// Whether `algorithm` can run on `shape`: recursive_doubling always (on one rank it has nothing
// to do); the others need a contiguous vector and p > 1; halving_doubling also p a power of two
// and at least p elements; direct also peer memory; hierarchical also a host map.
bool can_run(AllReduceAlgorithm algorithm, const AllReduceShape& shape);

// The algorithm to run: `requested` where it can run on `shape`, else the choice by size. When
// it returns direct, the ranks may still find together that one of them cannot reach another's
// memory (direct_all_reduce returns false on every rank); then they run
// choose_all_reduce(shape without peer memory).
AllReduceAlgorithm choose_all_reduce(const AllReduceShape& shape,
                                     AllReduceAlgorithm requested = AllReduceAlgorithm::automatic);
// The debug line naming the algorithm chosen for `shape` (HILO_LOG=debug).
void log_choice(const Log& log, const AllReduceShape& shape, AllReduceAlgorithm algorithm);

// A contiguous vector's elements on this rank, as bytes: `count` elements of `type.size` bytes
// at `in`, the result at `out` (which may be `in`: in place; otherwise it holds `count`
// elements already).
struct VectorBytes {
  const std::byte* in;
  std::byte* out;
  std::size_t count;
  DataType type;
};

// Both need p > 1; halving_doubling also p a power of two and at least p elements (can_run).
// Both pipeline each step in segments as `options` says (pipeline_options.hpp).
void ring_all_reduce(Transport& t, VectorBytes v, const Combiner& combine,
                     const PipelineOptions& options, Deadline deadline);
void halving_doubling_all_reduce(Transport& t, VectorBytes v, const Combiner& combine,
                                 const PipelineOptions& options, Deadline deadline);
// The partners of rank `rank`'s reduce-scatter steps in halving_doubling_all_reduce, in order
// (the all-gather meets them again in reverse): the ranks differing from it in one bit each,
// nearest first. The first step moves half the vector, each later one half as much again, so the
// largest steps stay between neighbouring ranks, which launchers put on the same host by default
// (hilorun's and mpirun's mapping by slot, Slurm's block distribution): between hosts each rank
// then moves a quarter of the vector per phase at p = 4, two ranks per host, instead of half.
// Ranks dealt to hosts in turn (--map-by node) get the reverse: the largest steps cross hosts.
std::vector<int> halving_doubling_partners(int ranks, int rank);
// False on every rank when one of them cannot reach all the others' memory (nothing changed);
// throws hilo::Error when ranks contribute different lengths or element types.
// `host_map` (Transport::host_map, one entry per rank: equal numbers share a host) says which
// ranks are on one host; it must be the same on every rank. Throws hilo::Error if it does not
// have one entry per rank. Pipelined as `options` says.
void hierarchical_all_reduce(Transport& t, std::span<const int> host_map, VectorBytes v,
                             const Combiner& combine, const PipelineOptions& options,
                             Deadline deadline);
bool direct_all_reduce(Transport& t, PeerMemory& memory, VectorBytes v, const Combiner& combine,
                       Deadline deadline);

}  // namespace hilo::detail
