// Integers in a fixed byte order (runtime/src/common/byte_order.hpp), and the two wire formats
// built on it: the launch layer's big-endian messages and the tcp handshake's little-endian one.
#include "common/byte_order.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <string>

#include "backends/tcp/frame.hpp"
#include "backends/tcp/handshake.hpp"
#include "catch.hpp"
#include "launch/wire.hpp"

using namespace hilo;

namespace {
std::string bytes_of(std::initializer_list<unsigned> values) {
  std::string s;
  for (unsigned v : values) s.push_back(static_cast<char>(v));
  return s;
}
}  // namespace

TEST_CASE("byte order: each order places the bytes where it says") {
  std::string little, big;
  common::append_int<std::endian::little>(little, std::uint32_t{0x11223344});
  common::append_int<std::endian::big>(big, std::uint32_t{0x11223344});
  CHECK(little == bytes_of({0x44, 0x33, 0x22, 0x11}));
  CHECK(big == bytes_of({0x11, 0x22, 0x33, 0x44}));

  std::array<std::byte, 2> field{};
  common::put_int<std::endian::big>(field.data(), std::uint16_t{0xABCD});
  CHECK(field[0] == std::byte{0xAB});
  CHECK(field[1] == std::byte{0xCD});
  common::put_le(field.data(), std::uint16_t{0xABCD});
  CHECK(field[0] == std::byte{0xCD});
  CHECK(field[1] == std::byte{0xAB});
}

TEST_CASE("byte order: values read back as written, signed ones and 64-bit ones too") {
  for (std::int32_t v : {0, 1, -1, INT32_MIN, INT32_MAX, 0x01020304}) {
    std::string little, big;
    common::append_int<std::endian::little>(little, v);
    common::append_int<std::endian::big>(big, v);
    CHECK(common::read_int<std::endian::little, std::int32_t>(little.data()) == v);
    CHECK(common::read_int<std::endian::big, std::int32_t>(big.data()) == v);
  }
  std::array<std::byte, 8> field{};
  const std::uint64_t v = 0x0102030405060708ULL;
  common::put_int<std::endian::big>(field.data(), v);
  CHECK(field[0] == std::byte{0x01});
  CHECK(field[7] == std::byte{0x08});
  CHECK(common::get_int<std::endian::big, std::uint64_t>(field.data()) == v);
  common::put_le(field.data(), v);
  CHECK(field[0] == std::byte{0x08});
  CHECK(common::get_le<std::uint64_t>(field.data()) == v);
}

TEST_CASE("byte order: the launch layer's messages are big-endian") {
  launch::ByteWriter out;
  out.u8(0x01);
  out.u16(0x0203);
  out.u32(0x04050607);
  out.i32(-2);
  out.str16("hi");
  const std::string message = out.take();
  CHECK(message == bytes_of({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xFF, 0xFF, 0xFF, 0xFE, 0x00,
                             0x02, 'h', 'i'}));

  launch::ByteReader in(message);
  std::uint8_t a = 0;
  std::uint16_t b = 0;
  std::uint32_t c = 0;
  std::int32_t d = 0;
  std::uint16_t length = 0;
  std::string text;
  REQUIRE(in.u8(a));
  REQUIRE(in.u16(b));
  REQUIRE(in.u32(c));
  REQUIRE(in.i32(d));
  REQUIRE(in.u16(length));
  REQUIRE(in.bytes(length, text));
  CHECK(a == 0x01);
  CHECK(b == 0x0203);
  CHECK(c == 0x04050607);
  CHECK(d == -2);
  CHECK(text == "hi");
  CHECK(in.consumed() == message.size());
}

TEST_CASE("byte order: a reader short of bytes takes nothing") {
  const std::string partial = bytes_of({0x01, 0x02, 0x03});
  launch::ByteReader in(partial);
  std::uint32_t value = 0;
  CHECK_FALSE(in.u32(value));
  CHECK(in.consumed() == 0);
  std::uint16_t half = 0;
  REQUIRE(in.u16(half));
  CHECK(half == 0x0102);
  CHECK_FALSE(in.u16(half));
  CHECK(in.consumed() == 2);
}

TEST_CASE("byte order: the tcp handshake is little-endian") {
  const std::string hello = tcp::encode_hello("tok", 5, 7);
  // magic "HLHS" (0x484c4853), version, token length 3, the token, rank 5, size 7.
  CHECK(hello.substr(0, 4) == bytes_of({0x53, 0x48, 0x4c, 0x48}));
  CHECK(common::read_int<std::endian::little, std::uint16_t>(hello.data() + 4) ==
        tcp::protocol_version);
  CHECK(hello.substr(6) == bytes_of({3, 0, 't', 'o', 'k', 5, 0, 0, 0, 7, 0, 0, 0}));
  const tcp::HelloParse parsed = tcp::parse_hello(hello.data(), hello.size());
  REQUIRE(parsed.result == tcp::HelloParse::Result::complete);
  CHECK(parsed.hello.token == "tok");
  CHECK(parsed.hello.rank == 5);
  CHECK(parsed.hello.size == 7);
}
