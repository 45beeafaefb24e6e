// What identifies a collective call (hilo/comm/detail/collective_call.hpp): when two ranks' calls
// are the same one, and the message of hilo::CollectiveMismatch.
#include <hilo/comm/detail/collective_call.hpp>
#include <hilo/errors.hpp>

#include <string>
#include <type_traits>
#include <vector>

#include "catch.hpp"

using hilo::CollectiveCallView;
using hilo::CollectiveShape;
using hilo::data_type_of;
using hilo::detail::collective_mismatch_message;
using hilo::detail::same_collective;
using hilo::detail::shape_of;

namespace {
CollectiveCallView call(const char* op, int root = -1, CollectiveShape shape = {},
                        unsigned line = 12, std::uint64_t sequence = 1) {
  return {sequence, op, root, shape, "main.cpp", line};
}
}  // namespace

TEST_CASE("CollectiveMismatch is a hilo::Error") {
  STATIC_REQUIRE(std::is_base_of_v<hilo::Error, hilo::CollectiveMismatch>);
}

TEST_CASE("the mismatch message has the issue's form") {
  CHECK(collective_mismatch_message("world", 0, call("broadcast", 0), 1,
                                    call("all_reduce", -1, {}, 15)) ==
        "hilo: collective mismatch on world: rank 0 is in broadcast (root 0) at main.cpp:12, "
        "rank 1 is in all_reduce at main.cpp:15");
}

TEST_CASE("the message names the type and count only where they tell the calls apart") {
  const CollectiveShape three_floats{data_type_of<float>(), 3, true};
  const CollectiveShape five_floats{data_type_of<float>(), 5, true};
  CHECK(collective_mismatch_message("world.split(1)#0", 0, call("scan", -1, three_floats), 2,
                                    call("scan", -1, five_floats)) ==
        "hilo: collective mismatch on world.split(1)#0: rank 0 is in scan (3 elements of float32) "
        "at main.cpp:12, rank 2 is in scan (5 elements of float32) at main.cpp:12");
  CHECK(collective_mismatch_message("world", 0, call("reduce", 1, three_floats), 1,
                                    call("all_reduce", -1, three_floats)) ==
        "hilo: collective mismatch on world: rank 0 is in reduce (root 1) at main.cpp:12, rank 1 "
        "is in all_reduce at main.cpp:12");
  CHECK(collective_mismatch_message("world", 0, call("barrier", -1, {}, 12, 4), 1,
                                    call("barrier", -1, {}, 12, 5)) ==
        "hilo: collective mismatch on world: rank 0 is in barrier (collective call 4 on this "
        "communicator) at main.cpp:12, rank 1 is in barrier (collective call 5 on this "
        "communicator) at main.cpp:12");
}

TEST_CASE("two calls are the same collective by sequence, operation, root and fixed shape") {
  const CollectiveShape one_int{data_type_of<int>(), 1, true};
  const CollectiveShape one_double{data_type_of<double>(), 1, true};
  CHECK(same_collective(call("barrier"), call("barrier", -1, {}, 99)));  // call sites may differ
  CHECK_FALSE(same_collective(call("barrier"), call("all_reduce")));
  CHECK_FALSE(same_collective(call("broadcast", 0), call("broadcast", 1)));
  CHECK_FALSE(same_collective(call("all_reduce", -1, one_int), call("all_reduce", -1, one_double)));
  CHECK_FALSE(same_collective(call("barrier", -1, {}, 12, 1), call("barrier", -1, {}, 12, 2)));
  CHECK(same_collective(call("all_reduce", -1, one_int), call("all_reduce", -1, one_int)));
}

TEST_CASE("shape_of fixes numbers and vectors of numbers, nothing else") {
  const CollectiveShape number = shape_of(2.5);
  CHECK(number.fixed);
  CHECK(number.count == 1);
  CHECK(number.type == data_type_of<double>());
  const CollectiveShape vector = shape_of(std::vector<int>(7));
  CHECK(vector.fixed);
  CHECK(vector.count == 7);
  CHECK(vector.type == data_type_of<int>());
  CHECK_FALSE(shape_of(std::string("abc")).fixed);
  CHECK_FALSE(shape_of(std::vector<std::string>(2)).fixed);
}

TEST_CASE("a stamp names its operation back, for every blocking collective") {
  for (const char* op : {"all_gather", "all_gather_v", "all_reduce", "all_to_all", "all_to_all_v",
                         "barrier", "broadcast", "dup", "exscan", "gather", "gather_v", "reduce",
                         "reduce_scatter", "scan", "scatter", "scatter_v", "split"}) {
    hilo::CollectiveCall c;
    c.sequence = 3;
    c.operation = op;
    const std::uint32_t stamp = hilo::detail::collective_stamp(c);
    CHECK(stamp != 0);
    CHECK(hilo::detail::stamp_sequence(stamp) == 3);
    CHECK(hilo::detail::operation_of_stamp(stamp) == op);
  }
}

TEST_CASE("stamps of the same operation differ by root, element type and count") {
  hilo::CollectiveCall a;
  a.sequence = 1;
  a.operation = "all_reduce";
  a.shape = shape_of(1);
  hilo::CollectiveCall b = a;
  b.shape = shape_of(1.0);
  CHECK(hilo::detail::collective_stamp(a) != hilo::detail::collective_stamp(b));
  b = a;
  b.shape = shape_of(std::vector<int>(3));
  hilo::CollectiveCall c = a;
  c.shape = shape_of(std::vector<int>(4));
  CHECK(hilo::detail::collective_stamp(b) != hilo::detail::collective_stamp(c));
  hilo::CollectiveCall r0;
  r0.sequence = 1;
  r0.operation = "broadcast";
  r0.root = 0;
  hilo::CollectiveCall r1 = r0;
  r1.root = 1;
  CHECK(hilo::detail::collective_stamp(r0) != hilo::detail::collective_stamp(r1));
}
