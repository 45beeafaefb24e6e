#include "hilo/ipc/process_semaphore.hpp"

#include <cerrno>
#include <climits>
#include <stdexcept>
#include <string>

#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "ipc/placement.hpp"
#include "ipc/timed_wait.hpp"

namespace hilo::ipc {
namespace {

[[noreturn]] void fail(const char* call, int error_number) {
  hilo::detail::throw_error<Error>("hilo: ipc::ProcessSemaphore::", call,
                                   ": failed: ", common::errno_text(error_number));
}

}  // namespace

ProcessSemaphore ProcessSemaphore::create_in(SharedMemory& segment, std::size_t offset,
                                             unsigned int initial) {
  if (initial > static_cast<unsigned int>(SEM_VALUE_MAX)) {
    hilo::detail::throw_error<std::invalid_argument>(
        "hilo: ipc::ProcessSemaphore::create_in: initial count ", initial,
        " is above SEM_VALUE_MAX (", SEM_VALUE_MAX, ")");
  }
  Storage* storage = detail::construct_in<Storage>(segment, offset, magic, "ProcessSemaphore");
  if (sem_init(&storage->semaphore, /*pshared=*/1, initial) != 0) fail("create_in", errno);
  detail::publish(*storage, magic);
  return ProcessSemaphore(storage);
}

ProcessSemaphore ProcessSemaphore::attach_in(SharedMemory& segment, std::size_t offset) {
  return ProcessSemaphore(
      detail::published_in<Storage>(segment, offset, magic, "ProcessSemaphore"));
}

ProcessSemaphore::Storage& ProcessSemaphore::storage() const {
  return detail::storage_of_handle(storage_, "ProcessSemaphore");
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
  // The monotonic deadline decides. timed_wait's own clock is the wall clock under
  // ThreadSanitizer (timed_wait.hpp), which can move ahead of the monotonic one: a 150 ms wait
  // once timed out after 149.7 ms. So a timeout counts only once the monotonic deadline has
  // passed; before that the wait goes on for what is left.
  const timespec give_up = detail::deadline_after(CLOCK_MONOTONIC, nanoseconds);
  for (long long left = nanoseconds; left > 0; left = detail::nanoseconds_until(give_up)) {
    // An absolute deadline, so a wait restarted after EINTR does not start counting again.
    const timespec deadline = detail::semaphore_deadline_after(left);
    for (;;) {
      if (detail::timed_wait(&semaphore, deadline) == 0) return true;
      if (errno == ETIMEDOUT) break;
      if (errno != EINTR) fail("try_acquire_for", errno);
    }
  }
  return false;
}

void ProcessSemaphore::release(unsigned int units) {
  sem_t& semaphore = storage().semaphore;
  for (unsigned int i = 0; i < units; ++i) {
    if (sem_post(&semaphore) != 0) {
      int error = errno;
      if (error == EOVERFLOW) {
        hilo::detail::throw_error<Error>(
            "hilo: ipc::ProcessSemaphore::release: the count would pass SEM_VALUE_MAX (more "
            "releases than acquires?)");
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
