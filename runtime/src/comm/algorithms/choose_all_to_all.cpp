// Which all-to-all runs: the one place the choice is made (hilo/comm/detail/all_to_all.hpp).
#include <array>

#include "comm/algorithms/algorithm_from_environment.hpp"
#include "hilo/comm/detail/all_to_all.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

std::string_view name_of(AllToAllAlgorithm algorithm) {
  switch (algorithm) {
    case AllToAllAlgorithm::automatic:
      return "automatic";
    case AllToAllAlgorithm::pairwise:
      return "pairwise";
    case AllToAllAlgorithm::bruck:
      return "bruck";
  }
  return "unknown";
}

AllToAllAlgorithm all_to_all_algorithm_from_environment() {
  constexpr std::array all{AllToAllAlgorithm::automatic, AllToAllAlgorithm::pairwise,
                           AllToAllAlgorithm::bruck};
  return algorithm_from_environment("HILO_ALLTOALL", "all-to-all", all);
}

AllToAllAlgorithm choose_all_to_all(std::size_t block_bytes, int ranks,
                                    AllToAllAlgorithm requested) {
  if (requested != AllToAllAlgorithm::automatic) return requested;
  return ranks > 2 && block_bytes <= bruck_max_block_bytes ? AllToAllAlgorithm::bruck
                                                           : AllToAllAlgorithm::pairwise;
}

void all_to_all_blocks(Transport& t, BlocksBytes b, Deadline deadline,
                       AllToAllAlgorithm requested) {
  const AllToAllAlgorithm algorithm = choose_all_to_all(b.count * b.type.size, t.size(), requested);
  if (t.log().enabled(LogLevel::debug))
    t.log().write(LogLevel::debug, "algorithms", "all-to-all of ", b.count * b.type.size,
                  " bytes per block on ", t.size(), " ranks: ", name_of(algorithm));
  if (algorithm == AllToAllAlgorithm::bruck)
    bruck_all_to_all(t, b, deadline);
  else
    pairwise_all_to_all(t, b, deadline);
}

}  // namespace hilo::detail
