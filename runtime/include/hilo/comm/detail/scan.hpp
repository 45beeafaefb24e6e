// The prefix reductions (MPI_Scan, MPI_Exscan), by name, and the one function that chooses
// between them.
//
//   chain               rank r receives the prefix from r-1, folds in its value, sends it to r+1
//                       (algorithms/chain_scan.hpp, Open MPI's basic scan): p-1 hops for one
//                       call, but in a loop the calls overlap along the chain, and each vector
//                       crosses each link once.
//   recursive_doubling  ceil(log2 p) exchanges on every rank (algorithms/recursive_doubling_scan
//                       .hpp, MPICH's): fewer hops for one call, every rank in every step.
//
// Every rank must run the same algorithm, and a scan's vectors may differ in length between ranks
// (the error case, which must end in the same error everywhere rather than a hang), so the choice
// depends only on the number of ranks, never on a length. The chain runs up to
// chain_scan_max_ranks ranks, where it was measured faster at every size (benchmarks/analysis.md);
// above that, where it was not measured, recursive doubling's log2 p hops per call. HILO_SCAN
// names an algorithm for every scan and exscan of a job, for tests and tuning; it must be the same
// on every rank.
//
// Both check vectors' lengths in their own messages: every rank from the first one whose length
// differs from its predecessor's raises the same hilo::Error naming both ranks and lengths; the
// ranks before it return their correct result (algorithms/scan_messages.hpp).
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <cstdint>
#include <string_view>

#include "hilo/comm/detail/algorithms/chain_scan.hpp"
#include "hilo/comm/detail/algorithms/recursive_doubling_scan.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

enum class ScanAlgorithm : std::uint8_t {
  automatic,  // choose by the number of ranks (choose_scan)
  chain,
  recursive_doubling,
};

// "chain", "recursive_doubling", "automatic": the names HILO_SCAN takes.
std::string_view name_of(ScanAlgorithm algorithm);

// HILO_SCAN's algorithm, automatic when it is unset or empty; hilo::Error for a name that is not
// an algorithm, listing the names.
ScanAlgorithm scan_algorithm_from_environment();

// The chain runs on at most this many ranks (by default).
inline constexpr int chain_scan_max_ranks = 4;

// The algorithm to run on `ranks` ranks: `requested` unless it is automatic, else the choice.
ScanAlgorithm choose_scan(int ranks, ScanAlgorithm requested = ScanAlgorithm::automatic);

// Writes into `result` the reduction with `op` over ranks 0..r (inclusive) or 0..r-1 (exclusive),
// by the algorithm choose_scan picks; false, `result` untouched, for the exclusive scan on rank 0.
// `result` must not be `value`.
template <class T, class Op>
bool scan(Transport& t, const T& value, T& result, Op& op, bool exclusive, Deadline deadline,
          ScanAlgorithm requested = ScanAlgorithm::automatic) {
  const ScanAlgorithm algorithm = choose_scan(t.size(), requested);
  if (t.log().enabled(LogLevel::debug))
    t.log().write(LogLevel::debug, "algorithms", exclusive ? "exscan" : "scan", " on ", t.size(),
                  " ranks: ", name_of(algorithm));
  if (algorithm == ScanAlgorithm::recursive_doubling)
    return recursive_doubling_scan(t, value, result, op, exclusive, deadline);
  return chain_scan(t, value, result, op, exclusive, deadline);
}

}  // namespace hilo::detail
