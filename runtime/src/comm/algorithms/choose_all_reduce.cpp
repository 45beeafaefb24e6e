// Which all-reduce runs: the one place the choice is made (hilo/comm/detail/all_reduce.hpp).
#include <array>
#include <bit>

#include "comm/algorithms/algorithm_from_environment.hpp"
#include "hilo/comm/detail/all_reduce.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {
namespace {

constexpr std::array all_algorithms{
    AllReduceAlgorithm::automatic, AllReduceAlgorithm::recursive_doubling,
    AllReduceAlgorithm::ring,      AllReduceAlgorithm::halving_doubling,
    AllReduceAlgorithm::direct,    AllReduceAlgorithm::hierarchical};

}  // namespace

std::string_view name_of(AllReduceAlgorithm algorithm) {
  switch (algorithm) {
    case AllReduceAlgorithm::automatic:
      return "automatic";
    case AllReduceAlgorithm::recursive_doubling:
      return "recursive_doubling";
    case AllReduceAlgorithm::ring:
      return "ring";
    case AllReduceAlgorithm::halving_doubling:
      return "halving_doubling";
    case AllReduceAlgorithm::direct:
      return "direct";
    case AllReduceAlgorithm::hierarchical:
      return "hierarchical";
  }
  return "unknown";
}

AllReduceAlgorithm all_reduce_algorithm_from_environment() {
  return algorithm_from_environment("HILO_ALLREDUCE", "all-reduce", all_algorithms);
}

bool can_run(AllReduceAlgorithm algorithm, const AllReduceShape& shape) {
  switch (algorithm) {
    case AllReduceAlgorithm::automatic:
    case AllReduceAlgorithm::recursive_doubling:
      return true;
    case AllReduceAlgorithm::ring:
      return shape.contiguous && shape.ranks > 1;
    case AllReduceAlgorithm::halving_doubling:
      return shape.contiguous && shape.ranks > 1 &&
             std::has_single_bit(static_cast<unsigned>(shape.ranks)) &&
             shape.count >= static_cast<std::size_t>(shape.ranks);
    case AllReduceAlgorithm::direct:
      return shape.contiguous && shape.peer_memory && shape.ranks > 1;
    case AllReduceAlgorithm::hierarchical:
      return shape.contiguous && shape.ranks > 1 && shape.hosts > 0;
  }
  return false;
}

AllReduceAlgorithm choose_all_reduce(const AllReduceShape& shape, AllReduceAlgorithm requested) {
  if (requested != AllReduceAlgorithm::automatic && can_run(requested, shape)) return requested;
  const std::size_t bytes = shape.count * shape.element_bytes;
  // Small vectors, and vectors of fewer elements than ranks, cost fewest messages whole.
  if (!shape.contiguous || bytes < large_message_bytes ||
      shape.count < static_cast<std::size_t>(shape.ranks))
    return AllReduceAlgorithm::recursive_doubling;
  if (bytes >= direct_all_reduce_min_bytes && can_run(AllReduceAlgorithm::direct, shape))
    return AllReduceAlgorithm::direct;
  // Ranks on several hosts, some sharing one: the traffic of a host's ranks stays on the host.
  if (bytes >= hierarchical_all_reduce_min_bytes && shape.hosts > 1 &&
      shape.most_ranks_on_one_host > 1 && can_run(AllReduceAlgorithm::hierarchical, shape))
    return AllReduceAlgorithm::hierarchical;
  if (can_run(AllReduceAlgorithm::halving_doubling, shape))
    return AllReduceAlgorithm::halving_doubling;
  if (can_run(AllReduceAlgorithm::ring, shape)) return AllReduceAlgorithm::ring;
  return AllReduceAlgorithm::recursive_doubling;  // one rank: nothing to exchange
}

void log_choice(const Log& log, const AllReduceShape& shape, AllReduceAlgorithm algorithm) {
  log.write(LogLevel::debug, "algorithms", "all-reduce of ", shape.count, " elements of ",
            shape.element_bytes, " bytes on ", shape.ranks, " ranks: ", name_of(algorithm));
}

}  // namespace hilo::detail
