// Reduction operations. Any function object works with reduce/all_reduce; these, and the
// standard ones (std::plus, std::multiplies, std::logical_and, std::bit_or, ...), are
// recognised so the MPI backend can use the native MPI_Op.
#pragma once

#include <algorithm>
#include <functional>
#include <type_traits>

#include "hilo/comm/transport.hpp"

namespace hilo {

// std:: has no function objects for min and max; these fill that gap.
template <class T = void>
struct minimum {
  constexpr T operator()(const T& a, const T& b) const { return std::min(a, b); }
};
template <>
struct minimum<void> {
  template <class T>
  constexpr T operator()(const T& a, const T& b) const {
    return std::min(a, b);
  }
};
template <class T = void>
struct maximum {
  constexpr T operator()(const T& a, const T& b) const { return std::max(a, b); }
};
template <>
struct maximum<void> {
  template <class T>
  constexpr T operator()(const T& a, const T& b) const {
    return std::max(a, b);
  }
};

// reduce_kind<Op>: which native operation Op is, or ReduceKind::other.
template <class Op>
struct reduce_kind : std::integral_constant<ReduceKind, ReduceKind::other> {};
#define HILO_REDUCE_KIND(F, K) \
  template <class T>           \
  struct reduce_kind<F<T>> : std::integral_constant<ReduceKind, ReduceKind::K> {};
HILO_REDUCE_KIND(std::plus, sum)
HILO_REDUCE_KIND(std::multiplies, product)
HILO_REDUCE_KIND(minimum, min)
HILO_REDUCE_KIND(maximum, max)
HILO_REDUCE_KIND(std::logical_and, logical_and)
HILO_REDUCE_KIND(std::logical_or, logical_or)
HILO_REDUCE_KIND(std::bit_and, bit_and)
HILO_REDUCE_KIND(std::bit_or, bit_or)
HILO_REDUCE_KIND(std::bit_xor, bit_xor)
#undef HILO_REDUCE_KIND

}  // namespace hilo
