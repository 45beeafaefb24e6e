// Little-endian integers in the tcp backend's wire formats (frames, single-copy control
// payloads), written and read byte by byte so the format does not depend on the host.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hilo::tcp {

template <class T>
void put_le(std::byte* at, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    at[i] = static_cast<std::byte>(static_cast<std::uint64_t>(value) >> (8 * i));
}

template <class T>
T get_le(const std::byte* at) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<std::uint64_t>(at[i]) << (8 * i);
  return static_cast<T>(value);
}

}  // namespace hilo::tcp
