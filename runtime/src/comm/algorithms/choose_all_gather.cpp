// Which all-gather runs: the one place the choice is made (hilo/comm/detail/all_gather.hpp).
#include <array>

#include "comm/algorithms/algorithm_from_environment.hpp"
#include "hilo/comm/detail/all_gather.hpp"

namespace hilo::detail {

std::string_view name_of(AllGatherAlgorithm algorithm) {
  switch (algorithm) {
    case AllGatherAlgorithm::automatic:
      return "automatic";
    case AllGatherAlgorithm::gather_broadcast:
      return "gather_broadcast";
    case AllGatherAlgorithm::ring:
      return "ring";
  }
  return "unknown";
}

AllGatherAlgorithm all_gather_algorithm_from_environment() {
  constexpr std::array all{AllGatherAlgorithm::automatic, AllGatherAlgorithm::gather_broadcast,
                           AllGatherAlgorithm::ring};
  return algorithm_from_environment("HILO_ALLGATHER", "all-gather", all);
}

bool can_run(AllGatherAlgorithm algorithm, const AllGatherShape& shape) {
  switch (algorithm) {
    case AllGatherAlgorithm::automatic:
    case AllGatherAlgorithm::gather_broadcast:
      return true;
    case AllGatherAlgorithm::ring:
      return shape.one_size && shape.ranks > 1;
  }
  return false;
}

AllGatherAlgorithm choose_all_gather(const AllGatherShape& shape, AllGatherAlgorithm requested) {
  if (requested != AllGatherAlgorithm::automatic && can_run(requested, shape)) return requested;
  // No measurement yet says from which size on the ring is faster.
  return AllGatherAlgorithm::gather_broadcast;
}

}  // namespace hilo::detail
