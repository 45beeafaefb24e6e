/// \file
/// Reduction operations. Any function object works with reduce/all_reduce; these, and the
/// standard ones (std::plus, std::multiplies, std::logical_and, std::bit_or, ...), are
/// recognised so the MPI backend can use the native MPI_Op.
#pragma once

#include <algorithm>
#include <functional>
#include <type_traits>

#include "hilo/comm/detail/transport.hpp"

namespace hilo {

/// The smaller of two values (MPI_MIN): std:: has no function object for min.
/// `hilo::minimum<>{}` deduces the type.
template <class T = void>
struct minimum {
  /// std::min(a, b).
  constexpr T operator()(const T& a, const T& b) const { return std::min(a, b); }
};
/// hilo::minimum for any type, deduced at the call.
template <>
struct minimum<void> {
  /// std::min(a, b).
  template <class T>
  constexpr T operator()(const T& a, const T& b) const {
    return std::min(a, b);
  }
};
/// The larger of two values (MPI_MAX): std:: has no function object for max.
/// `hilo::maximum<>{}` deduces the type.
template <class T = void>
struct maximum {
  /// std::max(a, b).
  constexpr T operator()(const T& a, const T& b) const { return std::max(a, b); }
};
/// hilo::maximum for any type, deduced at the call.
template <>
struct maximum<void> {
  /// std::max(a, b).
  template <class T>
  constexpr T operator()(const T& a, const T& b) const {
    return std::max(a, b);
  }
};

/// reduce_kind<Op>::value: which native operation Op is, or ReduceKind::other. Specialised for
/// std::plus, std::multiplies, hilo::minimum, hilo::maximum, std::logical_and, std::logical_or,
/// std::bit_and, std::bit_or and std::bit_xor.
template <class Op>
struct reduce_kind : std::integral_constant<ReduceKind, ReduceKind::other> {};
/// Maps F<T> to ReduceKind::K in reduce_kind; undefined again after its uses below.
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
