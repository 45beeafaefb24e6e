// The prefix reductions (MPI_Scan, MPI_Exscan) by recursive doubling (MPICH's algorithm): in step
// k a rank swaps its partial reduction with rank r xor 2^k, if there is one. What comes from a
// lower rank is the reduction of the block of ranks just below this rank's block, so it is
// folded in on the left, both into the partial reduction passed on and into this rank's result.
// ceil(log2 p) steps for any p, every rank in every step; the operation must be associative
// (commutativity is not needed: every fold keeps rank order).
//
// Vectors of different lengths: each message carries its block's reduction or the first mismatch
// in that block (scan_messages.hpp); every rank runs all its steps and raises at the end if its
// result's ranks 0..r hold a mismatch, so the rule is the chain's.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <optional>
#include <utility>

#include "hilo/comm/detail/algorithms/combine_values.hpp"
#include "hilo/comm/detail/algorithms/scan_messages.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

// As chain_scan (chain_scan.hpp): `result` gets the reduction over ranks 0..r (inclusive) or
// 0..r-1 (exclusive); false, `result` untouched, for the exclusive scan on rank 0.
template <class T, class Op>
bool recursive_doubling_scan(Transport& t, const T& value, T& result, Op& op, bool exclusive,
                             Deadline deadline) {
  const int p = t.size(), r = t.rank();
  // The reduction over this rank's current block of ranks, and the ranks of that block below r
  // (with r itself when inclusive) folded into `result`; each with its first mismatch, if any.
  T partial = value;
  std::optional<ScanMismatch> partial_mismatch, result_mismatch;
  bool have_result = !exclusive;
  if (have_result) result = value;
  for (int mask = 1; mask < p; mask <<= 1) {
    const int partner = r ^ mask;
    if (partner >= p) continue;
    const int block_first = r & ~(mask - 1), partner_first = partner & ~(mask - 1);
    T theirs{};
    const std::optional<ScanMismatch> theirs_mismatch =
        exchange_prefix(t, partner, partial, partial_mismatch, theirs, deadline);
    if (partner < r) {  // theirs reduces the ranks just below this block: it goes on the left
      if (have_result) {
        result_mismatch =
            first_mismatch(theirs, theirs_mismatch, result, result_mismatch, block_first);
        if (!result_mismatch) {
          T folded = theirs;
          combine(folded, result, op);
          result = std::move(folded);
        }
      } else {
        result = theirs;
        result_mismatch = theirs_mismatch;
        have_result = true;
      }
      partial_mismatch =
          first_mismatch(theirs, theirs_mismatch, partial, partial_mismatch, block_first);
      if (!partial_mismatch) {
        combine(theirs, partial, op);
        partial = std::move(theirs);
      }
    } else {
      partial_mismatch =
          first_mismatch(partial, partial_mismatch, theirs, theirs_mismatch, partner_first);
      if (!partial_mismatch) combine(partial, theirs, op);
    }
  }
  // An exclusive result leaves out this rank's value, whose length joins the check here.
  if (exclusive && have_result)
    result_mismatch = first_mismatch(result, result_mismatch, value, std::nullopt, r);
  if (result_mismatch) throw_scan_mismatch(*result_mismatch);
  return have_result;
}

}  // namespace hilo::detail
