// The definitions of Communicator's basic collectives (broadcast, all_reduce, reduce, gather,
// all_gather, scatter), declared and documented in hilo/comm/communicator.hpp, which includes
// this file at its end. Each tries the backend's native form first (NativeCollectives: MPI's),
// then runs the generic algorithm on the communicator's collective channel. They are declared
// inline, as they were when defined inside the class: the small collectives' fast path stays a
// candidate for inlining into the caller.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "hilo/comm/communicator.hpp"

namespace hilo {

template <class T>
inline void Communicator::broadcast(T& value, int root, TimeLimit limit,
                                    std::source_location where) {
  check_peer("broadcast", root, false, "root");
  Deadline d = deadline(limit);
  collective({"broadcast", root, detail::PeerRole::root}, where, [&] {
    if (native_) {
      if (native_broadcast(*native_, value, root, d)) return;
    }
    detail::broadcast(channel(), value, root, d);
  });
}

template <class T, class Op>
inline T Communicator::all_reduce(const T& value, Op op, TimeLimit limit,
                                  std::source_location where) {
  T result{};
  all_reduce_into(value, result, op, limit, where);
  return result;
}

template <class T, class Op>
inline void Communicator::all_reduce_into(const T& value, T& result, Op op, TimeLimit limit,
                                          std::source_location where) {
  if (&value == &result)
    detail::throw_error<std::invalid_argument>(
        detail::OnRank{"all_reduce_into", rank()},
        "value and result are the same object; use all_reduce_in_place");
  Deadline d = deadline(limit);
  collective(
      {"all_reduce"}, where,
      [&] {
        if (native_)
          if (native_reduce(*native_, value, result, op, -1, d)) return;
        detail::all_reduce_into(channel(), value, result, op, d, all_reduce_algorithm_);
      },
      detail::shape_of(value));
}

template <class T, class Op>
inline void Communicator::all_reduce_in_place(T& value, Op op, TimeLimit limit,
                                              std::source_location where) {
  Deadline d = deadline(limit);
  collective(
      {"all_reduce"}, where,
      [&] {
        if (native_)
          if (native_reduce(*native_, value, value, op, -1, d)) return;
        detail::all_reduce_into(channel(), value, value, op, d, all_reduce_algorithm_);
      },
      detail::shape_of(value));
}

template <class T, class Op>
inline std::optional<T> Communicator::reduce(const T& value, Op op, int root, TimeLimit limit,
                                             std::source_location where) {
  check_peer("reduce", root, false, "root");
  Deadline d = deadline(limit);
  return collective(
      {"reduce", root, detail::PeerRole::root}, where,
      [&]() -> std::optional<T> {
        if (native_) {
          T result = value;
          if (native_reduce(*native_, value, result, op, root, d))
            return rank() == root ? std::optional<T>(std::move(result)) : std::nullopt;
        }
        return detail::reduce(channel(), value, op, root, d, reduce_algorithm_);
      },
      detail::shape_of(value));
}

template <class T>
inline std::vector<T> Communicator::gather(const T& value, int root, TimeLimit limit,
                                           std::source_location where) {
  check_peer("gather", root, false, "root");
  Deadline d = deadline(limit);
  return collective({"gather", root, detail::PeerRole::root}, where, [&] {
    if constexpr (detail::encoding_of<T>() == detail::Encoding::raw) {
      if (native_) {
        std::vector<T> all(rank() == root ? size() : 0);
        if (native_->gather(&value, all.data(), count_of<T>(), element_type_of<T>(), root, d))
          return all;
      }
    }
    return detail::gather(channel(), value, root, d);
  });
}

template <class T>
inline std::vector<T> Communicator::all_gather(const T& value, TimeLimit limit,
                                               std::source_location where) {
  Deadline d = deadline(limit);
  return collective({"all_gather"}, where, [&] {
    if constexpr (detail::encoding_of<T>() == detail::Encoding::raw) {
      if (native_) {
        std::vector<T> all(size());
        if (native_->gather(&value, all.data(), count_of<T>(), element_type_of<T>(), -1, d))
          return all;
      }
    }
    return detail::all_gather(channel(), value, d, all_gather_algorithm_);
  });
}

template <class T>
inline T Communicator::scatter(const std::vector<T>& values, int root, TimeLimit limit,
                               std::source_location where) {
  check_peer("scatter", root, false, "root");
  if (rank() == root && values.size() != static_cast<std::size_t>(size()))
    detail::throw_error<std::invalid_argument>(detail::OnRank{"scatter", rank()}, "got ",
                                               values.size(), " values for ", size(),
                                               " ranks; pass exactly one value per rank");
  Deadline d = deadline(limit);
  return collective({"scatter", root, detail::PeerRole::root}, where, [&] {
    if constexpr (detail::encoding_of<T>() == detail::Encoding::raw) {
      if (native_) {
        T mine{};
        if (native_->scatter(values.data(), &mine, count_of<T>(), element_type_of<T>(), root, d))
          return mine;
      }
    }
    return detail::scatter(channel(), values, root, d);
  });
}

}  // namespace hilo
