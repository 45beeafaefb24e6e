// The TCP engine's frame reader (runtime/src/backends/tcp/frame_reader.hpp), on its own: frames
// of every kind, however the stream is cut into reads, reach the sink whole and in order, and a
// message's payload its mailbox; a frame after goodbye is refused; a stream that ends
// mid-message fails the receive that waited for it; a source that has nothing now ends a read
// without ending the stream.
#include "backends/tcp/frame_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "comm/mailbox.hpp"
#include "hilo/errors.hpp"

using hilo::detail::Mailbox;
using hilo::tcp::FrameHeader;
using hilo::tcp::FrameReader;

namespace {

constexpr std::uint64_t limit = std::uint64_t{1} << 30;
constexpr std::uint64_t context = 7;

// A stream in memory, handed out at most `chunk` bytes a read. Once it is all read, it has ended
// (`ends`) or has nothing for now.
struct ScriptedSource final : hilo::tcp::ByteSource {
  std::vector<std::byte> bytes;
  std::size_t chunk = 1 << 20;
  bool ends = true;
  std::size_t at = 0;
  int reads = 0;

  bool receive(void* into, std::size_t want, std::size_t& got, bool& drained) override {
    ++reads;
    if (at == bytes.size()) {
      got = 0;
      errno = 0;
      return !ends;
    }
    got = std::min({want, chunk, bytes.size() - at});
    std::memcpy(into, bytes.data() + at, got);
    at += got;
    drained = got < want;
    return true;
  }
};

// Records what the reader hands on, as one line per frame.
struct RecordingSink final : hilo::tcp::FrameSink {
  Mailbox box{0};
  std::vector<std::string> seen;

  Mailbox& mailbox_for(const FrameHeader& header) override {
    seen.push_back("message from " + std::to_string(header.source) + " tag " +
                   std::to_string(header.tag) + " of " + std::to_string(header.length));
    return box;
  }
  void goodbye() override { seen.push_back("goodbye"); }
  void ready_to_send(const FrameHeader& header) override {
    seen.push_back("ready-to-send of " + std::to_string(header.length));
  }
  void copied() override { seen.push_back("copied"); }
  void control(const FrameHeader& header, const std::byte* payload) override {
    seen.push_back("control " + std::to_string(header.flags) + " first byte " +
                   std::to_string(static_cast<int>(payload[0])));
  }
  void aborted(const std::string& reason) override { seen.push_back("abort: " + reason); }
};

void append_frame(std::vector<std::byte>& stream, std::uint8_t flags, int source, int tag,
                  const void* payload, std::size_t bytes, std::uint64_t length) {
  FrameHeader header;
  header.context = context;
  header.source = source;
  header.tag = tag;
  header.type = hilo::data_type_of<char>();
  header.length = length;
  header.flags = flags;
  const auto encoded = hilo::tcp::encode_frame_header(header);
  stream.insert(stream.end(), encoded.begin(), encoded.end());
  const auto* first = static_cast<const std::byte*>(payload);
  stream.insert(stream.end(), first, first + bytes);
}

void append_message(std::vector<std::byte>& stream, int source, int tag,
                    const std::vector<char>& payload) {
  append_frame(stream, 0, source, tag, payload.data(), payload.size(), payload.size());
}

std::vector<char> pattern(std::size_t bytes, int seed) {
  std::vector<char> out(bytes);
  for (std::size_t i = 0; i < bytes; ++i) out[i] = static_cast<char>((i * 31 + seed) % 251);
  return out;
}

hilo::Sink into(std::vector<char>& buffer) {
  return hilo::Sink{hilo::data_type_of<char>(), buffer.data(), buffer.size(), {}};
}

// Reads until the source ends; returns the reads' results (true: still open).
bool read_to_end(FrameReader& reader, ScriptedSource& source, RecordingSink& sink,
                 std::uint64_t& bytes_read) {
  for (int turns = 0; turns < 1000000; ++turns)
    if (!reader.read(source, sink, bytes_read)) return false;
  throw std::logic_error("the reader never saw the end of the stream");
}

}  // namespace

TEST_CASE("frame reader: every kind of frame is handed on in order, however the reads cut it") {
  // Small and large (read straight into the receive's buffer) messages, and every other kind.
  const auto small = pattern(100, 1);
  const auto large = pattern(200 * 1024, 2);
  std::vector<std::byte> stream;
  append_message(stream, 1, 3, small);
  std::array<std::byte, hilo::tcp::offer_size> offer{};
  offer[0] = std::byte{9};
  append_frame(stream, hilo::tcp::frame_flag_offer, 1, 0, offer.data(), offer.size(), offer.size());
  append_message(stream, 1, 4, large);
  append_frame(stream, hilo::tcp::frame_flag_ready_to_send, 1, 5, nullptr, 0, 4 << 20);
  append_frame(stream, hilo::tcp::frame_flag_copied, 1, 0, nullptr, 0, 0);
  const std::string reason = "rank 1 ran out of patience";
  append_frame(stream, hilo::tcp::frame_flag_abort, 1, 0, reason.data(), reason.size(),
               reason.size());
  append_frame(stream, hilo::tcp::frame_flag_goodbye, 1, 0, nullptr, 0, 0);

  // Cut into reads of one byte, of a header and a bit, and as much as the reader asks for.
  const std::size_t chunk = GENERATE(std::size_t{1}, std::size_t{41}, std::size_t{1} << 20);
  CAPTURE(chunk);
  ScriptedSource source;
  source.bytes = stream;
  source.chunk = chunk;
  RecordingSink sink;
  std::vector<char> small_in(small.size());
  std::vector<char> large_in(large.size());
  auto small_receive = sink.box.post(1, 3, into(small_in));
  auto large_receive = sink.box.post(1, 4, into(large_in));

  FrameReader reader(limit);
  std::uint64_t bytes_read = 0;
  CHECK_FALSE(read_to_end(reader, source, sink, bytes_read));
  CHECK(errno == 0);  // an orderly end

  CHECK(sink.seen == std::vector<std::string>{
                         "message from 1 tag 3 of 100",
                         "control " + std::to_string(hilo::tcp::frame_flag_offer) + " first byte 9",
                         "message from 1 tag 4 of 204800", "ready-to-send of 4194304", "copied",
                         "abort: " + reason, "goodbye"});
  CHECK(bytes_read == stream.size());
  REQUIRE(sink.box.test(*small_receive));
  REQUIRE(sink.box.test(*large_receive));
  CHECK(small_in == small);
  CHECK(large_in == large);
  CHECK(reader.said_goodbye());
}

TEST_CASE("frame reader: a source with nothing for now ends the read, not the stream") {
  const auto payload = pattern(64, 3);
  std::vector<std::byte> stream;
  append_message(stream, 2, 8, payload);
  ScriptedSource source;
  source.bytes.assign(stream.begin(), stream.begin() + 50);  // the header and 10 bytes
  source.ends = false;
  RecordingSink sink;
  std::vector<char> received(payload.size());
  auto receive = sink.box.post(2, 8, into(received));
  FrameReader reader(limit);
  std::uint64_t bytes_read = 0;

  CHECK(reader.read(source, sink, bytes_read));
  CHECK_FALSE(sink.box.test(*receive));
  // The rest comes later: the message completes where it left off.
  source.bytes.insert(source.bytes.end(), stream.begin() + 50, stream.end());
  CHECK(reader.read(source, sink, bytes_read));
  REQUIRE(sink.box.test(*receive));
  CHECK(received == payload);
  CHECK(bytes_read == stream.size());
}

TEST_CASE("frame reader: a frame after goodbye is refused") {
  std::vector<std::byte> stream;
  append_frame(stream, hilo::tcp::frame_flag_goodbye, 1, 0, nullptr, 0, 0);
  append_message(stream, 1, 3, pattern(8, 4));
  ScriptedSource source;
  source.bytes = stream;
  RecordingSink sink;
  FrameReader reader(limit);
  std::uint64_t bytes_read = 0;
  CHECK_THROWS_WITH(reader.read(source, sink, bytes_read),
                    Catch::Matchers::Contains("a frame after its goodbye"));
  CHECK(sink.seen == std::vector<std::string>{"goodbye"});
}

TEST_CASE("frame reader: a stream cut mid-message fails the receive waiting for it") {
  const auto payload = pattern(64 * 1024, 5);
  std::vector<std::byte> stream;
  append_message(stream, 1, 3, payload);
  stream.resize(stream.size() - 1000);  // the peer died before the last 1000 bytes
  ScriptedSource source;
  source.bytes = stream;
  RecordingSink sink;
  std::vector<char> received(payload.size());
  auto receive = sink.box.post(1, 3, into(received));
  FrameReader reader(limit);
  std::uint64_t bytes_read = 0;

  CHECK_FALSE(read_to_end(reader, source, sink, bytes_read));
  CHECK_FALSE(sink.box.test(*receive));
  reader.cut_off(std::make_exception_ptr(hilo::Error("the peer is gone")));
  CHECK_THROWS_WITH(sink.box.test(*receive), Catch::Matchers::Contains("the peer is gone"));
}

TEST_CASE("frame reader: a cut-off abort reason is dropped; nothing waits for it") {
  const std::string reason = "it broke";
  std::vector<std::byte> stream;
  append_frame(stream, hilo::tcp::frame_flag_abort, 1, 0, reason.data(), reason.size() - 3,
               reason.size());
  ScriptedSource source;
  source.bytes = stream;
  RecordingSink sink;
  FrameReader reader(limit);
  std::uint64_t bytes_read = 0;
  CHECK_FALSE(read_to_end(reader, source, sink, bytes_read));
  reader.cut_off(std::make_exception_ptr(hilo::Error("gone")));
  CHECK(sink.seen.empty());
}
