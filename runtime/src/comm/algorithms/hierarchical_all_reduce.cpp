// Hierarchical all-reduce, for ranks spread over hosts some of which run several: each byte
// crosses between hosts once per host and direction, where a flat ring or halving-doubling sends
// every rank's share over the slow link between hosts.
//
//   1. Within each host, a reduce-scatter: the vector is cut into S slices (S = the most ranks
//      on one host), and local rank i of a host of k ranks owns the slices s with s*k/S == i (a
//      contiguous range; one slice each where k == S). In step d = 1..k-1, local rank i sends
//      local rank i+d the part of its input that rank owns and combines what local rank i-d
//      sends it into its own part (pairwise, so every step is one exchange per rank and each
//      rank sends (k-1)/k of the vector, as a ring would, in parallel on every pair).
//   2. Across hosts, each slice is all-reduced by a ring among the ranks owning it (one per host,
//      in host order). A rank owning several slices does them in increasing slice order; every
//      rank does, so the rings cannot wait for each other in a circle.
//   3. Within each host, an all-gather of the owned parts, pairwise as in 1.
//
// The reduce-scatter (rather than a reduce to one leader per host, then a broadcast) keeps every
// rank of a host busy and sends the slices of one host over as many connections as it has ranks,
// with the same bytes crossing between hosts.
//
// Slices and owners depend only on the host map, the length and p, which every rank shares, so
// every rank computes every other's part of the plan alike. Steps are matched by per-pair order
// (tags::ring), as in the other algorithms.
#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "comm/algorithms/pipeline_steps.hpp"
#include "comm/algorithms/ring_reduce_scatter_chunks.hpp"
#include "hilo/comm/detail/all_reduce.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {
namespace {

// The ranks of each host, from a host map: hosts in order of their lowest rank, ranks ascending.
struct Hosts {
  std::vector<std::vector<int>> ranks;
  std::vector<int> host_of;   // by rank: index into `ranks`
  std::vector<int> local_of;  // by rank: its place in its host's ranks
  int most_ranks = 0;

  explicit Hosts(std::span<const int> host_map) {
    const int p = static_cast<int>(host_map.size());
    host_of.resize(host_map.size());
    local_of.resize(host_map.size());
    for (int r = 0; r < p; ++r) {
      int h = 0;
      while (h < static_cast<int>(ranks.size()) && host_map[ranks[h].front()] != host_map[r]) ++h;
      if (h == static_cast<int>(ranks.size())) ranks.emplace_back();
      host_of[r] = h;
      local_of[r] = static_cast<int>(ranks[h].size());
      ranks[h].push_back(r);
      most_ranks = std::max(most_ranks, static_cast<int>(ranks[h].size()));
    }
  }
};

// Who owns which slice on a host of `k` ranks, with `slices` slices in all (k <= slices).
int owner_of(int slice, int k, int slices) {
  return slice * k / slices;
}

// The elements local rank `local` of a host of `k` ranks owns: the slices it owns, contiguous.
struct Range {
  std::size_t first = 0, count = 0;
};
Range owned_by(int local, int k, const RingChunks& slices) {
  int first = 0;
  while (first < slices.ranks && owner_of(first, k, slices.ranks) < local) ++first;
  int end = first;
  while (end < slices.ranks && owner_of(end, k, slices.ranks) == local) ++end;
  return {slices.begin(first), slices.begin(end) - slices.begin(first)};
}

// Memory free for the caller's use: `count` elements at `data`.
struct Spare {
  std::byte* data = nullptr;
  std::size_t count = 0;
};

// The ring all-reduce of `count` elements at `data` (in place) among `group` (ranks of t, this
// rank at `me`), as ring_all_reduce does it among all of t's ranks. Received chunks land in
// `spare` where it holds the longest, else in scratch memory.
void ring_in_group(Transport& t, const std::vector<int>& group, int me, std::byte* data,
                   std::size_t count, DataType type, Spare spare, const Combiner& combine,
                   const PipelineOptions& options, Deadline deadline) {
  const int h = static_cast<int>(group.size());
  const std::size_t size = type.size;
  const RingChunks chunks{count, h};
  const int right = group[(me + 1) % h], left = group[(me - 1 + h) % h];
  const std::size_t longest = chunks.length(h - 1);  // the last chunk is the longest
  std::unique_ptr<ScratchBytes> scratch;
  if (spare.count < longest) scratch = std::make_unique<ScratchBytes>(longest * size);
  std::byte* const incoming = scratch ? scratch->data() : spare.data;
  for (int step = 0; step < h - 1; ++step) {
    const int send_chunk = (me - step + h) % h, recv_chunk = (me - step - 1 + h) % h;
    std::byte* mine = data + chunks.begin(recv_chunk) * size;
    exchange_step(t, type, right, data + chunks.begin(send_chunk) * size, chunks.length(send_chunk),
                  left, incoming, chunks.length(recv_chunk), options, deadline,
                  [&](std::size_t a, std::size_t b) {
                    combine(mine + a * size, incoming + a * size, mine + a * size, b - a);
                  });
  }
  for (int step = 0; step < h - 1; ++step) {
    const int send_chunk = (me + 1 - step + h) % h, recv_chunk = (me - step + h) % h;
    gather_step(t, type, right, data + chunks.begin(send_chunk) * size, chunks.length(send_chunk),
                left, data + chunks.begin(recv_chunk) * size, chunks.length(recv_chunk), deadline);
  }
}

}  // namespace

void count_hosts(std::span<const int> host_map, AllReduceShape& shape) {
  if (host_map.empty()) return;
  const Hosts hosts(host_map);
  shape.hosts = static_cast<int>(hosts.ranks.size());
  shape.most_ranks_on_one_host = hosts.most_ranks;
}

void hierarchical_all_reduce(Transport& t, std::span<const int> host_map, VectorBytes v,
                             const Combiner& combine, const PipelineOptions& options,
                             Deadline deadline) {
  const int p = t.size(), r = t.rank();
  if (static_cast<int>(host_map.size()) != p)
    throw Error("hilo: the hierarchical all-reduce was given a host map of " +
                std::to_string(host_map.size()) + " ranks for a communicator of " +
                std::to_string(p));
  const Hosts hosts(host_map);
  const std::size_t size = v.type.size;
  const RingChunks slices{v.count, hosts.most_ranks};
  const std::vector<int>& mates = hosts.ranks[hosts.host_of[r]];
  const int k = static_cast<int>(mates.size()), local = hosts.local_of[r];
  const Range mine = owned_by(local, k, slices);

  // 1. Reduce-scatter within the host: v.out's owned range gets the host's sum. The rest of
  // v.out is not read until step 3 writes it, so an in-place call sends from v.in untouched.
  if (k == 1) {
    if (v.out != v.in) std::copy(v.in, v.in + v.count * size, v.out);
  } else {
    // Out of place, the first step's part lands in v.out's owned range itself and is combined
    // there with v.in's (as halving-doubling's first step); the later steps (k > 2), and an
    // in-place call, whose owned range still holds the input, need room of their own.
    const bool in_place = v.in == v.out;
    std::unique_ptr<ScratchBytes> scratch;
    if (in_place || k > 2) scratch = std::make_unique<ScratchBytes>(mine.count * size);
    std::byte* result = v.out + mine.first * size;
    for (int d = 1; d < k; ++d) {
      const int to = (local + d) % k, from = (local - d + k) % k;
      const Range theirs = owned_by(to, k, slices);
      const std::byte* before = (d == 1 ? v.in : v.out) + mine.first * size;
      std::byte* incoming = d == 1 && !in_place ? result : scratch->data();
      exchange_step(t, v.type, mates[to], v.in + theirs.first * size, theirs.count, mates[from],
                    incoming, mine.count, options, deadline, [&](std::size_t a, std::size_t b) {
                      combine(before + a * size, incoming + a * size, result + a * size, b - a);
                    });
    }
  }

  // 2. Each slice across hosts, among its owners, in increasing slice order. v.out outside the
  // owned range is free until step 3 fills it: the longer of its two parts takes the rings'
  // incoming chunks.
  const int host_count = static_cast<int>(hosts.ranks.size());
  if (host_count > 1) {
    const std::size_t after = mine.first + mine.count;
    const Spare spare = mine.first >= v.count - after
                            ? Spare{v.out, mine.first}
                            : Spare{v.out + after * size, v.count - after};
    for (int s = 0; s < slices.ranks; ++s) {
      if (slices.length(s) == 0) continue;  // every rank skips it alike
      std::vector<int> owners;
      owners.reserve(hosts.ranks.size());
      for (const std::vector<int>& host : hosts.ranks)
        owners.push_back(host[owner_of(s, static_cast<int>(host.size()), slices.ranks)]);
      if (owners[hosts.host_of[r]] != r) continue;
      ring_in_group(t, owners, hosts.host_of[r], v.out + slices.begin(s) * size, slices.length(s),
                    v.type, spare, combine, options, deadline);
    }
  }

  // 3. All-gather within the host.
  for (int d = 1; d < k; ++d) {
    const int to = (local + d) % k, from = (local - d + k) % k;
    const Range theirs = owned_by(from, k, slices);
    gather_step(t, v.type, mates[to], v.out + mine.first * size, mine.count, mates[from],
                v.out + theirs.first * size, theirs.count, deadline);
  }
}

}  // namespace hilo::detail
