#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <utility>

namespace hilo {

// The bytes of one serialized message: an owned run of bytes that grows geometrically and never
// zero-fills, so a buffer about to be overwritten (a receive's staging, an archive growing) costs
// only its allocation. (A std::vector<std::byte> zero-fills on resize, and one with a
// default-initialising allocator copies byte by byte when it grows.)
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&& other) noexcept
      : bytes_(std::move(other.bytes_)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    bytes_ = std::move(other.bytes_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  std::byte* data() { return bytes_.get(); }
  const std::byte* data() const { return bytes_.get(); }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::byte* begin() { return data(); }
  std::byte* end() { return data() + size_; }
  const std::byte* begin() const { return data(); }
  const std::byte* end() const { return data() + size_; }
  std::byte& operator[](std::size_t i) { return bytes_[i]; }
  std::byte operator[](std::size_t i) const { return bytes_[i]; }

  // New bytes past the old size are left as they are (uninitialised).
  void resize(std::size_t size) {
    if (size > capacity_) reserve(std::max(size, capacity_ * 2));
    size_ = size;
  }
  void reserve(std::size_t capacity) {
    if (capacity <= capacity_) return;
    auto bigger = std::make_unique_for_overwrite<std::byte[]>(capacity);
    if (size_ != 0) std::memcpy(bigger.get(), bytes_.get(), size_);
    bytes_ = std::move(bigger);
    capacity_ = capacity;
  }
  void append(const void* data, std::size_t bytes) {
    const std::size_t at = size_;
    resize(size_ + bytes);
    if (bytes != 0) std::memcpy(bytes_.get() + at, data, bytes);
  }
  void push_back(std::byte b) { append(&b, 1); }
  void clear() { size_ = 0; }  // keeps the storage

  friend bool operator==(const ByteBuffer& a, const ByteBuffer& b) {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data(), b.data(), a.size_) == 0);
  }

 private:
  std::unique_ptr<std::byte[]> bytes_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace hilo
