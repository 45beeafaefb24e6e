// The generic collective algorithms, written once over any backend's point-to-point, and which
// one each collective runs: the one include that pulls them all in. They run on a communicator's
// collective channel, so their messages never meet user traffic. Every rank calls the same
// collectives in the same order (as in MPI); per-pair ordering then keeps each algorithm's
// messages apart without per-call tags.
//
// Each algorithm is in a file of its own under algorithms/ (templates over the value type) or
// runtime/src/comm/algorithms/ (compiled, over bytes), named for it. The collectives with one
// algorithm call it here; the reduce, the all-gather and the all-reduce choose among theirs in
// choose_reduce (reduce.hpp), choose_all_gather (all_gather.hpp) and choose_all_reduce
// (all_reduce.hpp), and run the choice here.
//
// Reductions assume the operation is associative and commutative, as MPI's built-in ones are.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "hilo/comm/detail/algorithms/binomial_broadcast.hpp"
#include "hilo/comm/detail/algorithms/binomial_reduce.hpp"
#include "hilo/comm/detail/algorithms/combine_values.hpp"
#include "hilo/comm/detail/algorithms/dissemination_barrier.hpp"
#include "hilo/comm/detail/algorithms/gather_broadcast_all_gather.hpp"
#include "hilo/comm/detail/algorithms/linear_gather.hpp"
#include "hilo/comm/detail/algorithms/linear_scatter.hpp"
#include "hilo/comm/detail/algorithms/recursive_doubling_all_reduce.hpp"
#include "hilo/comm/detail/algorithms/ring_all_gather.hpp"
#include "hilo/comm/detail/algorithms/tags.hpp"
#include "hilo/comm/detail/all_gather.hpp"
#include "hilo/comm/detail/all_reduce.hpp"
#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/combine.hpp"
#include "hilo/comm/detail/pipeline_options.hpp"
#include "hilo/comm/detail/reduce.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

inline void barrier(Transport& t, Deadline deadline) {
  dissemination_barrier(t, deadline);
}

// A non-root rank learns the size from the message, so no rank could choose by it.
template <class T>
void broadcast(Transport& t, T& value, int root, Deadline deadline) {
  binomial_broadcast(t, value, root, deadline);
}

// The result on root only, by the algorithm choose_reduce picks (reduce.hpp), `requested` where it
// can run.
template <class T, class Op>
std::optional<T> reduce(Transport& t, const T& value, Op op, int root, Deadline deadline,
                        ReduceAlgorithm requested = ReduceAlgorithm::automatic) {
  if constexpr (is_vector<T>::value && encoding_of<T>() == Encoding::contiguous) {
    using E = typename T::value_type;
    const ReduceShape shape{true, value.size(), sizeof(E), t.size()};
    const ReduceAlgorithm algorithm = choose_reduce(shape, requested);
    if (t.log().enabled(LogLevel::debug))
      t.log().write(LogLevel::debug, "algorithms", "reduce of ", value.size(), " elements of ",
                    sizeof(E), " bytes on ", t.size(), " ranks: ", name_of(algorithm));
    if (algorithm == ReduceAlgorithm::reduce_scatter_gather) {
      T out(value.size());  // the result on root, scratch elsewhere
      const VectorBytes v{reinterpret_cast<const std::byte*>(value.data()),
                          reinterpret_cast<std::byte*>(out.data()), value.size(),
                          data_type_of<E>()};
      reduce_scatter_gather_reduce(t, v, root, combiner_for<E>(op), pipeline_options_for(t),
                                   deadline);
      if (t.rank() != root) return std::nullopt;
      return out;
    }
  }
  return binomial_reduce(t, value, op, root, deadline);
}

template <class T>
std::vector<T> gather(Transport& t, const T& value, int root, Deadline deadline) {
  return linear_gather(t, value, root, deadline);
}

// By the algorithm choose_all_gather picks (all_gather.hpp), `requested` where it can run.
template <class T>
std::vector<T> all_gather(Transport& t, const T& value, Deadline deadline,
                          AllGatherAlgorithm requested = AllGatherAlgorithm::automatic) {
  if constexpr (encoding_of<T>() == Encoding::raw) {
    const AllGatherAlgorithm algorithm =
        choose_all_gather(AllGatherShape{true, t.size()}, requested);
    if (t.log().enabled(LogLevel::debug))
      t.log().write(LogLevel::debug, "algorithms", "all-gather of ", sizeof(T),
                    " bytes per rank on ", t.size(), " ranks: ", name_of(algorithm));
    if (algorithm == AllGatherAlgorithm::ring) return ring_all_gather(t, value, deadline);
  }
  return gather_broadcast_all_gather(t, value, deadline);
}

template <class T>
T scatter(Transport& t, const std::vector<T>& values, int root, Deadline deadline) {
  return linear_scatter(t, values, root, deadline);
}

// The all-reduce of `value` into `out` (which may be `value` itself, for in place), by the
// algorithm choose_all_reduce picks for it (all_reduce.hpp), `requested` where it can run; the
// pipelined ones with the segment size pipeline_options_for gives this transport.
template <class T, class Op>
void all_reduce_into(Transport& t, const T& value, T& out, Op op, Deadline deadline,
                     AllReduceAlgorithm requested = AllReduceAlgorithm::automatic) {
  if constexpr (is_vector<T>::value && encoding_of<T>() == Encoding::contiguous) {
    using E = typename T::value_type;
    PeerMemory* memory = t.peer_memory();
    const std::span<const int> host_map = t.host_map();
    AllReduceShape shape{true, value.size(), sizeof(E), t.size(), memory != nullptr};
    // Counting the hosts costs allocations, which small all-reduces need not pay: below the
    // threshold only a named hierarchical all-reduce looks at them (the length, and so this
    // test, is the same on every rank).
    if (requested == AllReduceAlgorithm::hierarchical ||
        value.size() * sizeof(E) >= hierarchical_all_reduce_min_bytes)
      count_hosts(host_map, shape);
    AllReduceAlgorithm algorithm = choose_all_reduce(shape, requested);
    if (t.log().enabled(LogLevel::debug)) log_choice(t.log(), shape, algorithm);
    if (algorithm != AllReduceAlgorithm::recursive_doubling) {
      if (&out != &value) out.resize(value.size());
      const Combiner combine = combiner_for<E>(op);
      const VectorBytes v{reinterpret_cast<const std::byte*>(value.data()),
                          reinterpret_cast<std::byte*>(out.data()), value.size(),
                          data_type_of<E>()};
      if (algorithm == AllReduceAlgorithm::direct) {
        if (direct_all_reduce(t, *memory, v, combine, deadline)) return;
        // Some rank cannot reach another's memory: every rank saw it, and all choose again.
        shape.peer_memory = false;
        algorithm = choose_all_reduce(shape, requested);
        if (t.log().enabled(LogLevel::debug)) log_choice(t.log(), shape, algorithm);
      }
      switch (algorithm) {
        case AllReduceAlgorithm::ring:
          ring_all_reduce(t, v, combine, pipeline_options_for(t), deadline);
          return;
        case AllReduceAlgorithm::halving_doubling:
          halving_doubling_all_reduce(t, v, combine, pipeline_options_for(t), deadline);
          return;
        case AllReduceAlgorithm::hierarchical:
          hierarchical_all_reduce(t, host_map, v, combine, pipeline_options_for(t), deadline);
          return;
        default:
          break;  // recursive doubling, below
      }
    }
  }
  if (&out != &value) out = value;  // a copy assignment keeps out's storage
  recursive_doubling_all_reduce(t, out, op, deadline);
}

}  // namespace hilo::detail
