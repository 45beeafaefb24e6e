/// \file
/// hilo::ByteBuffer, the bytes of one serialized message.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <utility>

namespace hilo {

/// The bytes of one serialized message: an owned run of bytes that grows geometrically and never
/// zero-fills, so a buffer about to be overwritten (a receive's staging, an archive growing) costs
/// only its allocation. (A std::vector<std::byte> zero-fills on resize, and one with a
/// default-initialising allocator copies byte by byte when it grows.) Move-only. Growing throws
/// std::bad_alloc when memory runs out; nothing else throws.
class ByteBuffer {
 public:
  /// Empty, with no storage.
  ByteBuffer() = default;
  /// Takes `other`'s storage; `other` becomes empty.
  ByteBuffer(ByteBuffer&& other) noexcept
      : bytes_(std::move(other.bytes_)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  /// Takes `other`'s storage (freeing this one's); `other` becomes empty.
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    bytes_ = std::move(other.bytes_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  /// The first byte (null before the first allocation).
  std::byte* data() { return bytes_.get(); }
  /// The first byte (null before the first allocation).
  const std::byte* data() const { return bytes_.get(); }
  /// How many bytes the buffer holds.
  std::size_t size() const { return size_; }
  /// How many bytes it can hold without reallocating.
  std::size_t capacity() const { return capacity_; }
  /// True when size() is 0.
  bool empty() const { return size_ == 0; }
  /// The first byte, for range for.
  std::byte* begin() { return data(); }
  /// Past the last byte.
  std::byte* end() { return data() + size_; }
  /// The first byte, for range for.
  const std::byte* begin() const { return data(); }
  /// Past the last byte.
  const std::byte* end() const { return data() + size_; }
  /// Byte `i` (unchecked: i < size()).
  std::byte& operator[](std::size_t i) { return bytes_[i]; }
  /// Byte `i` (unchecked: i < size()).
  std::byte operator[](std::size_t i) const { return bytes_[i]; }

  /// Sets the size; growing past the capacity at least doubles it. New bytes past the old size are
  /// left as they are (uninitialised).
  void resize(std::size_t size) {
    if (size > capacity_) reserve(std::max(size, capacity_ * 2));
    size_ = size;
  }
  /// Makes the capacity at least `capacity`, keeping the bytes.
  void reserve(std::size_t capacity) {
    if (capacity <= capacity_) return;
    auto bigger = std::make_unique_for_overwrite<std::byte[]>(capacity);
    if (size_ != 0) std::memcpy(bigger.get(), bytes_.get(), size_);
    bytes_ = std::move(bigger);
    capacity_ = capacity;
  }
  /// Appends `bytes` bytes copied from `data`.
  void append(const void* data, std::size_t bytes) {
    const std::size_t at = size_;
    resize(size_ + bytes);
    if (bytes != 0) std::memcpy(bytes_.get() + at, data, bytes);
  }
  /// Appends one byte.
  void push_back(std::byte b) { append(&b, 1); }
  /// Size 0; keeps the storage.
  void clear() { size_ = 0; }

  /// The same bytes (capacities may differ).
  friend bool operator==(const ByteBuffer& a, const ByteBuffer& b) {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data(), b.data(), a.size_) == 0);
  }

 private:
  std::unique_ptr<std::byte[]> bytes_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace hilo
