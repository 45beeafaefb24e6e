// The definitions of Communicator's nonblocking point-to-point calls (isend, irecv), declared
// and documented in hilo/comm/communicator.hpp, which includes this file at its end.
#pragma once

#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "hilo/comm/communicator.hpp"

namespace hilo {

template <class T>
Request Communicator::isend(int dest, int tag, T&& value) {
  using Value = std::remove_cvref_t<T>;
  check_peer("isend", dest, false);
  check_tag("isend", tag, false);
  observe_call("isend");
  if constexpr (detail::is_span<Value>::value) {
    // Nothing to own: a shared copy of the view would only add an allocation and a free per
    // message, which costs a window of small isends a large share of raw MPI's rate.
    detail::OutgoingBytes out = detail::encode(value);
    auto op = transport_->isend(dest, tag, nullptr, out.data, out.bytes, out.type);
    return Request(std::move(op), {}, default_limit_,
                   origin("isend", dest, detail::PeerRole::dest, tag));
  } else if constexpr (detail::encoding_of<Value>() == detail::Encoding::serialized) {
    auto bytes = std::make_shared<ByteBuffer>(detail::serialize(value));
    auto op = transport_->isend(dest, tag, bytes, bytes->data(), bytes->size(), serialized_type);
    return Request(std::move(op), {}, default_limit_,
                   origin("isend", dest, detail::PeerRole::dest, tag));
  } else {
    auto owned = std::make_shared<Value>(std::forward<T>(value));
    detail::OutgoingBytes out = detail::encode(*owned);
    auto op = transport_->isend(dest, tag, owned, out.data, out.bytes, out.type);
    return Request(std::move(op), {}, default_limit_,
                   origin("isend", dest, detail::PeerRole::dest, tag));
  }
}

template <class T>
Request Communicator::irecv(int source, int tag, T& out) {
  check_peer("irecv", source, true);
  check_tag("irecv", tag, true);
  observe_call("irecv");
  if constexpr (detail::encoding_of<T>() == detail::Encoding::serialized) {
    auto staging = std::make_shared<ByteBuffer>();
    auto op = transport_->irecv(source, tag, detail::sink_for(out, staging.get()));
    auto* target = &out;
    auto decode = [staging, target, source, tag] {
      detail::deserialize(*staging, *target, source, tag);
    };
    return Request(std::move(op), decode, default_limit_,
                   origin("irecv", source, detail::PeerRole::source, tag));
  } else {
    return Request(transport_->irecv(source, tag, detail::sink_for(out, nullptr)), {},
                   default_limit_, origin("irecv", source, detail::PeerRole::source, tag));
  }
}

template <class E, std::size_t N>
Request Communicator::irecv(int source, int tag, std::span<E, N> out) {
  check_peer("irecv", source, true);
  check_tag("irecv", tag, true);
  observe_call("irecv");
  return Request(transport_->irecv(source, tag, detail::sink_for(out, nullptr)), {}, default_limit_,
                 origin("irecv", source, detail::PeerRole::source, tag));
}

}  // namespace hilo
