// The definitions of Communicator's mappings of values to the backend's native collectives
// (NativeCollectives: MPI's), declared in hilo/comm/communicator.hpp, which includes this file at
// its end. Each returns false when the value type or the operation has no native form, and the
// collective then runs the generic algorithm.
#pragma once

#include <cstdint>
#include <type_traits>

#include "hilo/comm/communicator.hpp"

namespace hilo {

template <class T>
bool Communicator::native_broadcast(NativeCollectives& native, T& value, int root, Deadline d) {
  using detail::Encoding;
  if constexpr (detail::encoding_of<T>() == Encoding::raw) {
    return native.broadcast(&value, count_of<T>(), element_type_of<T>(), root, d);
  } else {
    // Sizes differ between ranks for vectors and archives: broadcast the size, then the bytes.
    ByteBuffer archive;
    std::uint64_t bytes = 0;
    if (rank() == root) {
      if constexpr (detail::encoding_of<T>() == Encoding::serialized)
        archive = detail::serialize(value);
      bytes = detail::encoding_of<T>() == Encoding::serialized ? archive.size()
                                                               : detail::encode(value).bytes;
    }
    if (!native.broadcast(&bytes, 1, data_type_of<std::uint64_t>(), root, d)) return false;
    if constexpr (detail::encoding_of<T>() == Encoding::contiguous) {
      using E = typename detail::contiguous<T>::element;
      if (rank() != root) value.resize(bytes / sizeof(E));
      return native.broadcast(value.data(), value.size(), data_type_of<E>(), root, d);
    } else {
      archive.resize(bytes);  // no zero-fill: the broadcast overwrites it
      if (!native.broadcast(archive.data(), archive.size(), data_type_of<std::byte>(), root, d))
        return false;
      if (rank() != root) detail::deserialize(archive, value, root, detail::tags::broadcast);
      return true;
    }
  }
}

template <class T, class Op>
bool Communicator::native_reduce(NativeCollectives& native, const T& in, T& out, Op&, int root,
                                 Deadline d) {
  constexpr ReduceKind kind = reduce_kind<Op>::value;
  if constexpr (kind == ReduceKind::other) {
    return false;
  } else if constexpr (detail::encoding_of<T>() == detail::Encoding::raw) {
    using E = typename detail::raw_element<T>::type;
    if constexpr (std::is_arithmetic_v<E>)
      return native.reduce(&in, &out, count_of<T>(), data_type_of<E>(), kind, root, d);
    else
      return false;
  } else if constexpr (detail::is_vector<T>::value &&
                       detail::encoding_of<T>() == detail::Encoding::contiguous) {
    using E = typename T::value_type;
    if constexpr (std::is_arithmetic_v<E>) {
      out.resize(in.size());  // MPI writes into it; the generic path sizes `out` itself
      return native.reduce(in.data(), out.data(), in.size(), data_type_of<E>(), kind, root, d);
    } else {
      return false;
    }
  } else {
    return false;
  }
}

}  // namespace hilo
