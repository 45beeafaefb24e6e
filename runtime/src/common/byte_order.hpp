// Integers in a fixed byte order, so a wire format does not depend on the host. Every wire format
// of hilo encodes its integers here: the tcp backend's frames, single-copy payloads and handshake
// (little-endian, the order of the hosts it runs on, so encoding is a plain copy there) and the
// launch layer's rendezvous and rank reports (big-endian, network order; launch/wire.hpp builds
// those messages on top of this). The order is a parameter rather than two copies of the code.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace hilo::common {

// Stores `value` at `at` (sizeof(T) bytes) in byte order `order`. When `order` is the host's, the
// bytes are the value's own, copied as one store (written byte by byte, GCC left dozens of shifts
// and stores per tcp frame header, on every message); otherwise they are placed a byte at a time.
template <std::endian order, class T>
void put_int(std::byte* at, T value) {
  static_assert(std::is_integral_v<T>);
  static_assert(order == std::endian::little || order == std::endian::big);
  if constexpr (std::endian::native == order) {
    std::memcpy(at, &value, sizeof(T));
  } else {
    const auto bits = static_cast<std::uint64_t>(static_cast<std::make_unsigned_t<T>>(value));
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      const std::size_t position = order == std::endian::little ? i : sizeof(T) - 1 - i;
      at[position] = static_cast<std::byte>(bits >> (8 * i));
    }
  }
}

// Reads a T stored by put_int<order> at `at`.
template <std::endian order, class T>
T get_int(const std::byte* at) {
  static_assert(std::is_integral_v<T>);
  static_assert(order == std::endian::little || order == std::endian::big);
  if constexpr (std::endian::native == order) {
    T value;
    std::memcpy(&value, at, sizeof(T));
    return value;
  } else {
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      const std::size_t position = order == std::endian::little ? i : sizeof(T) - 1 - i;
      bits |= static_cast<std::uint64_t>(at[position]) << (8 * i);
    }
    return static_cast<T>(bits);
  }
}

// Appends `value` to a message being built in a std::string.
template <std::endian order, class T>
void append_int(std::string& out, T value) {
  std::byte field[sizeof(T)];
  put_int<order>(field, value);
  out.append(reinterpret_cast<const char*>(field), sizeof field);
}

// Reads a T appended by append_int<order> from a received message.
template <std::endian order, class T>
T read_int(const char* at) {
  return get_int<order, T>(reinterpret_cast<const std::byte*>(at));
}

// The tcp backend's order.
template <class T>
void put_le(std::byte* at, T value) {
  put_int<std::endian::little>(at, value);
}
template <class T>
T get_le(const std::byte* at) {
  return get_int<std::endian::little, T>(at);
}

}  // namespace hilo::common
