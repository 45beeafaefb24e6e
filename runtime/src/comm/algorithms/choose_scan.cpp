// Which scan runs: the one place the choice is made (hilo/comm/detail/scan.hpp).
#include <array>

#include "comm/algorithms/algorithm_from_environment.hpp"
#include "hilo/comm/detail/scan.hpp"

namespace hilo::detail {

std::string_view name_of(ScanAlgorithm algorithm) {
  switch (algorithm) {
    case ScanAlgorithm::automatic:
      return "automatic";
    case ScanAlgorithm::chain:
      return "chain";
    case ScanAlgorithm::recursive_doubling:
      return "recursive_doubling";
  }
  return "unknown";
}

ScanAlgorithm scan_algorithm_from_environment() {
  constexpr std::array all{ScanAlgorithm::automatic, ScanAlgorithm::chain,
                           ScanAlgorithm::recursive_doubling};
  return algorithm_from_environment("HILO_SCAN", "scan", all);
}

ScanAlgorithm choose_scan(int ranks, ScanAlgorithm requested) {
  if (requested != ScanAlgorithm::automatic) return requested;
  return ranks <= chain_scan_max_ranks ? ScanAlgorithm::chain : ScanAlgorithm::recursive_doubling;
}

}  // namespace hilo::detail
