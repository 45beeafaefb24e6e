// The definitions of Communicator's nonblocking collectives (ibroadcast, iall_reduce,
// iall_gather, iall_to_all; ibarrier is in communicator.cpp), declared and documented in
// hilo/comm/communicator.hpp, which includes this file at its end. Each tries the backend's
// native form first (NativeCollectives: MPI_Ibcast, ...); otherwise the generic algorithm runs on
// the communicator's sequencer (collective_sequencer.hpp), in call order with every other
// collective.
#pragma once

#include <type_traits>
#include <utility>
#include <vector>

#include "hilo/comm/communicator.hpp"
#include "hilo/comm/detail/all_to_all.hpp"
#include "hilo/comm/detail/collective_sequencer.hpp"

namespace hilo {

template <class Work>
Request Communicator::start_collective(const char* op, Work work) {
  observe_call(op);
  Transport* channel = &this->channel();  // owned by transport_, which a move does not move
  const int me = rank();
  const std::optional<std::chrono::nanoseconds> limit = default_limit_;
  auto job = [channel, me, op, limit, work = std::move(work)]() mutable {
    const Deadline d = limit ? Deadline::after(*limit) : Deadline::never();
    try {
      work(*channel, d);
    } catch (...) {
      detail::rethrow_in_collective(op, me);
    }
  };
  std::string what = std::string(op) + " on rank " + std::to_string(me);
  return Request(sequencer().submit(std::move(what), std::move(job)), {}, default_limit_,
                 origin(op));
}

template <class T>
Request Communicator::ibroadcast(T& value, int root) {
  check_peer("ibroadcast", root, false, "root");
  if constexpr (detail::encoding_of<T>() == detail::Encoding::raw) {
    if (native_)
      if (auto op = native_->ibroadcast(&value, count_of<T>(), element_type_of<T>(), root))
        return Request(std::move(op), {}, default_limit_, origin("ibroadcast"));
  }
  return start_collective("ibroadcast", [&value, root](Transport& t, Deadline d) {
    detail::broadcast(t, value, root, d);
  });
}

template <class T, class Op>
Request Communicator::iall_reduce(const T& value, T& result, Op op) {
  if (&value == &result)
    throw std::invalid_argument("hilo: iall_reduce on rank " + std::to_string(rank()) +
                                ": value and result are the same object; pass another result");
  constexpr ReduceKind kind = reduce_kind<Op>::value;
  if constexpr (kind != ReduceKind::other && std::is_arithmetic_v<T>) {
    if (native_)
      if (auto native = native_->iall_reduce(&value, &result, 1, data_type_of<T>(), kind))
        return Request(std::move(native), {}, default_limit_, origin("iall_reduce"));
  } else if constexpr (kind != ReduceKind::other && detail::is_vector<T>::value &&
                       detail::encoding_of<T>() == detail::Encoding::contiguous) {
    using E = typename T::value_type;
    if constexpr (std::is_arithmetic_v<E>) {
      if (native_) {
        result.resize(value.size());
        if (auto native = native_->iall_reduce(value.data(), result.data(), value.size(),
                                               data_type_of<E>(), kind))
          return Request(std::move(native), {}, default_limit_, origin("iall_reduce"));
      }
    }
  }
  const detail::AllReduceAlgorithm algorithm = all_reduce_algorithm_;
  return start_collective("iall_reduce",
                          [&value, &result, op, algorithm](Transport& t, Deadline d) {
                            detail::all_reduce_into(t, value, result, op, d, algorithm);
                          });
}

template <class T>
Request Communicator::iall_gather(const T& value, std::vector<T>& result) {
  if constexpr (detail::encoding_of<T>() == detail::Encoding::raw) {
    if (native_) {
      result.resize(static_cast<std::size_t>(size()));
      if (auto op =
              native_->iall_gather(&value, result.data(), count_of<T>(), element_type_of<T>()))
        return Request(std::move(op), {}, default_limit_, origin("iall_gather"));
    }
  }
  const detail::AllGatherAlgorithm algorithm = all_gather_algorithm_;
  return start_collective("iall_gather", [&value, &result, algorithm](Transport& t, Deadline d) {
    result = detail::all_gather(t, value, d, algorithm);
  });
}

template <class T>
Request Communicator::iall_to_all(const std::vector<T>& values, std::vector<T>& result) {
  check_one_per_rank("iall_to_all", values.size());
  result.resize(values.size());
  if constexpr (detail::encoding_of<T>() == detail::Encoding::raw) {
    if (native_)
      if (auto op = native_->iall_to_all(values.data(), result.data(), count_of<T>(),
                                         element_type_of<T>()))
        return Request(std::move(op), {}, default_limit_, origin("iall_to_all"));
    const detail::AllToAllAlgorithm algorithm = all_to_all_algorithm_;
    return start_collective("iall_to_all", [&values, &result, algorithm](Transport& t, Deadline d) {
      detail::all_to_all_blocks(
          t,
          detail::BlocksBytes{reinterpret_cast<const std::byte*>(values.data()),
                              reinterpret_cast<std::byte*>(result.data()), count_of<T>(),
                              element_type_of<T>()},
          d, algorithm);
    });
  } else {
    return start_collective("iall_to_all", [&values, &result](Transport& t, Deadline d) {
      detail::pairwise_all_to_all_values(t, values, result, d);
    });
  }
}

}  // namespace hilo
