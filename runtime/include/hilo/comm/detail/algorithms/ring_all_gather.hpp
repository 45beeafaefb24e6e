// Ring all-gather of values of one size (trivially copyable, not ranges): p-1 steps around the
// ring, each passing on the value received in the step before, straight into its place (the
// ring of all_gather_v, gather_v.hpp, with every count the same, so no count is exchanged).
// Every link carries (p-1) values, where gather then broadcast has the root receive p-1 values
// and send all p of them to each of its log2 p children.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hilo/comm/detail/codec.hpp"
#include "hilo/comm/detail/gather_v.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

template <class T>
std::vector<T> ring_all_gather(Transport& t, const T& value, Deadline deadline) {
  static_assert(encoding_of<T>() == Encoding::raw, "the ring all-gather needs values of one size");
  using E = typename raw_element<T>::type;
  std::vector<T> all(static_cast<std::size_t>(t.size()));
  const std::vector<std::uint64_t> counts(all.size(), raw_element<T>::count);
  ring_all_gather_v(t, reinterpret_cast<const std::byte*>(&value),
                    reinterpret_cast<std::byte*>(all.data()), counts.data(), data_type_of<E>(),
                    deadline);
  return all;
}

}  // namespace hilo::detail
