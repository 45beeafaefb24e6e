// The launch layer's messages: big-endian integers (common/byte_order.hpp) and length-prefixed
// strings, written into a std::string and read back from a buffer that may hold only part of a
// message. Shared by the rendezvous (rendezvous.hpp) and the ranks' reports to hilorun
// (rank_report.hpp). Not to be confused with hilo/comm/codec.hpp's ByteWriter/ByteReader, which
// are std::streambufs that Boost.Serialization archives write user objects through.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/byte_order.hpp"

namespace hilo::launch {

// Builds a message: each call appends one big-endian field.
class ByteWriter {
 public:
  void u8(std::uint8_t v) { append(v); }
  void u16(std::uint16_t v) { append(v); }
  void u32(std::uint32_t v) { append(v); }
  void i32(std::int32_t v) { append(v); }
  void str16(const std::string& s) {
    u16(static_cast<std::uint16_t>(s.size()));
    bytes_ += s;
  }
  std::string take() { return std::move(bytes_); }

 private:
  template <class T>
  void append(T v) {
    common::append_int<std::endian::big>(bytes_, v);
  }

  std::string bytes_;
};

// Reads from a buffer that may hold only part of a message: each call returns false (and takes
// nothing more) when the bytes are not there yet.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  bool u8(std::uint8_t& v) { return take(v); }
  bool u16(std::uint16_t& v) { return take(v); }
  bool u32(std::uint32_t& v) { return take(v); }
  bool i32(std::int32_t& v) { return take(v); }
  bool bytes(std::size_t n, std::string& out) {
    if (bytes_.size() - pos_ < n) return false;
    out.assign(bytes_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  std::size_t consumed() const { return pos_; }

 private:
  template <class T>
  bool take(T& v) {
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    v = common::read_int<std::endian::big, T>(bytes_.data() + pos_);
    pos_ += sizeof(T);
    return true;
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
};

}  // namespace hilo::launch
