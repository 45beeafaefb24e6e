/// \file
/// A spare ByteBuffer that the typed layer borrows to encode and decode serialized values, one
/// per transport, so a loop sending or receiving large serialized values reuses the same memory.
///
/// Why: a fresh buffer for every message costs more than the encoding when it is large. glibc
/// hands blocks over 32 MiB back to the system when they are freed (and trims its heap past a
/// threshold), so the next buffer is fresh pages that the kernel maps and zeroes one 4 KiB page
/// fault at a time, several times slower to fill than a warm buffer. Boost.MPI and std:: offer no
/// such pool for this purpose, so it is written here.
#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

#include "hilo/comm/detail/byte_buffer.hpp"

namespace hilo {

/// Keeps at most one buffer, of at most max_kept_bytes of storage (a bigger one is freed, so a
/// communicator never holds more than that). One borrower at a time has the spare; a second one
/// borrowing meanwhile (a communicator used from several threads) gets an empty buffer of its own,
/// freed when it is done, rather than waiting. Borrowing is one atomic exchange and giving back
/// one store: a mutex's lock and unlock on both sides of every small message would be a
/// noticeable part of a small serialized message's cost. Borrow with BorrowedBuffer.
class ByteBufferCache {
 public:
  /// The largest storage the cache keeps; a bigger buffer is freed when given back.
  static constexpr std::size_t max_kept_bytes = std::size_t{64} << 20;

 private:
  friend class BorrowedBuffer;
  std::atomic<bool> lent_{false};
  ByteBuffer spare_;  // touched only by the borrower that set lent_
};

/// A buffer borrowed from a cache for one scope (empty, with the spare's storage if this borrower
/// got it) and given back when the scope ends, exception or not. Never blocks.
class BorrowedBuffer {
 public:
  /// Borrows the spare of `cache`, or starts an empty buffer of its own if another borrower has
  /// it. Never throws.
  explicit BorrowedBuffer(ByteBufferCache& cache)
      : cache_(cache), owner_(!cache.lent_.exchange(true, std::memory_order_acquire)) {
    if (owner_) buffer_ = std::move(cache_.spare_);
    buffer_.clear();
  }
  /// Gives the buffer back to the cache (if it came from there and is not too big).
  ~BorrowedBuffer() {
    if (!owner_) return;
    if (buffer_.capacity() <= ByteBufferCache::max_kept_bytes) cache_.spare_ = std::move(buffer_);
    cache_.lent_.store(false, std::memory_order_release);
  }
  BorrowedBuffer(const BorrowedBuffer&) = delete;
  BorrowedBuffer& operator=(const BorrowedBuffer&) = delete;

  /// The borrowed buffer.
  ByteBuffer& operator*() { return buffer_; }
  /// The borrowed buffer.
  ByteBuffer* operator->() { return &buffer_; }

 private:
  ByteBufferCache& cache_;
  bool owner_;
  ByteBuffer buffer_;
};

}  // namespace hilo
