#include <hilo/comm/types.hpp>

#include <chrono>
#include <cstdint>

#include "catch.hpp"

using hilo::DataType;
using K = DataType::Kind;
using namespace std::chrono_literals;

TEST_CASE("data_type_of maps arithmetic types to their kind and size") {
  CHECK(hilo::data_type_of<int>() == DataType{K::signed_int, 4});
  CHECK(hilo::data_type_of<std::uint64_t>() == DataType{K::unsigned_int, 8});
  CHECK(hilo::data_type_of<double>() == DataType{K::floating, 8});
  CHECK(hilo::data_type_of<const float>() == DataType{K::floating, 4});
  CHECK(hilo::data_type_of<char>() == DataType{K::character, 1});
  CHECK(hilo::data_type_of<bool>() == DataType{K::boolean, 1});
  struct Point {
    double x, y, z;
  };
  CHECK(hilo::data_type_of<Point>() == DataType{K::bytes, 24});
}

TEST_CASE("DataType names say what a message carries") {
  CHECK(hilo::data_type_of<std::int32_t>().name() == "int32");
  CHECK(hilo::data_type_of<double>().name() == "float64");
  CHECK(hilo::data_type_of<unsigned short>().name() == "uint16");
  CHECK(hilo::serialized_type.name() == "serialized archive");
  CHECK(DataType{K::bytes, 24}.name() == "24-byte trivially copyable value");
}

TEST_CASE("Deadline: never, after, expired, and saturation of huge limits") {
  CHECK(hilo::Deadline::never().is_never());
  CHECK_FALSE(hilo::Deadline::never().expired());
  auto soon = hilo::Deadline::after(1ms);
  CHECK_FALSE(soon.is_never());
  while (!soon.expired()) {
  }
  CHECK(soon.expired());
  // A limit too large to add to now() means "never", not an overflowed time in the past.
  CHECK(hilo::Deadline::after(std::chrono::nanoseconds::max()).is_never());
}

TEST_CASE("within() converts any duration; a default TimeLimit means 'the default'") {
  CHECK(hilo::within(2s).duration == 2'000'000'000ns);
  CHECK(hilo::within(1.5ms).duration == 1'500'000ns);
  CHECK(hilo::TimeLimit{}.duration.count() < 0);
}
