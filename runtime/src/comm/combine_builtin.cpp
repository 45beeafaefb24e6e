// The combining loops of the built-in reductions, compiled here so that they run optimised and
// vectorised even in a program built without optimisation (see hilo/comm/detail/combine.hpp).
// Each loop applies the very function object the user named (std::plus<>, hilo::minimum<>, ...),
// so the result is the one the user's own loop would compute, element for element.
#include <cstdint>
#include <functional>
#include <type_traits>

#include "hilo/comm/detail/combine.hpp"

namespace hilo::detail {
namespace {

// The type an element is computed in. An unsigned type narrower than int would be promoted to
// (signed) int, where 65535 * 65535 overflows, which is undefined; computed as unsigned int it
// wraps, and the element keeps the same low bits the user's own loop gives wherever that loop is
// defined.
template <class E>
using computed_as = std::conditional_t<std::is_unsigned_v<E> && std::is_integral_v<E> &&
                                           !std::is_same_v<E, bool> && sizeof(E) < sizeof(int),
                                       unsigned, E>;

template <class E, class Op>
void combining_loop(void*, const std::byte* a, const std::byte* b, std::byte* out,
                    std::size_t count) {
  using C = computed_as<E>;
  const E* x = reinterpret_cast<const E*>(a);
  const E* y = reinterpret_cast<const E*>(b);
  E* result = reinterpret_cast<E*>(out);
  Op op;
  for (std::size_t i = 0; i < count; ++i)
    result[i] = static_cast<E>(op(static_cast<C>(x[i]), static_cast<C>(y[i])));
}

template <class E>
Combiner::Loop loop_for(ReduceKind kind) {
  switch (kind) {
    case ReduceKind::sum:
      return combining_loop<E, std::plus<>>;
    case ReduceKind::product:
      return combining_loop<E, std::multiplies<>>;
    case ReduceKind::min:
      return combining_loop<E, minimum<>>;
    case ReduceKind::max:
      return combining_loop<E, maximum<>>;
    case ReduceKind::logical_and:
      return combining_loop<E, std::logical_and<>>;
    case ReduceKind::logical_or:
      return combining_loop<E, std::logical_or<>>;
    case ReduceKind::bit_and:
    case ReduceKind::bit_or:
    case ReduceKind::bit_xor:
      if constexpr (std::is_integral_v<E>) {
        if (kind == ReduceKind::bit_and) return combining_loop<E, std::bit_and<>>;
        if (kind == ReduceKind::bit_or) return combining_loop<E, std::bit_or<>>;
        return combining_loop<E, std::bit_xor<>>;
      } else {
        return nullptr;
      }
    case ReduceKind::other:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

// Types of one kind and size compute alike (long and long long, say), so one loop serves both.
Combiner::Loop builtin_combining_loop(ReduceKind kind, DataType type) {
  using K = DataType::Kind;
  switch (type.kind) {
    case K::signed_int:
      switch (type.size) {
        case 1:
          return loop_for<std::int8_t>(kind);
        case 2:
          return loop_for<std::int16_t>(kind);
        case 4:
          return loop_for<std::int32_t>(kind);
        case 8:
          return loop_for<std::int64_t>(kind);
      }
      return nullptr;
    case K::unsigned_int:
      switch (type.size) {
        case 1:
          return loop_for<std::uint8_t>(kind);
        case 2:
          return loop_for<std::uint16_t>(kind);
        case 4:
          return loop_for<std::uint32_t>(kind);
        case 8:
          return loop_for<std::uint64_t>(kind);
      }
      return nullptr;
    case K::floating:
      if (type.size == sizeof(float)) return loop_for<float>(kind);
      if (type.size == sizeof(double)) return loop_for<double>(kind);
      if (type.size == sizeof(long double)) return loop_for<long double>(kind);
      return nullptr;
    case K::character:
      return type.size == sizeof(char) ? loop_for<char>(kind) : nullptr;
    case K::boolean:
      return type.size == sizeof(bool) ? loop_for<bool>(kind) : nullptr;
    case K::bytes:
    case K::serialized:
      return nullptr;
  }
  return nullptr;
}

}  // namespace hilo::detail
