// The frame header (runtime/src/backends/tcp/frame.hpp): what goes in comes out, and every kind
// of corruption is refused before anything is allocated.
#include "backends/tcp/frame.hpp"

#include <cstring>
#include <string>

#include "backends/tcp/single_copy.hpp"
#include "catch.hpp"
#include "hilo/errors.hpp"

using hilo::tcp::decode_frame_header;
using hilo::tcp::encode_frame_header;
using hilo::tcp::FrameHeader;

namespace {

constexpr std::uint64_t limit = std::uint64_t{1} << 30;

FrameHeader sample() {
  FrameHeader h;
  h.context = 0x0123456789abcdefull;
  h.source = 5;
  h.tag = -3;  // internal tags are negative and must survive
  h.type = hilo::data_type_of<double>();
  h.length = 4096;
  return h;
}

std::string rejection_of(hilo::tcp::EncodedHeader bytes) {
  try {
    decode_frame_header(bytes.data(), limit);
  } catch (const hilo::Error& e) {
    return e.what();
  }
  return "accepted";
}

void put_u64(hilo::tcp::EncodedHeader& bytes, std::size_t at, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) bytes[at + i] = static_cast<std::byte>(value >> (8 * i));
}

}  // namespace

TEST_CASE("frame: a header decodes to what was encoded") {
  const FrameHeader h = sample();
  const auto bytes = encode_frame_header(h);
  const FrameHeader back = decode_frame_header(bytes.data(), limit);
  CHECK(back.context == h.context);
  CHECK(back.source == h.source);
  CHECK(back.tag == h.tag);
  CHECK(back.type == h.type);
  CHECK(back.length == h.length);
  CHECK(back.flags == 0);
}

TEST_CASE("frame: the layout is fixed little-endian, 40 bytes") {
  const auto bytes = encode_frame_header(sample());
  REQUIRE(bytes.size() == 40);
  CHECK(std::memcmp(bytes.data(), "MFLH", 4) == 0);  // 0x484c464d little-endian
  CHECK(bytes[32] == std::byte{0x00});
  CHECK(bytes[33] == std::byte{0x10});  // 4096 = 0x1000
}

TEST_CASE("frame: a zero-length frame and a goodbye are valid") {
  FrameHeader h = sample();
  h.length = 0;
  CHECK(decode_frame_header(encode_frame_header(h).data(), limit).length == 0);
  h.flags = hilo::tcp::frame_flag_goodbye;
  CHECK(decode_frame_header(encode_frame_header(h).data(), limit).flags == 1);
}

TEST_CASE("frame: an absurd length is refused, not allocated") {
  auto bytes = encode_frame_header(sample());
  put_u64(bytes, 32, std::uint64_t{1} << 62);
  CHECK_THAT(rejection_of(bytes), Catch::Matchers::Contains("exceeds the limit"));
  put_u64(bytes, 32, limit + 1);
  CHECK_THAT(rejection_of(bytes), Catch::Matchers::Contains("exceeds the limit"));
  put_u64(bytes, 32, limit);
  CHECK(rejection_of(bytes) == "accepted");
}

TEST_CASE("frame: every malformed field is named") {
  auto good = encode_frame_header(sample());
  auto bytes = good;
  bytes[0] = std::byte{'X'};
  CHECK_THAT(rejection_of(bytes), Catch::Matchers::Contains("magic"));
  bytes = good;
  bytes[4] = std::byte{9};
  CHECK_THAT(rejection_of(bytes),
             Catch::Matchers::Equals("hilo: malformed frame header: protocol version 9, this hilo "
                                     "speaks " +
                                     std::to_string(hilo::tcp::protocol_version)));
  bytes = good;
  bytes[6] = std::byte{200};
  CHECK_THAT(rejection_of(bytes), Catch::Matchers::Contains("kind 200"));
  bytes = good;
  bytes[7] = std::byte{0x80};
  CHECK_THAT(rejection_of(bytes), Catch::Matchers::Contains("flags"));
  bytes = good;
  bytes[8] = bytes[9] = bytes[10] = bytes[11] = std::byte{0};
  CHECK_THAT(rejection_of(bytes), Catch::Matchers::Contains("element size 0"));
  bytes = good;
  bytes[15] = std::byte{0x80};  // source < 0
  CHECK_THAT(rejection_of(bytes), Catch::Matchers::Contains("negative source"));
  FrameHeader h = sample();
  h.flags = hilo::tcp::frame_flag_goodbye;
  CHECK_THAT(rejection_of(encode_frame_header(h)), Catch::Matchers::Contains("goodbye"));
}

TEST_CASE("frame: a message carries its collective stamp at offset 20; other frames carry none") {
  FrameHeader h = sample();
  h.stamp = 0x00030a01;
  auto bytes = encode_frame_header(h);
  CHECK(bytes[20] == std::byte{0x01});
  CHECK(bytes[22] == std::byte{0x03});
  CHECK(decode_frame_header(bytes.data(), limit).stamp == h.stamp);
  h.flags = hilo::tcp::frame_flag_ready_to_send;  // announces a message: keeps its stamp
  CHECK(decode_frame_header(encode_frame_header(h).data(), limit).stamp == h.stamp);
  h.flags = hilo::tcp::frame_flag_goodbye;
  h.length = 0;
  CHECK_THAT(rejection_of(encode_frame_header(h)),
             Catch::Matchers::Equals("hilo: malformed frame header: a collective stamp (199169) "
                                     "on a frame that is not a message (flags 1)"));
  h.flags = hilo::tcp::frame_flag_copied;
  CHECK_THAT(rejection_of(encode_frame_header(h)), Catch::Matchers::Contains("collective stamp"));
}

TEST_CASE("frame: an abort carries a bounded reason") {
  FrameHeader h = sample();
  h.flags = hilo::tcp::frame_flag_abort;
  h.length = 100;
  CHECK(decode_frame_header(encode_frame_header(h).data(), limit).flags == 2);
  h.length = hilo::tcp::max_abort_reason + 1;
  CHECK_THAT(rejection_of(encode_frame_header(h)), Catch::Matchers::Contains("abort reason"));
  h.flags = 3;
  h.length = 0;
  CHECK_THAT(rejection_of(encode_frame_header(h)), Catch::Matchers::Contains("unknown flags 3"));
}

TEST_CASE("frame: single-copy control frames have exactly their payload") {
  FrameHeader h = sample();
  h.flags = hilo::tcp::frame_flag_offer;
  h.length = hilo::tcp::offer_size;
  CHECK(decode_frame_header(encode_frame_header(h).data(), limit).flags == 4);
  h.length = hilo::tcp::offer_size + 1;
  CHECK_THAT(rejection_of(encode_frame_header(h)), Catch::Matchers::Contains("offer of 25 bytes"));
  h.flags = hilo::tcp::frame_flag_clear_to_send;
  h.length = hilo::tcp::address_size;
  CHECK(decode_frame_header(encode_frame_header(h).data(), limit).flags == 16);
  h.length = 0;
  CHECK_THAT(rejection_of(encode_frame_header(h)),
             Catch::Matchers::Contains("clear-to-send of 0 bytes"));
  h.flags = hilo::tcp::frame_flag_copied;
  h.length = 0;
  CHECK(decode_frame_header(encode_frame_header(h).data(), limit).flags == 32);
  h.length = 1;
  CHECK_THAT(rejection_of(encode_frame_header(h)), Catch::Matchers::Contains("copied frame"));
}

TEST_CASE("frame: a ready-to-send gives the message's length but carries no payload") {
  FrameHeader h = sample();
  h.flags = hilo::tcp::frame_flag_ready_to_send;
  h.length = 16 << 20;
  FrameHeader back = decode_frame_header(encode_frame_header(h).data(), limit);
  CHECK(back.length == h.length);
  CHECK(hilo::tcp::wire_payload(back) == 0);
  h.flags = 0;
  CHECK(hilo::tcp::wire_payload(h) == h.length);
  // The payload limit applies to the announced length all the same.
  h.flags = hilo::tcp::frame_flag_ready_to_send;
  h.length = std::uint64_t{1} << 62;
  CHECK_THAT(rejection_of(encode_frame_header(h)), Catch::Matchers::Contains("exceeds the limit"));
}

TEST_CASE("frame: the default payload limit is at most 2^40 and not tiny") {
  const auto max = hilo::tcp::default_max_payload();
  CHECK(max <= (std::uint64_t{1} << 40));
  CHECK(max >= (std::uint64_t{64} << 20));
}
