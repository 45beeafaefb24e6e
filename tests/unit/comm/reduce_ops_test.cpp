#include <hilo/comm/reduce_ops.hpp>

#include "catch.hpp"

using hilo::ReduceKind;

TEST_CASE("standard and hilo operations map to native reductions") {
  STATIC_REQUIRE(hilo::reduce_kind<std::plus<>>::value == ReduceKind::sum);
  STATIC_REQUIRE(hilo::reduce_kind<std::plus<int>>::value == ReduceKind::sum);
  STATIC_REQUIRE(hilo::reduce_kind<std::multiplies<>>::value == ReduceKind::product);
  STATIC_REQUIRE(hilo::reduce_kind<hilo::minimum<>>::value == ReduceKind::min);
  STATIC_REQUIRE(hilo::reduce_kind<hilo::maximum<double>>::value == ReduceKind::max);
  STATIC_REQUIRE(hilo::reduce_kind<std::logical_and<>>::value == ReduceKind::logical_and);
  STATIC_REQUIRE(hilo::reduce_kind<std::bit_xor<>>::value == ReduceKind::bit_xor);
  auto lambda = [](int a, int b) { return a + b; };
  STATIC_REQUIRE(hilo::reduce_kind<decltype(lambda)>::value == ReduceKind::other);
  STATIC_REQUIRE(hilo::reduce_kind<std::minus<>>::value == ReduceKind::other);
}

TEST_CASE("minimum and maximum compute what they say") {
  CHECK(hilo::minimum<>{}(3, -2) == -2);
  CHECK(hilo::maximum<>{}(3.5, 2.0) == 3.5);
  CHECK(hilo::minimum<int>{}(4, 4) == 4);
}
