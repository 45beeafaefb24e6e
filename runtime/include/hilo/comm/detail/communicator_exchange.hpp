// The definitions of Communicator's exchange and prefix collectives (sendrecv, all_to_all(_into),
// all_to_all_v, all_gather_v, gather_v, scan(_into), exscan(_into), reduce_scatter), declared and
// documented in hilo/comm/communicator.hpp, which includes this file at its end. Each tries the
// backend's native form first (NativeCollectives: MPI's), then runs the generic algorithm on the
// communicator's collective channel.
#pragma once

#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "hilo/comm/communicator.hpp"
#include "hilo/comm/detail/all_to_all.hpp"
#include "hilo/comm/detail/gather_v.hpp"
#include "hilo/comm/detail/reduce_scatter.hpp"
#include "hilo/comm/detail/scan.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo {

template <class S, class R>
R Communicator::sendrecv(int dest, int send_tag, const S& value, int source, int recv_tag,
                         TimeLimit limit, std::source_location where) {
  check_peer("sendrecv", dest, false);
  check_tag("sendrecv", send_tag, false);
  check_peer("sendrecv", source, true);
  check_tag("sendrecv", recv_tag, true);
  R result{};
  const Deadline d = deadline(limit);
  detail::OutgoingBytes out = detail::encode(value);
  // Recorded as waiting for `source`: the receive is what another rank's call must match.
  blocking({"sendrecv", source, detail::PeerRole::source, recv_tag}, where, [&] {
    if constexpr (detail::encoding_of<R>() == detail::Encoding::serialized) {
      BorrowedBuffer staging(transport_->byte_buffers());
      Status status = transport_->sendrecv(dest, send_tag, out.data, out.bytes, out.type, source,
                                           recv_tag, detail::sink_for(result, &*staging), d);
      detail::deserialize(*staging, result, status.source, status.tag);
    } else {
      transport_->sendrecv(dest, send_tag, out.data, out.bytes, out.type, source, recv_tag,
                           detail::sink_for(result, nullptr), d);
    }
  });
  return result;
}

inline void Communicator::check_one_per_rank(const char* op, std::size_t values) const {
  if (values == static_cast<std::size_t>(size_)) [[likely]]
    return;
  throw_not_one_per_rank(op, values);
}

template <class T>
std::vector<T> Communicator::all_to_all(const std::vector<T>& values, TimeLimit limit,
                                        std::source_location where) {
  // A new vector's elements are value-initialised (a trivially copyable block is zero-filled)
  // before the exchange overwrites them: std::vector offers no uninitialised growth. That fill
  // is what this form costs over all_to_all_into with a kept result.
  check_one_per_rank("all_to_all", values.size());
  std::vector<T> result;
  all_to_all_into(values, result, limit, where);
  return result;
}

template <class T>
void Communicator::all_to_all_into(const std::vector<T>& values, std::vector<T>& result,
                                   TimeLimit limit, std::source_location where) {
  check_one_per_rank("all_to_all_into", values.size());
  // The algorithms read values[j] after writing result[i] for some i != j.
  if (&values == &result)
    detail::throw_error<std::invalid_argument>(detail::OnRank{"all_to_all_into", rank()},
                                               "values and result are the same vector");
  const Deadline d = deadline(limit);
  // At the same size resize() does nothing: the kept storage is written over.
  result.resize(values.size());
  collective({"all_to_all"}, where, [&] {
    if constexpr (detail::encoding_of<T>() == detail::Encoding::raw) {
      if (native_ &&
          native_->all_to_all(values.data(), result.data(), count_of<T>(), element_type_of<T>(), d))
        return;
      detail::all_to_all_blocks(
          channel(),
          detail::BlocksBytes{reinterpret_cast<const std::byte*>(values.data()),
                              reinterpret_cast<std::byte*>(result.data()), count_of<T>(),
                              element_type_of<T>()},
          d, all_to_all_algorithm_);
    } else {
      detail::pairwise_all_to_all_values(channel(), values, result, d);
    }
  });
}

template <class E>
void Communicator::all_to_all_v(std::span<const E> send, std::span<const int> send_counts,
                                std::span<E> recv, std::span<const int> recv_counts,
                                TimeLimit limit, std::source_location where) {
  static_assert(detail::is_raw_v<E>,
                "all_to_all_v moves trivially copyable elements; for other types use all_to_all "
                "of vectors");
  check_counts(send_counts, send.size(), "send_counts", "send");
  check_counts(recv_counts, recv.size(), "recv_counts", "recv");
  const Deadline d = deadline(limit);
  collective({"all_to_all_v"}, where, [&] {
    std::vector<int> send_displs(send_counts.size()), recv_displs(recv_counts.size());
    std::exclusive_scan(send_counts.begin(), send_counts.end(), send_displs.begin(), 0);
    std::exclusive_scan(recv_counts.begin(), recv_counts.end(), recv_displs.begin(), 0);
    constexpr DataType type = data_type_of<E>();
    if (native_ &&
        native_->all_to_all_v(send.data(), send_counts.data(), send_displs.data(), recv.data(),
                              recv_counts.data(), recv_displs.data(), type, d))
      return;
    detail::pairwise_all_to_all_v(channel(), reinterpret_cast<const std::byte*>(send.data()),
                                  send_counts.data(), send_displs.data(),
                                  reinterpret_cast<std::byte*>(recv.data()), recv_counts.data(),
                                  recv_displs.data(), type, d);
  });
}

template <class E>
void Communicator::all_to_all_v(const std::vector<E>& send, const std::vector<int>& send_counts,
                                std::vector<E>& recv, const std::vector<int>& recv_counts,
                                TimeLimit limit, std::source_location where) {
  all_to_all_v(std::span<const E>(send), std::span<const int>(send_counts), std::span<E>(recv),
               std::span<const int>(recv_counts), limit, where);
}

template <class E>
std::vector<E> Communicator::all_gather_v(const std::vector<E>& mine, TimeLimit limit,
                                          std::source_location where) {
  return all_gather_v(std::span<const E>(mine), limit, where);
}

template <class E>
std::vector<E> Communicator::gather_v(const std::vector<E>& mine, int root, TimeLimit limit,
                                      std::source_location where) {
  return gather_v(std::span<const E>(mine), root, limit, where);
}

template <class E>
std::vector<E> Communicator::all_gather_v(std::span<const E> mine, TimeLimit limit,
                                          std::source_location where) {
  static_assert(detail::is_raw_v<E>,
                "all_gather_v moves trivially copyable elements; for other types use all_gather");
  const Deadline d = deadline(limit);
  return collective({"all_gather_v"}, where, [&] {
    const std::uint64_t count = mine.size();
    std::vector<std::uint64_t> counts(static_cast<std::size_t>(size()));
    if (!native_ ||
        !native_->gather(&count, counts.data(), 1, data_type_of<std::uint64_t>(), -1, d))
      counts = detail::all_gather(channel(), count, d);
    const std::uint64_t total = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
    std::vector<E> all(total);
    if (native_ && total <= static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
      std::vector<int> recv_counts(counts.begin(), counts.end()), displs(counts.size());
      std::exclusive_scan(recv_counts.begin(), recv_counts.end(), displs.begin(), 0);
      if (native_->gather_v(mine.data(), mine.size(), all.data(), recv_counts.data(), displs.data(),
                            data_type_of<E>(), -1, d))
        return all;
    }
    detail::ring_all_gather_v(channel(), reinterpret_cast<const std::byte*>(mine.data()),
                              reinterpret_cast<std::byte*>(all.data()), counts.data(),
                              data_type_of<E>(), d);
    return all;
  });
}

template <class E>
std::vector<E> Communicator::gather_v(std::span<const E> mine, int root, TimeLimit limit,
                                      std::source_location where) {
  static_assert(detail::is_raw_v<E>,
                "gather_v moves trivially copyable elements; for other types use gather");
  check_peer("gather_v", root, false, "root");
  const Deadline d = deadline(limit);
  return collective({"gather_v", root, detail::PeerRole::root}, where, [&]() -> std::vector<E> {
    if (native_) {
      const std::uint64_t count = mine.size();
      std::vector<std::uint64_t> counts(rank() == root ? size() : 0);
      if (native_->gather(&count, counts.data(), 1, data_type_of<std::uint64_t>(), root, d)) {
        std::vector<int> recv_counts(counts.begin(), counts.end()), displs(counts.size());
        std::exclusive_scan(recv_counts.begin(), recv_counts.end(), displs.begin(), 0);
        const std::uint64_t total = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
        std::vector<E> all(total);
        if (native_->gather_v(mine.data(), mine.size(), all.data(), recv_counts.data(),
                              displs.data(), data_type_of<E>(), root, d))
          return all;
      }
    }
    return detail::linear_gather_v(channel(), mine, root, d);
  });
}

namespace detail {

// MPI_Scan or MPI_Exscan into `out` where the value and the operation have a native form; false
// otherwise (the generic algorithm then runs). `out` is sized to `in` first, except where an
// exclusive scan leaves it untouched (rank 0, `written` false): at the same size a kept vector's
// storage is reused, and MPI writes every element, so nothing is copied into it.
template <class T, class Op>
bool native_scan(NativeCollectives& native, const T& in, T& out, bool exclusive, bool written,
                 Deadline d) {
  constexpr ReduceKind kind = reduce_kind<Op>::value;
  if constexpr (kind == ReduceKind::other) {
    return false;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return native.scan(&in, &out, 1, data_type_of<T>(), kind, exclusive, d);
  } else if constexpr (is_vector<T>::value && encoding_of<T>() == Encoding::contiguous) {
    using E = typename T::value_type;
    if constexpr (std::is_arithmetic_v<E>) {
      if (written) out.resize(in.size());
      return native.scan(in.data(), out.data(), in.size(), data_type_of<E>(), kind, exclusive, d);
    } else {
      return false;
    }
  } else {
    return false;
  }
}

}  // namespace detail

template <class T, class Op>
T Communicator::scan(const T& value, Op op, TimeLimit limit, std::source_location where) {
  T result{};
  scan_into(value, result, op, limit, where);
  return result;
}

template <class T, class Op>
void Communicator::scan_into(const T& value, T& result, Op op, TimeLimit limit,
                             std::source_location where) {
  // MPI forbids aliased buffers, and the generic algorithm reads `value` after writing `result`.
  if (&value == &result)
    detail::throw_error<std::invalid_argument>(detail::OnRank{"scan_into", rank()},
                                               "value and result are the same object");
  const Deadline d = deadline(limit);
  // Named "scan" as the returning form: both are the same collective (HILO_CHECK compares them).
  collective(
      {"scan"}, where,
      [&] {
        if (native_ && detail::native_scan<T, Op>(*native_, value, result, false, true, d)) return;
        detail::scan(channel(), value, result, op, false, d, scan_algorithm_);
      },
      detail::shape_of(value));
}

template <class T, class Op>
std::optional<T> Communicator::exscan(const T& value, Op op, TimeLimit limit,
                                      std::source_location where) {
  T result{};
  if (!exscan_into(value, result, op, limit, where)) return std::nullopt;
  return std::optional<T>(std::move(result));
}

template <class T, class Op>
bool Communicator::exscan_into(const T& value, T& result, Op op, TimeLimit limit,
                               std::source_location where) {
  if (&value == &result)
    detail::throw_error<std::invalid_argument>(detail::OnRank{"exscan_into", rank()},
                                               "value and result are the same object");
  const Deadline d = deadline(limit);
  const bool written = rank() != 0;  // MPI_Exscan's rank 0 gets nothing (transport.hpp)
  collective(
      {"exscan"}, where,
      [&] {
        if (native_ && detail::native_scan<T, Op>(*native_, value, result, true, written, d))
          return;
        detail::scan(channel(), value, result, op, true, d, scan_algorithm_);
      },
      detail::shape_of(value));
  return written;
}

template <class T, class Op>
T Communicator::reduce_scatter(const std::vector<T>& values, Op op, TimeLimit limit,
                               std::source_location where) {
  check_one_per_rank("reduce_scatter", values.size());
  const Deadline d = deadline(limit);
  return collective({"reduce_scatter"}, where, [&] {
    if constexpr (std::is_arithmetic_v<T>) {
      T result{};
      constexpr ReduceKind kind = reduce_kind<Op>::value;
      if constexpr (kind != ReduceKind::other)
        if (native_ &&
            native_->reduce_scatter(values.data(), &result, 1, data_type_of<T>(), kind, d))
          return result;
      detail::ring_reduce_scatter(channel(), reinterpret_cast<const std::byte*>(values.data()),
                                  reinterpret_cast<std::byte*>(&result), 1, data_type_of<T>(),
                                  detail::combiner_for<T>(op),
                                  detail::pipeline_options_for(channel()), d);
      return result;
    } else {
      return detail::pairwise_reduce_scatter(channel(), values, op, d);
    }
  });
}

}  // namespace hilo
