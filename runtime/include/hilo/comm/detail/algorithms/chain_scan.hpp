// The prefix reductions (MPI_Scan, MPI_Exscan) as a chain (Open MPI's basic scan): rank r receives
// the reduction over ranks 0..r-1 from rank r-1, folds its own value in on the right, and sends
// the result on to rank r+1. p-1 messages in sequence, so one call alone waits for p-1 hops; but
// no rank waits for a later one, so in a loop of scans rank 0 runs ahead and the calls overlap
// along the chain: each rank's cost per call is about one receive, one combine and one send. Each
// vector crosses each link once, where recursive doubling sends log2 p of them per rank.
//
// Vectors of different lengths: the check rides in the chain (scan_messages.hpp). The first rank
// whose length differs from its predecessor's passes a mismatch message on instead of its
// reduction, and every rank from it on raises the same hilo::Error; the ranks before it return
// their correct result.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <optional>

#include "hilo/comm/detail/algorithms/combine_values.hpp"
#include "hilo/comm/detail/algorithms/scan_messages.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

// Writes into `result` the reduction with `op` of the values of ranks 0..r (inclusive) or 0..r-1
// (exclusive), element-wise for vectors; returns false, `result` untouched, for the exclusive scan
// on rank 0. `result` must not be `value`. On a length mismatch `result` may hold a partial
// prefix when the hilo::Error is thrown.
template <class T, class Op>
bool chain_scan(Transport& t, const T& value, T& result, Op& op, bool exclusive,
                Deadline deadline) {
  const int p = t.size(), r = t.rank();
  const bool last = r + 1 == p;
  if (r == 0) {
    if (!last) send_value(t, 1, tags::scan, value, deadline);
    if (exclusive) return false;
    result = value;
    return true;
  }
  // The reduction over ranks 0..r-1 lands in `result` (a kept vector of the same length is
  // reused, nothing allocated), then this rank's value joins it on the right.
  std::optional<ScanMismatch> mismatch = recv_prefix(t, r - 1, result, deadline);
  mismatch = first_mismatch(result, mismatch, value, std::nullopt, r);
  if (!exclusive) {
    if (!mismatch) combine(result, value, op);
    if (!last) send_prefix(t, r + 1, result, mismatch, deadline);
  } else if (!last) {
    if (mismatch) {
      send_prefix(t, r + 1, result, mismatch, deadline);
    } else {
      T next = result;
      combine(next, value, op);
      send_value(t, r + 1, tags::scan, next, deadline);
    }
  }
  if (mismatch) throw_scan_mismatch(*mismatch);
  return true;
}

}  // namespace hilo::detail
