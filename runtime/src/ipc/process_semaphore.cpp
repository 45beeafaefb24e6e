#include "hilo/ipc/process_semaphore.hpp"

#include <atomic>
#include <cerrno>
#include <climits>
#include <new>
#include <stdexcept>
#include <string>

#include "ipc/deadline.hpp"
#include "ipc/errno_text.hpp"
#include "ipc/placement.hpp"

namespace hilo::ipc {
namespace {

static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free,
              "the ready word is read by other processes: it must be a lock-free atomic");

[[noreturn]] void fail(const char* call, int error_number) {
  throw Error(std::string("hilo::ipc::ProcessSemaphore::") + call +
              " failed: " + detail::errno_text(error_number));
}

}  // namespace

ProcessSemaphore ProcessSemaphore::create_in(SharedMemory& segment, std::size_t offset,
                                             unsigned int initial) {
  if (initial > static_cast<unsigned int>(SEM_VALUE_MAX)) {
    throw std::invalid_argument("hilo::ipc::ProcessSemaphore::create_in: initial count " +
                                std::to_string(initial) + " is above SEM_VALUE_MAX (" +
                                std::to_string(SEM_VALUE_MAX) + ")");
  }
  std::byte* place = detail::place_in(segment, offset, storage_bytes, storage_alignment,
                                      "hilo::ipc::ProcessSemaphore::create_in");
  auto* storage = reinterpret_cast<Storage*>(place);
  if (std::atomic_ref<std::uint32_t>(storage->ready).load(std::memory_order_acquire) == magic) {
    throw Error("hilo::ipc::ProcessSemaphore::create_in: segment \"" + segment.name() +
                "\" already holds a ProcessSemaphore at offset " + std::to_string(offset) +
                "; use attach_in to share it");
  }
  storage = new (place) Storage{};
  if (sem_init(&storage->semaphore, /*pshared=*/1, initial) != 0) fail("create_in", errno);
  // Publish: attach_in in another process only touches the semaphore after seeing this.
  std::atomic_ref<std::uint32_t>(storage->ready).store(magic, std::memory_order_release);
  return ProcessSemaphore(storage);
}

ProcessSemaphore ProcessSemaphore::attach_in(SharedMemory& segment, std::size_t offset) {
  std::byte* place = detail::place_in(segment, offset, storage_bytes, storage_alignment,
                                      "hilo::ipc::ProcessSemaphore::attach_in");
  auto* storage = reinterpret_cast<Storage*>(place);
  if (std::atomic_ref<std::uint32_t>(storage->ready).load(std::memory_order_acquire) != magic) {
    throw Error("hilo::ipc::ProcessSemaphore::attach_in: there is no ProcessSemaphore at offset " +
                std::to_string(offset) + " of segment \"" + segment.name() +
                "\": the creating process must call create_in first (and both must agree on "
                "the offset)");
  }
  return ProcessSemaphore(storage);
}

ProcessSemaphore::Storage& ProcessSemaphore::storage() const {
  if (storage_ == nullptr) {
    throw Error("hilo::ipc::ProcessSemaphore: this handle was moved from; use the one it moved to");
  }
  return *storage_;
}

void ProcessSemaphore::acquire() {
  sem_t& semaphore = storage().semaphore;
  while (sem_wait(&semaphore) != 0) {
    if (errno != EINTR) fail("acquire", errno);
  }
}

bool ProcessSemaphore::try_acquire() {
  sem_t& semaphore = storage().semaphore;
  while (sem_trywait(&semaphore) != 0) {
    if (errno == EAGAIN) return false;
    if (errno != EINTR) fail("try_acquire", errno);
  }
  return true;
}

bool ProcessSemaphore::try_acquire_for_nanoseconds(long long nanoseconds) {
  if (nanoseconds <= 0) return try_acquire();
  sem_t& semaphore = storage().semaphore;
  // An absolute deadline, so a wait restarted after EINTR does not start counting again.
  timespec deadline = detail::semaphore_deadline_after(nanoseconds);
  while (detail::timed_wait(&semaphore, deadline) != 0) {
    if (errno == ETIMEDOUT) return false;
    if (errno != EINTR) fail("try_acquire_for", errno);
  }
  return true;
}

void ProcessSemaphore::release(unsigned int units) {
  sem_t& semaphore = storage().semaphore;
  for (unsigned int i = 0; i < units; ++i) {
    if (sem_post(&semaphore) != 0) {
      int error = errno;
      if (error == EOVERFLOW) {
        throw Error(
            "hilo::ipc::ProcessSemaphore::release: the count would pass SEM_VALUE_MAX "
            "(more releases than acquires?)");
      }
      fail("release", error);
    }
  }
}

int ProcessSemaphore::value() const {
  int free_units = 0;
  if (sem_getvalue(&storage().semaphore, &free_units) != 0) fail("value", errno);
  return free_units;
}

}  // namespace hilo::ipc
