// Halving-doubling all-reduce (Rabenseifner's; Gloo's allreduce_halving_doubling): a
// reduce-scatter by recursive halving, then an all-gather by recursive doubling. Each rank moves
// the same 2(p-1)/p of the data as in the ring, in 2 log2 p steps instead of 2(p-1): at p = 4, 4
// steps instead of 6, which is what counts when ranks share cores and every step waits for a
// peer to be scheduled. p must be a power of two and n >= p (can_run).
//
// Step k of the reduce-scatter: partners (ranks differing in bit 2^k: nearest first, see
// halving_doubling_partners) share a range of elements; the lower one keeps its first half and
// sends the second, the upper one the reverse, and each combines what it receives into the half it
// keeps. The received half lands in the part of `out` given away one step before (free until the
// all-gather fills it again), so only the first step of an in-place call needs scratch memory. The
// all-gather retraces the steps backwards, each partner sending its reduced range and receiving the
// other's.
#include <vector>

#include "comm/algorithms/pipeline_steps.hpp"
#include "hilo/comm/detail/all_reduce.hpp"

namespace hilo::detail {

std::vector<int> halving_doubling_partners(int ranks, int rank) {
  std::vector<int> partners;
  for (int mask = 1; mask < ranks; mask *= 2) partners.push_back(rank ^ mask);
  return partners;
}

void halving_doubling_all_reduce(Transport& t, VectorBytes v, const Combiner& combine,
                                 const PipelineOptions& options, Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const std::size_t n = v.count, size = v.type.size;
  const bool in_place = v.in == v.out;
  struct Step {
    int partner;
    std::size_t given_first, given_count;  // the part of the range sent to the partner
  };
  std::vector<Step> steps;
  std::size_t first = 0, count = n;  // the range this rank is responsible for
  std::unique_ptr<ScratchBytes> scratch;
  std::byte* free_part = nullptr;  // a part of `out` not needed until the all-gather
  std::size_t free_count = 0;
  for (const int partner : halving_doubling_partners(p, r)) {
    const int mask = partner ^ r;
    const std::size_t lower = count / 2;
    const bool keep_lower = (r & mask) == 0;
    const std::size_t kept_first = keep_lower ? first : first + lower;
    const std::size_t kept_count = keep_lower ? lower : count - lower;
    const std::size_t given_first = keep_lower ? first + lower : first;
    const std::size_t given_count = count - kept_count;
    const bool first_step = steps.empty();
    // Where the partner's half of what this rank keeps lands, and what it is combined with.
    const std::byte* source = first_step ? v.in : v.out;
    const std::byte* mine = source + kept_first * size;
    std::byte* into;
    if (first_step && !in_place) {
      into = v.out + kept_first * size;  // combined in place: out = op(in, incoming)
    } else if (free_count >= kept_count) {
      into = free_part;
    } else {
      scratch = std::make_unique<ScratchBytes>(kept_count * size);
      into = scratch->data();
    }
    std::byte* result = v.out + kept_first * size;
    exchange_step(t, v.type, partner, source + given_first * size, given_count, partner, into,
                  kept_count, options, deadline, [&](std::size_t a, std::size_t b) {
                    combine(mine + a * size, into + a * size, result + a * size, b - a);
                  });
    steps.push_back(Step{partner, given_first, given_count});
    free_part = v.out + given_first * size;
    free_count = given_count;
    first = kept_first;
    count = kept_count;
  }
  for (auto step = steps.rbegin(); step != steps.rend(); ++step) {
    gather_step(t, v.type, step->partner, v.out + first * size, count, step->partner,
                v.out + step->given_first * size, step->given_count, deadline);
    first = std::min(first, step->given_first);
    count += step->given_count;
  }
}

}  // namespace hilo::detail
