#include <hilo/comm/codec.hpp>

#include <array>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "catch.hpp"

using hilo::detail::Encoding;
using hilo::detail::encoding_of;

namespace {
struct Plain {
  int a;
  double b;
};
struct WithString {
  std::string name;
  int n = 0;
  template <class A>
  void serialize(A& ar, unsigned) {
    ar& name& n;
  }
  bool operator==(const WithString&) const = default;
};
}  // namespace

TEST_CASE("the encoding is chosen from the type alone") {
  STATIC_REQUIRE(encoding_of<int>() == Encoding::raw);
  STATIC_REQUIRE(encoding_of<Plain>() == Encoding::raw);
  STATIC_REQUIRE(encoding_of<std::array<double, 4>>() == Encoding::raw);
  STATIC_REQUIRE(encoding_of<std::vector<double>>() == Encoding::contiguous);
  STATIC_REQUIRE(encoding_of<std::vector<Plain>>() == Encoding::contiguous);
  STATIC_REQUIRE(encoding_of<std::string>() == Encoding::contiguous);
  STATIC_REQUIRE(encoding_of<std::span<const int>>() == Encoding::contiguous);
  STATIC_REQUIRE(encoding_of<std::vector<bool>>() == Encoding::serialized);  // not contiguous
  STATIC_REQUIRE(encoding_of<std::vector<std::string>>() == Encoding::serialized);
  STATIC_REQUIRE(encoding_of<std::map<int, int>>() == Encoding::serialized);
  STATIC_REQUIRE(encoding_of<WithString>() == Encoding::serialized);
}

TEST_CASE("raw and contiguous values are sent from their own storage, no copy") {
  Plain p{1, 2.0};
  auto out = hilo::detail::encode(p);
  CHECK(out.data == &p);
  CHECK(out.bytes == sizeof(Plain));
  CHECK(out.storage.empty());
  std::vector<float> v(10);
  auto vo = hilo::detail::encode(v);
  CHECK(vo.data == v.data());
  CHECK(vo.bytes == 40);
  CHECK(vo.type == hilo::data_type_of<float>());
  std::array<double, 3> a{};
  CHECK(hilo::detail::encode(a).type == hilo::data_type_of<double>());  // numbers, not bytes
}

TEST_CASE("serialized values round-trip through one archive") {
  std::vector<WithString> in = {{"uno", 1}, {"", 2}, {std::string(5000, 'z'), 3}};
  auto out = hilo::detail::encode(in);
  CHECK(out.type == hilo::serialized_type);
  CHECK(out.data == out.storage.data());
  std::vector<WithString> back;
  hilo::detail::deserialize(out.storage, back, 0, 0);
  CHECK(back == in);
}

TEST_CASE("an archive that does not decode is a hilo::Error naming the type and sender") {
  std::vector<std::byte> garbage(3, std::byte{0xff});
  std::map<std::string, std::string> out;
  try {
    hilo::detail::deserialize(garbage, out, 4, 9);
    FAIL("no exception");
  } catch (const hilo::Error& e) {
    std::string what = e.what();
    CHECK(what.find("rank 4") != std::string::npos);
    CHECK(what.find("tag 9") != std::string::npos);
    CHECK(what.find("std::map") != std::string::npos);
  }
}

TEST_CASE("a receive sink resizes containers to the message") {
  std::vector<int> v = {7};
  hilo::Sink sink = hilo::detail::sink_for(v, nullptr);
  CHECK(sink.type == hilo::data_type_of<int>());
  REQUIRE_FALSE(sink.has_fixed_size());
  void* where = sink.resize(12);
  CHECK(v.size() == 3);
  CHECK(where == v.data());
  int x = 0;
  hilo::Sink fixed = hilo::detail::sink_for(x, nullptr);
  CHECK(fixed.has_fixed_size());
  CHECK(fixed.fixed == &x);
  CHECK(fixed.fixed_bytes == sizeof(int));
}
