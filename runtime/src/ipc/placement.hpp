// Private helper for the ipc layer: placing a process-shared object (ProcessMutex,
// ProcessSemaphore) inside a segment, and finding it again from another process.
//
// Each object's Storage starts with a 32-bit `ready` word. create_in constructs the Storage,
// the caller initialises the pthread/sem object in it, then publish() stores the type's magic
// number with release ordering; attach_in accepts the place only once it reads that magic.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"
#include "hilo/ipc/shared_memory.hpp"

namespace hilo::ipc::detail {

static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free,
              "the ready word is read by other processes: it must be a lock-free atomic");

// The address of `bytes` bytes at `offset` in `segment`, checked to fit and to be aligned for
// an object of `alignment`; `what` names the call in the message ("ipc::ProcessMutex::create_in").
inline std::byte* place_in(SharedMemory& segment, std::size_t offset, std::size_t bytes,
                           std::size_t alignment, const std::string& what) {
  if (offset % alignment != 0) {
    hilo::detail::throw_error<std::invalid_argument>("hilo: ", what, ": offset ", offset,
                                                     " is not a multiple of ", alignment,
                                                     " (the object's alignment)");
  }
  if (offset > segment.size() || segment.size() - offset < bytes) {
    hilo::detail::throw_error<std::invalid_argument>(
        "hilo: ", what, ": ", bytes, " bytes at offset ", offset, " do not fit in segment \"",
        segment.name(), "\" of ", segment.size(), " bytes");
  }
  return segment.bytes().data() + offset;
}

template <class Storage>
std::atomic_ref<std::uint32_t> ready_word(Storage& storage) {
  return std::atomic_ref<std::uint32_t>(storage.ready);
}

// For create_in: a value-initialised Storage at `offset`. Refuses to overwrite a published
// object of the same type, which another process may be using.
template <class Storage>
Storage* construct_in(SharedMemory& segment, std::size_t offset, std::uint32_t magic,
                      const std::string& type_name) {
  std::byte* place = place_in(segment, offset, sizeof(Storage), alignof(Storage),
                              "ipc::" + type_name + "::create_in");
  if (ready_word(*reinterpret_cast<Storage*>(place)).load(std::memory_order_acquire) == magic) {
    hilo::detail::throw_error<Error>("hilo: ipc::", type_name, "::create_in: segment \"",
                                     segment.name(), "\" already holds a ", type_name,
                                     " at offset ", offset, "; use attach_in to share it");
  }
  return new (place) Storage{};
}

// For create_in, once the object in `storage` is initialised: from now on attach_in finds it.
template <class Storage>
void publish(Storage& storage, std::uint32_t magic) {
  ready_word(storage).store(magic, std::memory_order_release);
}

// For attach_in: the published Storage at `offset`.
template <class Storage>
Storage* published_in(SharedMemory& segment, std::size_t offset, std::uint32_t magic,
                      const std::string& type_name) {
  std::byte* place = place_in(segment, offset, sizeof(Storage), alignof(Storage),
                              "ipc::" + type_name + "::attach_in");
  auto* storage = reinterpret_cast<Storage*>(place);
  if (ready_word(*storage).load(std::memory_order_acquire) != magic) {
    hilo::detail::throw_error<Error>(
        "hilo: ipc::", type_name, "::attach_in: there is no ", type_name, " at offset ", offset,
        " of segment \"", segment.name(),
        "\": the creating process must call create_in first (and both must agree on the offset)");
  }
  return storage;
}

// The storage a handle points to; a moved-from handle points nowhere. Using one is a mistake in
// the calling code, std::logic_error as for a moved-from ChildProcess (errors.hpp).
template <class Storage>
Storage& storage_of_handle(Storage* storage, const std::string& type_name) {
  if (storage == nullptr) {
    hilo::detail::throw_error<std::logic_error>(
        "hilo: ipc::", type_name, ": this handle was moved from; use the one it moved to");
  }
  return *storage;
}

}  // namespace hilo::ipc::detail
