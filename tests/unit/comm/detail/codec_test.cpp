#include <hilo/comm/detail/codec.hpp>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/export.hpp>
#include <boost/serialization/shared_ptr.hpp>
#include <boost/serialization/unique_ptr.hpp>

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

// Polymorphic objects shared through base pointers: only Boost's archive, with its object
// tracking and class export, can carry them.
struct Animal {
  std::string name;
  virtual ~Animal() = default;
  virtual std::string sound() const { return "..."; }
  template <class A>
  void serialize(A& ar, unsigned) {
    ar& name;
  }
};
struct Dog : Animal {
  int bark_volume = 0;
  std::string sound() const override { return "woof " + std::to_string(bark_volume); }
  template <class A>
  void serialize(A& ar, unsigned) {
    ar& boost::serialization::base_object<Animal>(*this) & bark_volume;
  }
};
struct Zoo {
  std::vector<std::shared_ptr<Animal>> animals;  // the same dog twice must stay one dog
  std::unique_ptr<WithString> keeper;
  template <class A>
  void serialize(A& ar, unsigned) {
    ar& animals& keeper;
  }
};

// A type hilo's archive could do, sent through Boost's anyway: proves the trait picks the archive.
struct ViaBoost {
  std::vector<std::string> words;
  template <class A>
  void serialize(A& ar, unsigned) {
    ar& words;
  }
};
}  // namespace

BOOST_CLASS_EXPORT(Dog)
template <>
struct hilo::use_boost_archive<Zoo> : std::true_type {};
template <>
struct hilo::use_boost_archive<ViaBoost> : std::true_type {};

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

TEST_CASE("use_boost_archive sends a type through Boost's binary archive") {
  ViaBoost value{{"a", "bc"}};
  hilo::ByteBuffer bytes = hilo::detail::serialize(value);
  hilo::ByteBuffer by_boost;
  {
    hilo::detail::ByteWriter writer(by_boost);
    boost::archive::binary_oarchive archive(writer, hilo::detail::boost_archive_flags);
    archive << value;
  }
  CHECK(bytes == by_boost);
  CHECK(bytes != hilo::detail::serialize(value.words));  // hilo's own archive differs
  ViaBoost back;
  hilo::detail::deserialize(bytes, back, 0, 0);
  CHECK(back.words == value.words);
}

TEST_CASE("pointers, shared objects and polymorphism travel through Boost's archive") {
  Zoo zoo;
  auto rex = std::make_shared<Dog>();
  rex->name = "rex";
  rex->bark_volume = 11;
  zoo.animals = {rex, rex, std::make_shared<Animal>()};
  zoo.animals[2]->name = "generic";
  zoo.keeper = std::make_unique<WithString>(WithString{"ana", 7});
  auto out = hilo::detail::encode(zoo);
  CHECK(out.type == hilo::serialized_type);
  Zoo back;
  hilo::detail::deserialize(out.storage, back, 0, 0);
  REQUIRE(back.animals.size() == 3);
  CHECK(back.animals[0] == back.animals[1]);  // still one shared object
  CHECK(back.animals[0]->name == "rex");
  CHECK(back.animals[0]->sound() == "woof 11");  // still a Dog
  CHECK(back.animals[2]->sound() == "...");
  REQUIRE(back.keeper);
  CHECK(*back.keeper == WithString{"ana", 7});
}

TEST_CASE("a message with bytes left over after the value is an error, not a silent success") {
  hilo::ByteBuffer bytes = hilo::detail::serialize(std::vector<std::string>{"a"});
  bytes.push_back(std::byte{0});
  std::vector<std::string> out;
  try {
    hilo::detail::deserialize(bytes, out, 1, 2);
    FAIL("no exception");
  } catch (const hilo::Error& e) {
    CHECK(std::string(e.what()).find("1 bytes are left over") != std::string::npos);
  }
}

TEST_CASE("a truncated message names the type, size, sender and tag") {
  hilo::ByteBuffer bytes = hilo::detail::serialize(std::map<std::string, std::string>{{"k", "v"}});
  std::map<std::string, std::string> out;
  try {
    hilo::detail::deserialize(std::span<const std::byte>(bytes.data(), bytes.size() - 1), out, 3,
                              5);
    FAIL("no exception");
  } catch (const hilo::Error& e) {
    std::string what = e.what();
    CHECK(what.find("std::map") != std::string::npos);
    CHECK(what.find(std::to_string(bytes.size() - 1) + "-byte message of rank 3") !=
          std::string::npos);
    CHECK(what.find("tag 5") != std::string::npos);
    CHECK(what.find("malformed") != std::string::npos);
  }
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

TEST_CASE("a serialized receive stages the message in a buffer sized to it") {
  hilo::ByteBuffer staging;
  WithString out;
  hilo::Sink sink = hilo::detail::sink_for(out, &staging);
  CHECK(sink.type == hilo::serialized_type);
  REQUIRE_FALSE(sink.has_fixed_size());
  void* where = sink.resize(100);
  CHECK(staging.size() == 100);
  CHECK(where == staging.data());
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
