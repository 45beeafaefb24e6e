// Little-endian integers in the tcp backend's wire formats (frames, single-copy control
// payloads), so the format does not depend on the host.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace hilo::common {

// On a little-endian host the bytes are the value's own, copied as one load or store (written
// byte by byte, GCC left ~65 shifts and stores per frame header, on every message); elsewhere
// they are assembled a byte at a time.
template <class T>
void put_le(std::byte* at, T value) {
  static_assert(std::is_integral_v<T>);
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(at, &value, sizeof(T));
  } else {
    for (std::size_t i = 0; i < sizeof(T); ++i)
      at[i] = static_cast<std::byte>(static_cast<std::uint64_t>(value) >> (8 * i));
  }
}

template <class T>
T get_le(const std::byte* at) {
  static_assert(std::is_integral_v<T>);
  if constexpr (std::endian::native == std::endian::little) {
    T value;
    std::memcpy(&value, at, sizeof(T));
    return value;
  } else {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      value |= static_cast<std::uint64_t>(at[i]) << (8 * i);
    return static_cast<T>(value);
  }
}

}  // namespace hilo::common
