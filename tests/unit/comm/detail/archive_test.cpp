// hilo's compile-time archive: every standard type it encodes itself, users' Boost serialize code
// (members, free functions, nvp, base_object, split save/load, versions, make_array,
// make_binary_object), the wire format's sizes, and reading truncated or forged archives.
#include <hilo/comm/detail/archive.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/serialization/split_free.hpp>

#include "catch.hpp"

namespace {

hilo::ByteBuffer save_all(const auto&... values) {
  hilo::OutputArchive archive;
  (archive << ... << values);
  return std::move(archive).bytes();
}

template <class T>
T round_trip(const T& in) {
  hilo::ByteBuffer bytes = save_all(in);
  hilo::InputArchive archive(bytes);
  T out{};
  archive >> out;
  CHECK(archive.remaining() == 0);
  return out;
}

enum class Colour : std::uint8_t { red = 1, green = 2, blue = 200 };
enum Plain { zero, one, many = 1000 };

// A member serialize using &, an nvp and a private serialize reached through access.
class Account {
 public:
  Account() = default;
  Account(std::string owner, double balance) : owner_(std::move(owner)), balance_(balance) {}
  bool operator==(const Account&) const = default;

 private:
  friend class boost::serialization::access;
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar& BOOST_SERIALIZATION_NVP(owner_) & boost::serialization::make_nvp("balance", balance_);
  }
  std::string owner_;
  double balance_ = 0;
};

// A base class serialized through base_object, and a derived class adding a member.
struct Shape {
  std::string name;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& name;
  }
  bool operator==(const Shape&) const = default;
};
struct Circle : Shape {
  double radius = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& boost::serialization::base_object<Shape>(*this) & radius;
  }
  bool operator==(const Circle&) const = default;
};

// Split member: save writes a derived value, load recomputes a cache. Uses << and >>.
struct Celsius {
  double degrees = 0;
  double fahrenheit_cache = 0;  // not sent; load recomputes it
  template <class Archive>
  void save(Archive& ar, unsigned) const {
    ar << degrees;
  }
  template <class Archive>
  void load(Archive& ar, unsigned) {
    ar >> degrees;
    fahrenheit_cache = degrees * 9 / 5 + 32;
  }
  BOOST_SERIALIZATION_SPLIT_MEMBER()
};

// A version: serialize sees the number BOOST_CLASS_VERSION gives and stores the one it saw.
struct Versioned {
  int value = 0;
  unsigned seen_version = 99;
  template <class Archive>
  void serialize(Archive& ar, unsigned version) {
    seen_version = version;
    ar& value;
  }
};

// A type from "someone else's library" serialized by free functions, split into save and load.
struct Point3 {
  float x = 0, y = 0, z = 0;
  bool operator==(const Point3&) const = default;
};

// make_array and make_binary_object over members a class manages by hand, and save_binary.
struct Samples {
  std::uint32_t count = 0;
  double values[4] = {};
  char magic[4] = {};
  std::uint16_t raw = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& count;
    ar& boost::serialization::make_array(values, count);
    ar& boost::serialization::make_binary_object(magic, sizeof magic);
    if constexpr (Archive::is_saving::value)
      ar.save_binary(&raw, sizeof raw);
    else
      ar.load_binary(&raw, sizeof raw);
  }
};

// A class whose serialize writes nothing: one byte of minimum assumed per element, so a
// container of them is fine as long as it is shorter than what follows it.
struct Empty {
  template <class Archive>
  void serialize(Archive&, unsigned) {}
};

}  // namespace

BOOST_CLASS_VERSION(Versioned, 3)

namespace boost::serialization {
template <class Archive>
void save(Archive& ar, const Point3& p, unsigned) {
  ar << p.x << p.y << p.z;
}
template <class Archive>
void load(Archive& ar, Point3& p, unsigned) {
  ar >> p.x >> p.y >> p.z;
}
}  // namespace boost::serialization
BOOST_SERIALIZATION_SPLIT_FREE(Point3)

TEST_CASE("numbers, enums and bools round-trip with their exact values") {
  CHECK(round_trip(std::int8_t{-128}) == -128);
  CHECK(round_trip(std::uint64_t{0xfedcba9876543210ull}) == 0xfedcba9876543210ull);
  CHECK(round_trip(std::numeric_limits<double>::lowest()) == std::numeric_limits<double>::lowest());
  CHECK(round_trip(-0.25f) == -0.25f);
  CHECK(round_trip(true) == true);
  CHECK(round_trip(false) == false);
  CHECK(round_trip('q') == 'q');
  CHECK(round_trip(Colour::blue) == Colour::blue);
  CHECK(round_trip(many) == many);
  CHECK(save_all(std::int32_t{7}).size() == 4);  // just its bytes, no header
}

TEST_CASE("strings and vectors carry a 64-bit length, then their elements") {
  std::string text = "hola, mundo";
  CHECK(round_trip(text) == text);
  CHECK(round_trip(std::string()).empty());
  CHECK(round_trip(std::string(100000, 'x')) == std::string(100000, 'x'));
  CHECK(round_trip(std::wstring(L"\u00f1and\u00fa")) == L"\u00f1and\u00fa");
  CHECK(save_all(text).size() == 8 + text.size());

  std::vector<double> numbers = {1.5, -2, 1e300};
  CHECK(round_trip(numbers) == numbers);
  hilo::ByteBuffer bytes = save_all(numbers);
  REQUIRE(bytes.size() == 8 + 3 * sizeof(double));  // one block: the length, then the doubles
  std::uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  CHECK(length == 3);
  double second = 0;
  std::memcpy(&second, bytes.data() + 8 + sizeof(double), sizeof second);
  CHECK(second == -2);

  std::vector<std::string> words = {"uno", "", std::string(300, 'z')};
  CHECK(round_trip(words) == words);
  std::vector<std::vector<int>> nested = {{}, {1}, {2, 3, 4}};
  CHECK(round_trip(nested) == nested);
  std::vector<Colour> colours = {Colour::green, Colour::red};
  CHECK(round_trip(colours) == colours);
}

TEST_CASE("a vector read into a non-empty vector replaces its contents") {
  hilo::ByteBuffer bytes = save_all(std::vector<std::string>{"a", "b"});
  std::vector<std::string> into = {"x", "y", "z", "w"};
  hilo::InputArchive archive(bytes);
  archive >> into;
  CHECK(into == std::vector<std::string>{"a", "b"});
}

TEST_CASE("vector<bool> packs eight to a byte") {
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 100u}) {
    std::vector<bool> bits(n);
    for (std::size_t i = 0; i < n; ++i) bits[i] = (i * 7 + n) % 3 == 0;
    CHECK(round_trip(bits) == bits);
    CHECK(save_all(bits).size() == 8 + (n + 7) / 8);
  }
}

TEST_CASE("fixed-size arrays carry no length") {
  std::array<int, 3> a = {1, 2, 3};
  CHECK(round_trip(a) == a);
  CHECK(save_all(a).size() == 3 * sizeof(int));
  std::array<std::string, 2> s = {"left", "right"};
  CHECK(round_trip(s) == s);
  std::vector<std::array<double, 2>> pairs = {{1, 2}, {3, 4}};
  CHECK(round_trip(pairs) == pairs);
  CHECK(save_all(pairs).size() == 8 + 4 * sizeof(double));
}

TEST_CASE("lists, deques, sets and maps round-trip, ordered and unordered") {
  std::list<std::string> list = {"a", "bb", "ccc"};
  CHECK(round_trip(list) == list);
  std::deque<int> deque = {5, 4, 3};
  CHECK(round_trip(deque) == deque);
  std::set<std::string> set = {"x", "y"};
  CHECK(round_trip(set) == set);
  std::multiset<int> multiset = {1, 1, 2};
  CHECK(round_trip(multiset) == multiset);
  std::map<std::string, std::vector<int>> map = {{"primes", {2, 3, 5}}, {"none", {}}};
  CHECK(round_trip(map) == map);
  std::multimap<int, std::string> multimap = {{1, "one"}, {1, "uno"}, {2, "two"}};
  CHECK(round_trip(multimap) == multimap);
  std::unordered_map<std::string, double> hashed = {{"pi", 3.14}, {"e", 2.72}};
  CHECK(round_trip(hashed) == hashed);
  std::unordered_set<int> hashed_set = {10, 20, 30};
  CHECK(round_trip(hashed_set) == hashed_set);
  std::unordered_multimap<int, int> hashed_multi = {{1, 1}, {1, 2}};
  CHECK(round_trip(hashed_multi) == hashed_multi);
  std::unordered_multiset<std::string> hashed_multiset = {"a", "a", "b"};
  CHECK(round_trip(hashed_multiset) == hashed_multiset);

  // Reading into a map that already has entries leaves only the message's entries.
  hilo::ByteBuffer bytes = save_all(std::map<int, int>{{1, 10}});
  std::map<int, int> into = {{7, 70}, {8, 80}};
  hilo::InputArchive archive(bytes);
  archive >> into;
  CHECK(into == std::map<int, int>{{1, 10}});
}

TEST_CASE("pairs, tuples and optionals round-trip") {
  std::pair<std::string, int> p = {"answer", 42};
  CHECK(round_trip(p) == p);
  std::tuple<int, std::string, std::vector<double>> t = {1, "two", {3.0}};
  CHECK(round_trip(t) == t);
  std::optional<std::string> some = "here";
  CHECK(round_trip(some) == some);
  std::optional<std::string> none;
  CHECK(round_trip(none) == none);
  CHECK(save_all(none).size() == 1);
  // An engaged optional read from an empty one becomes empty.
  hilo::ByteBuffer bytes = save_all(none);
  std::optional<std::string> into = "old";
  hilo::InputArchive archive(bytes);
  archive >> into;
  CHECK_FALSE(into.has_value());
}

TEST_CASE("user classes: member and free serialize, nvp, base_object, split save/load") {
  Account account("ana", 12.5);
  CHECK(round_trip(account) == account);
  Circle circle;
  circle.name = "wheel";
  circle.radius = 0.5;
  CHECK(round_trip(circle) == circle);
  CHECK(save_all(circle).size() == 8 + 5 + sizeof(double));
  Celsius warm{100, 0};
  Celsius back = round_trip(warm);
  CHECK(back.degrees == 100);
  CHECK(back.fahrenheit_cache == 212);
  CHECK(save_all(warm).size() == sizeof(double));  // the cache is not sent
  std::vector<Point3> points = {{1, 2, 3}, {4, 5, 6}};
  CHECK(round_trip(points) == points);
  std::map<std::string, Account> accounts = {{"a", account}, {"b", Account("bea", -1)}};
  CHECK(round_trip(accounts) == accounts);
}

TEST_CASE("BOOST_CLASS_VERSION is the version serialize sees, saving and loading") {
  Versioned out{5};
  hilo::ByteBuffer bytes = save_all(out);
  CHECK(out.seen_version == 3);
  Versioned in;
  hilo::InputArchive archive(bytes);
  archive >> in;
  CHECK(in.seen_version == 3);
  CHECK(in.value == 5);
  CHECK(bytes.size() == sizeof(int));  // versions do not travel
}

TEST_CASE("make_array, make_binary_object and save_binary write raw runs") {
  Samples out;
  out.count = 3;
  out.values[0] = 1.25;
  out.values[2] = -8;
  std::memcpy(out.magic, "HILO", 4);
  out.raw = 0xbeef;
  hilo::ByteBuffer bytes = save_all(out);
  CHECK(bytes.size() == 4 + 3 * sizeof(double) + 4 + 2);
  Samples in;
  hilo::InputArchive archive(bytes);
  archive >> in;
  CHECK(in.count == 3);
  CHECK(in.values[0] == 1.25);
  CHECK(in.values[2] == -8);
  CHECK(std::memcmp(in.magic, "HILO", 4) == 0);
  CHECK(in.raw == 0xbeef);
}

TEST_CASE("several values in one archive come back in order") {
  hilo::ByteBuffer bytes = save_all(1, std::string("two"), 3.0);
  hilo::InputArchive archive(bytes);
  int one = 0;
  std::string two;
  double three = 0;
  archive >> one >> two >> three;
  CHECK(one == 1);
  CHECK(two == "two");
  CHECK(three == 3.0);
  CHECK(archive.remaining() == 0);
}

TEST_CASE("an archive cut short anywhere is a hilo::Error, never a wrong value") {
  using Value = std::map<std::string, std::vector<std::optional<Circle>>>;
  Circle c;
  c.name = "c";
  c.radius = 2;
  Value value = {{"first", {c, std::nullopt}}, {"second", {}}, {"third", {std::nullopt, c}}};
  hilo::ByteBuffer whole = save_all(value);
  REQUIRE(whole.size() > 50);
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    hilo::InputArchive archive(std::span<const std::byte>(whole.data(), cut));
    Value out;
    CHECK_THROWS_AS(archive >> out, hilo::Error);
  }
  hilo::InputArchive archive(whole);
  Value out;
  archive >> out;
  CHECK(out == value);
}

TEST_CASE("a forged length prefix is rejected before anything is allocated for it") {
  const std::uint64_t forged = std::uint64_t{1} << 62;
  auto forge = [&](hilo::ByteBuffer bytes, std::size_t at) {
    std::memcpy(bytes.data() + at, &forged, sizeof forged);
    return bytes;
  };
  auto rejects = [](const hilo::ByteBuffer& bytes, auto out) {
    hilo::InputArchive archive(bytes);
    try {
      archive >> out;
      return false;
    } catch (const hilo::Error& e) {
      return std::string(e.what()).find("4611686018427387904") != std::string::npos;
    }
  };
  // Each would otherwise ask for 2^62 elements (an exabyte and more); under ASan any such
  // request aborts the test, so passing here means nothing was requested.
  CHECK(rejects(forge(save_all(std::string("abc")), 0), std::string()));
  CHECK(rejects(forge(save_all(std::vector<double>{1, 2}), 0), std::vector<double>()));
  CHECK(rejects(forge(save_all(std::vector<std::string>{"a"}), 0), std::vector<std::string>()));
  CHECK(rejects(forge(save_all(std::vector<std::string>{"a"}), 8), std::vector<std::string>()));
  CHECK(rejects(forge(save_all(std::vector<bool>{true}), 0), std::vector<bool>()));
  CHECK(rejects(forge(save_all(std::vector<Empty>(3)), 0), std::vector<Empty>()));
  CHECK(rejects(forge(save_all(std::list<int>{1}), 0), std::list<int>()));
  CHECK(rejects(forge(save_all(std::deque<int>{1}), 0), std::deque<int>()));
  CHECK(rejects(forge(save_all(std::map<int, int>{{1, 1}}), 0), std::map<int, int>()));
  CHECK(rejects(forge(save_all(std::unordered_set<int>{1}), 0), std::unordered_set<int>()));
  // The largest count a length can hold, where count * element size would overflow.
  hilo::ByteBuffer bytes = save_all(std::vector<std::uint64_t>{1});
  std::memset(bytes.data(), 0xff, 8);
  hilo::InputArchive archive(bytes);
  std::vector<std::uint64_t> out;
  CHECK_THROWS_AS(archive >> out, hilo::Error);
}

TEST_CASE("bytes that are no bool or optional flag are rejected") {
  hilo::ByteBuffer bytes = save_all(true);
  bytes[0] = std::byte{2};
  hilo::InputArchive bools(bytes);
  bool b = false;
  CHECK_THROWS_AS(bools >> b, hilo::Error);
  bytes = save_all(std::optional<int>(1));
  bytes[0] = std::byte{7};
  hilo::InputArchive flags(bytes);
  std::optional<int> o;
  try {
    flags >> o;
    FAIL("no exception");
  } catch (const hilo::Error& e) {
    CHECK(std::string(e.what()).find("std::optional flag") != std::string::npos);
  }
}

TEST_CASE("a container of values that write nothing works when it fits the bytes after it") {
  std::vector<Empty> few(3);
  hilo::ByteBuffer bytes = save_all(few, std::string("padding"));
  hilo::InputArchive archive(bytes);
  std::vector<Empty> out;
  std::string rest;
  archive >> out >> rest;
  CHECK(out.size() == 3);
  CHECK(rest == "padding");
}

TEST_CASE("ByteBuffer keeps its bytes as it grows and moves without copying") {
  hilo::ByteBuffer buffer;
  CHECK(buffer.empty());
  for (int i = 0; i < 1000; ++i) buffer.push_back(static_cast<std::byte>(i % 251));
  buffer.append("tail", 4);
  REQUIRE(buffer.size() == 1004);
  CHECK(buffer.capacity() >= 1004);
  bool intact = true;
  for (int i = 0; i < 1000; ++i) intact = intact && buffer[i] == static_cast<std::byte>(i % 251);
  CHECK(intact);
  CHECK(std::memcmp(buffer.data() + 1000, "tail", 4) == 0);
  const std::byte* where = buffer.data();
  hilo::ByteBuffer moved = std::move(buffer);
  CHECK(moved.data() == where);
  CHECK(buffer.empty());
  buffer.resize(3);  // a moved-from buffer is usable again
  CHECK(buffer.size() == 3);
  moved.resize(2);
  CHECK(moved.data() == where);  // shrinking keeps the storage
  hilo::ByteBuffer same;
  same.append(where, 2);
  CHECK(same == moved);
}
