// Combining two arrays element by element, out[i] = op(a[i], b[i]): the inner loop of every
// reduction. For hilo's built-in operations on arithmetic types (std::plus, std::multiplies,
// hilo::minimum, hilo::maximum, the logical and bitwise ones) the loop is compiled inside
// libhilo, optimised and vectorised whatever flags the user's program is built with, as MPI_SUM
// on MPI_FLOAT runs inside libmpi. For any other operation the loop is instantiated here, in the
// user's translation unit, so the user's operation still inlines into it.
//
// Internal to hilo: the names live in hilo::detail and may change.
#pragma once

#include <cstddef>
#include <type_traits>

#include "hilo/comm/reduce_ops.hpp"
#include "hilo/comm/types.hpp"

namespace hilo::detail {

// One combining loop: out[i] = op(a[i], b[i]) for i < count, where a, b and out hold elements of
// one type and `out` may be `a` or `b` (in place). Holds a pointer to the operation it applies,
// which must outlive it.
class Combiner {
 public:
  using Loop = void (*)(void* op, const std::byte* a, const std::byte* b, std::byte* out,
                        std::size_t count);
  Combiner(Loop loop, void* op) : loop_(loop), op_(op) {}
  void operator()(const std::byte* a, const std::byte* b, std::byte* out, std::size_t count) const {
    loop_(op_, a, b, out, count);
  }

 private:
  Loop loop_;
  void* op_;  // the user's operation, or nullptr for the library's own loops
};

// The library's loop for `kind` on elements of `type`, or nullptr when it has none (an
// operation of kind other, a type that is not arithmetic, a bitwise operation on floating point).
Combiner::Loop builtin_combining_loop(ReduceKind kind, DataType type);

// The argument type of a standard-style function object (T of std::plus<T>), or void.
template <class Op>
struct operation_argument {
  using type = void;
};
template <template <class> class F, class T>
struct operation_argument<F<T>> {
  using type = T;
};

// Whether the library's loop computes exactly what Op does on two E: Op is one of the built-in
// operations in its transparent form (std::plus<>) or for E itself. std::plus<int> on doubles
// truncates each element, which the library's loop for doubles would not.
template <class E, class Op>
constexpr bool has_builtin_loop() {
  using Argument = typename operation_argument<std::remove_cv_t<Op>>::type;
  return std::is_arithmetic_v<E> && reduce_kind<std::remove_cv_t<Op>>::value != ReduceKind::other &&
         (std::is_void_v<Argument> || std::is_same_v<Argument, E>);
}

// The combining loop for elements of type E and the operation `op`.
template <class E, class Op>
Combiner combiner_for(Op& op) {
  if constexpr (has_builtin_loop<E, Op>()) {
    if (Combiner::Loop loop =
            builtin_combining_loop(reduce_kind<std::remove_cv_t<Op>>::value, data_type_of<E>()))
      return Combiner(loop, nullptr);
  }
  auto loop = [](void* state, const std::byte* a, const std::byte* b, std::byte* out,
                 std::size_t count) {
    Op& apply = *static_cast<Op*>(state);
    const E* x = reinterpret_cast<const E*>(a);
    const E* y = reinterpret_cast<const E*>(b);
    E* result = reinterpret_cast<E*>(out);
    for (std::size_t i = 0; i < count; ++i) result[i] = apply(x[i], y[i]);
  };
  return Combiner(loop, const_cast<void*>(static_cast<const void*>(&op)));
}

}  // namespace hilo::detail
