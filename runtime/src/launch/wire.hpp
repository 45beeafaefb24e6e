// The launch layer's wire encoding: big-endian integers and length-prefixed strings, written
// into a std::string and read back from a buffer that may hold only part of a message. Shared by
// the rendezvous (rendezvous.hpp) and the ranks' reports to hilorun (rank_report.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace hilo::launch {

// Builds a message: each call appends one big-endian field.
class ByteWriter {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void str16(const std::string& s) {
    u16(static_cast<std::uint16_t>(s.size()));
    bytes_ += s;
  }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

// Reads from a buffer that may hold only part of a message: each call returns false (and takes
// nothing more) when the bytes are not there yet.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  bool u8(std::uint8_t& v) {
    if (bytes_.size() - pos_ < 1) return false;
    v = static_cast<std::uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool u16(std::uint16_t& v) {
    std::uint8_t hi = 0, lo = 0;
    if (bytes_.size() - pos_ < 2) return false;
    u8(hi);
    u8(lo);
    v = static_cast<std::uint16_t>(hi << 8 | lo);
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint16_t hi = 0, lo = 0;
    if (bytes_.size() - pos_ < 4) return false;
    u16(hi);
    u16(lo);
    v = static_cast<std::uint32_t>(hi) << 16 | lo;
    return true;
  }
  bool i32(std::int32_t& v) {
    std::uint32_t u = 0;
    if (!u32(u)) return false;
    v = static_cast<std::int32_t>(u);
    return true;
  }
  bool bytes(std::size_t n, std::string& out) {
    if (bytes_.size() - pos_ < n) return false;
    out.assign(bytes_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  std::size_t consumed() const { return pos_; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

}  // namespace hilo::launch
