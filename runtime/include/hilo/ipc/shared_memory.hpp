/// \file
/// A named POSIX shared memory segment (shm_open + ftruncate + mmap), mapped read-write.
///
/// Layout, for readers in other languages: a segment called "name" is the file /dev/shm/name on
/// Linux, and its contents are exactly the bytes of bytes() — no header, no length prefix, no
/// padding added by hilo. Its size is the file size (fstat). What the bytes mean is up to the
/// program: examples/shared_memory stores a NUL-terminated UTF-8 string at offset 0. Python reads
/// it with multiprocessing.shared_memory.SharedMemory("name") or by mmap-ing /dev/shm/name.
///
/// Ownership: the process that create()s a segment unlinks its name when that SharedMemory is
/// destroyed (RAII); processes that open() it only unmap. The memory itself lives on until the
/// last mapping goes away, so openers that still hold it keep reading valid bytes after the
/// creator is gone; only new open()s fail.
///
/// \code
/// auto segment = hilo::ipc::SharedMemory::create("hilo_demo", 4096);   // process A
/// auto view = hilo::ipc::SharedMemory::open("hilo_demo");              // process B
/// std::span<std::byte> bytes = view.bytes();
/// \endcode
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace hilo::ipc {

/// A named POSIX shared memory segment, mapped read-write (see shared_memory.hpp for the layout
/// and who unlinks the name). Move-only.
class SharedMemory {
 public:
  /// Creates a new segment of `bytes` bytes (zero-filled, mode 0600: readable by this user only)
  /// and maps it. `name` may start with one '/' (POSIX style) and must not contain any other '/'.
  /// Throws std::invalid_argument for a bad name or a size of 0, and hilo::Error if the name is
  /// already in use (the message says how to remove a stale one) or the system refuses.
  static SharedMemory create(std::string_view name, std::size_t bytes);

  /// Maps an existing segment with its whole size. Throws hilo::Error if there is no segment of
  /// that name, or if it is still empty (its creator has not sized it yet: retry).
  static SharedMemory open(std::string_view name);

  /// Unlinks the name of a segment left behind (e.g. by a creator that was killed). Returns
  /// false if there was no such segment. Processes that have it mapped are not affected.
  static bool remove(std::string_view name);

  /// Takes over the mapping; `other` has none.
  SharedMemory(SharedMemory&& other) noexcept;
  /// Releases this mapping (unlinking the name if this is the creator), then takes over `other`'s.
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  /// The whole segment's bytes.
  std::span<std::byte> bytes() const noexcept { return {address_, size_}; }
  /// The segment's size in bytes.
  std::size_t size() const noexcept { return size_; }
  /// The name without the leading '/': the file name under /dev/shm, and what Python expects.
  const std::string& name() const noexcept { return name_; }
  /// True in the process that create()d it (which unlinks the name on destruction).
  bool is_creator() const noexcept { return creator_; }

 private:
  SharedMemory(std::string name, std::byte* address, std::size_t size, bool creator) noexcept
      : name_(std::move(name)), address_(address), size_(size), creator_(creator) {}
  void release() noexcept;

  std::string name_;
  std::byte* address_ = nullptr;
  std::size_t size_ = 0;
  bool creator_ = false;
};

}  // namespace hilo::ipc
