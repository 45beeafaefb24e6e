// Which reduce runs: the one place the choice is made (hilo/comm/detail/reduce.hpp).
#include <array>

#include "comm/algorithms/algorithm_from_environment.hpp"
#include "hilo/comm/detail/reduce.hpp"

namespace hilo::detail {

std::string_view name_of(ReduceAlgorithm algorithm) {
  switch (algorithm) {
    case ReduceAlgorithm::automatic:
      return "automatic";
    case ReduceAlgorithm::binomial:
      return "binomial";
    case ReduceAlgorithm::reduce_scatter_gather:
      return "reduce_scatter_gather";
  }
  return "unknown";
}

ReduceAlgorithm reduce_algorithm_from_environment() {
  constexpr std::array all{ReduceAlgorithm::automatic, ReduceAlgorithm::binomial,
                           ReduceAlgorithm::reduce_scatter_gather};
  return algorithm_from_environment("HILO_REDUCE", "reduce", all);
}

bool can_run(ReduceAlgorithm algorithm, const ReduceShape& shape) {
  switch (algorithm) {
    case ReduceAlgorithm::automatic:
    case ReduceAlgorithm::binomial:
      return true;
    case ReduceAlgorithm::reduce_scatter_gather:
      return shape.contiguous && shape.ranks > 1;
  }
  return false;
}

ReduceAlgorithm choose_reduce(const ReduceShape& shape, ReduceAlgorithm requested) {
  if (requested != ReduceAlgorithm::automatic && can_run(requested, shape)) return requested;
  // No measurement yet says from which size on reduce_scatter_gather is faster.
  return ReduceAlgorithm::binomial;
}

}  // namespace hilo::detail
