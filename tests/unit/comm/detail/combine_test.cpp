// The combining loops of reductions (hilo/comm/detail/combine.hpp): the library's own loops for
// the built-in operations compute what the user's operation computes, element for element, and
// any other operation runs its own loop.
#include <hilo/comm/detail/combine.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "catch.hpp"

namespace {

using hilo::detail::combiner_for;

std::byte* bytes(void* p) {
  return static_cast<std::byte*>(p);
}
const std::byte* bytes(const void* p) {
  return static_cast<const std::byte*>(p);
}

// Values that exercise each operation: signs, zeros, extremes, and for floating point an
// infinity and a NaN (compared as bits, so a NaN matches a NaN).
template <class E>
std::vector<E> samples() {
  std::vector<E> v{E(0), E(1), E(2), E(7), E(100)};
  // Extremes, except where their sum or product would overflow a signed type of int's size or
  // more (undefined; smaller types are promoted to int first).
  if (!(std::is_signed_v<E> && std::is_integral_v<E> && sizeof(E) >= sizeof(int)))
    v.insert(v.end(), {std::numeric_limits<E>::max(), std::numeric_limits<E>::min(),
                       std::numeric_limits<E>::lowest()});
  if constexpr (std::is_signed_v<E>) v.insert(v.end(), {E(-1), E(-3)});
  if constexpr (std::is_floating_point_v<E>)
    v.insert(v.end(), {E(0.5), E(-0.0), std::numeric_limits<E>::infinity(),
                       std::numeric_limits<E>::quiet_NaN()});
  return v;
}

template <class E>
bool same(E a, E b) {
  if constexpr (std::is_floating_point_v<E>)
    // By value and sign, not by bytes: long double has padding bytes that no store defines.
    return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
  else
    return a == b;
}

// Every pair of samples through the library's loop, against Op itself; in place too.
template <class E, class Op>
void check_builtin(Op op) {
  STATIC_REQUIRE(hilo::detail::has_builtin_loop<E, Op>());
  REQUIRE(hilo::detail::builtin_combining_loop(hilo::reduce_kind<Op>::value,
                                               hilo::data_type_of<E>()) != nullptr);
  const std::vector<E> s = samples<E>();
  const std::size_t n = s.size() * s.size();
  // Plain arrays: std::vector<bool> has no data().
  auto a = std::make_unique<E[]>(n), b = std::make_unique<E[]>(n), out = std::make_unique<E[]>(n),
       in_place = std::make_unique<E[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = in_place[i] = s[i / s.size()];
    b[i] = s[i % s.size()];
  }
  combiner_for<E>(op)(bytes(a.get()), bytes(b.get()), bytes(out.get()), n);
  combiner_for<E>(op)(bytes(in_place.get()), bytes(b.get()), bytes(in_place.get()), n);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < n; ++i) {
    // Narrow unsigned types in unsigned int, as the library does: op on them as they are would
    // promote to int, where 65535 * 65535 overflows (undefined, and UBSan stops the test).
    using C = std::conditional_t<
        std::is_unsigned_v<E> && !std::is_same_v<E, bool> && sizeof(E) < sizeof(int), unsigned, E>;
    const E expected = static_cast<E>(op(static_cast<C>(a[i]), static_cast<C>(b[i])));
    wrong += !same(out[i], expected) + !same(in_place[i], expected);
  }
  INFO("element " << hilo::data_type_of<E>().name() << ", operation kind "
                  << static_cast<int>(hilo::reduce_kind<Op>::value));
  CHECK(wrong == 0);
}

template <class E>
void check_every_operation() {
  check_builtin<E>(std::plus<>{});
  check_builtin<E>(std::multiplies<E>{});
  check_builtin<E>(hilo::minimum<>{});
  check_builtin<E>(hilo::maximum<E>{});
  check_builtin<E>(std::logical_and<>{});
  check_builtin<E>(std::logical_or<>{});
  if constexpr (std::is_integral_v<E>) {
    check_builtin<E>(std::bit_and<>{});
    check_builtin<E>(std::bit_or<E>{});
    check_builtin<E>(std::bit_xor<>{});
  }
}

}  // namespace

TEST_CASE("the library's loops compute what the built-in operations do, for every type") {
  check_every_operation<std::int8_t>();
  check_every_operation<std::uint8_t>();
  check_every_operation<std::int16_t>();
  check_every_operation<std::uint16_t>();
  check_every_operation<int>();
  check_every_operation<unsigned>();
  check_every_operation<long>();
  check_every_operation<long long>();
  check_every_operation<unsigned long long>();
  check_every_operation<char>();
  check_every_operation<bool>();
  check_every_operation<float>();
  check_every_operation<double>();
  check_every_operation<long double>();
}

TEST_CASE("an operation of another element type keeps its own loop and its own result") {
  // std::plus<int> on doubles truncates each element: the library's double loop would not.
  STATIC_REQUIRE_FALSE(hilo::detail::has_builtin_loop<double, std::plus<int>>());
  std::vector<double> a{1.5, 2.5}, b{1.25, -0.75}, out(2);
  std::plus<int> plus_int;
  combiner_for<double>(plus_int)(bytes(a.data()), bytes(b.data()), bytes(out.data()), 2);
  CHECK(out == std::vector<double>{2.0, 2.0});  // not 2.75 and 1.75
}

TEST_CASE("a user's operation runs in its own loop, with its state") {
  int calls = 0;
  auto op = [&calls](int x, int y) {
    ++calls;
    return x * 10 + y;
  };
  STATIC_REQUIRE_FALSE(hilo::detail::has_builtin_loop<int, decltype(op)>());
  std::vector<int> a{1, 2, 3}, b{4, 5, 6};
  combiner_for<int>(op)(bytes(a.data()), bytes(b.data()), bytes(a.data()), 3);
  CHECK(a == std::vector<int>{14, 25, 36});
  CHECK(calls == 3);
}

TEST_CASE("bitwise operations on floating point and non-arithmetic types have no library loop") {
  using hilo::DataType;
  CHECK(hilo::detail::builtin_combining_loop(hilo::ReduceKind::bit_xor,
                                             hilo::data_type_of<double>()) == nullptr);
  CHECK(hilo::detail::builtin_combining_loop(hilo::ReduceKind::sum,
                                             DataType{DataType::Kind::bytes, 8}) == nullptr);
  CHECK(hilo::detail::builtin_combining_loop(hilo::ReduceKind::other, hilo::data_type_of<int>()) ==
        nullptr);
}
