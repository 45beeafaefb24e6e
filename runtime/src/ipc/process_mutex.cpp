#include "hilo/ipc/process_mutex.hpp"

#include <cerrno>
#include <string>

#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "ipc/placement.hpp"
#include "ipc/timed_wait.hpp"

namespace hilo::ipc {
namespace {

using hilo::detail::make_message;
using hilo::detail::throw_error;

// The start of every message: "hilo: ipc::ProcessMutex".
constexpr const char* kWho = "hilo: ipc::ProcessMutex";

void check(int result, const char* step) {
  if (result != 0) throw_error<Error>(kWho, ": ", step, " failed: ", common::errno_text(result));
}

std::string owner_died_message(const char* call) {
  return make_message(kWho, "::", call,
                      ": the previous holder died while holding the mutex. This thread now holds "
                      "it and it has been made consistent; the data it protects may be "
                      "half-updated: repair it, then call unlock()");
}

// Turns what a pthread lock call returned into: true = locked normally, false = busy or timed
// out, OwnerDied = locked after a dead owner, hilo::Error = anything else.
bool interpret_lock_result(int result, pthread_mutex_t& mutex, const char* call) {
  switch (result) {
    case 0:
      return true;
    case EBUSY:
    case ETIMEDOUT:
      return false;
    case EOWNERDEAD:
      check(pthread_mutex_consistent(&mutex), "pthread_mutex_consistent");
      throw OwnerDied(owner_died_message(call));
    case EDEADLK:
      throw_error<Error>(kWho, "::", call,
                         ": this thread already holds the mutex (it is not recursive); unlock it "
                         "first");
    case ENOTRECOVERABLE:
      throw_error<Error>(kWho, "::", call,
                         ": the mutex is unusable: a holder died and the next one unlocked it "
                         "without making it consistent. Create a new segment and mutex");
    default:
      throw_error<Error>(kWho, "::", call, ": failed: ", common::errno_text(result));
  }
}

}  // namespace

ProcessMutex ProcessMutex::create_in(SharedMemory& segment, std::size_t offset) {
  Storage* storage = detail::construct_in<Storage>(segment, offset, magic, "ProcessMutex");

  pthread_mutexattr_t attributes;
  check(pthread_mutexattr_init(&attributes), "pthread_mutexattr_init");
  // The attributes object owns nothing on Linux, but destroy it on every path all the same.
  struct AttributesGuard {
    pthread_mutexattr_t* attributes;
    ~AttributesGuard() { pthread_mutexattr_destroy(attributes); }
  } guard{&attributes};
  check(pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED),
        "pthread_mutexattr_setpshared");
  // Robust: a dead holder hands the next locker EOWNERDEAD instead of wedging everyone.
  check(pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST),
        "pthread_mutexattr_setrobust");
  // Error-checking: relocking or a foreign unlock is reported instead of deadlocking.
  check(pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK),
        "pthread_mutexattr_settype");
  check(pthread_mutex_init(&storage->mutex, &attributes), "pthread_mutex_init");

  detail::publish(*storage, magic);
  return ProcessMutex(storage);
}

ProcessMutex ProcessMutex::attach_in(SharedMemory& segment, std::size_t offset) {
  return ProcessMutex(detail::published_in<Storage>(segment, offset, magic, "ProcessMutex"));
}

ProcessMutex::Storage& ProcessMutex::storage() const {
  return detail::storage_of_handle(storage_, "ProcessMutex");
}

void ProcessMutex::lock() {
  pthread_mutex_t& mutex = storage().mutex;
  interpret_lock_result(pthread_mutex_lock(&mutex), mutex, "lock");
}

bool ProcessMutex::lock_robust() {
  try {
    lock();
    return false;
  } catch (const OwnerDied&) {
    return true;
  }
}

bool ProcessMutex::try_lock() {
  pthread_mutex_t& mutex = storage().mutex;
  return interpret_lock_result(pthread_mutex_trylock(&mutex), mutex, "try_lock");
}

bool ProcessMutex::try_lock_for_nanoseconds(long long nanoseconds) {
  pthread_mutex_t& mutex = storage().mutex;
  if (nanoseconds <= 0) return try_lock();
  return interpret_lock_result(detail::timed_lock(&mutex, nanoseconds), mutex, "try_lock_for");
}

void ProcessMutex::unlock() {
  int result = pthread_mutex_unlock(&storage().mutex);
  if (result == EPERM) {
    throw_error<Error>(kWho,
                       "::unlock: this thread does not hold the mutex (only the holder may unlock "
                       "it)");
  }
  check(result, "pthread_mutex_unlock");
}

}  // namespace hilo::ipc
