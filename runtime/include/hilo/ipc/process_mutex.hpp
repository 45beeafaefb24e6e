/// \file
/// A mutex shared between processes, living inside a SharedMemory segment: a process-shared,
/// robust, error-checking pthread mutex. Lockable like hilo::Mutex (lock / try_lock / unlock,
/// try_lock_for), so std::scoped_lock and std::unique_lock work with it.
///
/// Creating it in one process and attaching from another:
///
/// \code
/// auto segment = hilo::ipc::SharedMemory::create("jobs", 4096);
/// auto mutex = hilo::ipc::ProcessMutex::create_in(segment, 0);     // bytes [0, storage_bytes)
/// ...
/// auto segment = hilo::ipc::SharedMemory::open("jobs");            // another process
/// auto mutex = hilo::ipc::ProcessMutex::attach_in(segment, 0);
/// std::scoped_lock lock(mutex);
/// \endcode
///
/// (A forked child may simply keep using the parent's ProcessMutex object: the mapping is
/// inherited.) The handle points into the mapping, so the segment must outlive it. The pthread
/// object is never destroyed explicitly: it ends with the segment's memory.
///
/// A holder that dies. If a process (or thread) exits or is killed while holding the mutex, the
/// next locker gets it anyway and is told so:
///   - lock(), try_lock() and try_lock_for() throw hilo::ipc::OwnerDied. When they do, the
///     CALLER HOLDS THE MUTEX and it has already been made consistent (pthread_mutex_consistent),
///     so it stays usable; the data it protects may be half-updated. Repair it, then unlock():
///
/// \code
///     try {
///       std::scoped_lock lock(mutex);
///       update(shared_data);
///     } catch (const hilo::ipc::OwnerDied&) {  // scoped_lock never took it: we must unlock
///       repair(shared_data);
///       mutex.unlock();
///     }
/// \endcode
///
///   - lock_robust() is the same without the exception: it returns true if the previous owner
///     died (and again the caller holds the mutex).
///
/// Locking (lock or try_lock) a mutex this thread already holds throws hilo::Error instead of
/// deadlocking, and so does unlocking one it does not hold.
///
/// Layout of the storage_bytes at the offset (for debugging from another language; only C/C++
/// code can lock it): a 32-bit word equal to ProcessMutex::magic once initialised, padding to
/// the alignment of pthread_mutex_t, then the pthread_mutex_t.
#pragma once

#include <pthread.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "hilo/errors.hpp"
#include "hilo/ipc/shared_memory.hpp"

namespace hilo::ipc {

// The previous holder of a ProcessMutex died while holding it. The thread that receives this
// holds the mutex (already made consistent) and must unlock it after repairing shared state.
class OwnerDied : public Error {
 public:
  using Error::Error;
};

/// A robust mutex shared between processes, living in a SharedMemory segment (see
/// process_mutex.hpp: a holder that dies, the layout). Lockable, so std::scoped_lock works.
/// Move-only; the segment must outlive it.
class ProcessMutex {
 public:
  /// What lives at the offset in the segment.
  struct Storage {
    /// Equal to magic once the mutex is initialised.
    std::uint32_t ready;  // == magic once the mutex is initialised
    /// The process-shared, robust, error-checking mutex.
    pthread_mutex_t mutex;
  };
  /// Bytes the mutex takes in the segment.
  static constexpr std::size_t storage_bytes = sizeof(Storage);
  /// Alignment the offset needs.
  static constexpr std::size_t storage_alignment = alignof(Storage);
  /// "HLMX" read as little-endian bytes: marks an initialised mutex.
  static constexpr std::uint32_t magic = 0x584d4c48;  // "HLMX" read as little-endian bytes

  /// Initialises a new mutex in `segment` at `offset` (aligned to storage_alignment, with
  /// storage_bytes of room). Throws std::invalid_argument if it does not fit, hilo::Error if a
  /// ProcessMutex is already there (attach_in to it instead).
  static ProcessMutex create_in(SharedMemory& segment, std::size_t offset);
  /// Uses the mutex another process created at `offset`. Throws hilo::Error if there is none
  /// (yet): create_in must have returned first.
  static ProcessMutex attach_in(SharedMemory& segment, std::size_t offset);

  /// Takes over the handle; `other` becomes unusable (any call on it throws std::logic_error).
  ProcessMutex(ProcessMutex&& other) noexcept : storage_(other.storage_) {
    other.storage_ = nullptr;
  }
  /// Takes over the handle; `other` becomes unusable.
  ProcessMutex& operator=(ProcessMutex&& other) noexcept {
    storage_ = other.storage_;
    other.storage_ = nullptr;
    return *this;
  }
  ProcessMutex(const ProcessMutex&) = delete;
  ProcessMutex& operator=(const ProcessMutex&) = delete;
  ~ProcessMutex() = default;

  /// Blocks until this thread holds the mutex. Throws OwnerDied (holding it) as described above.
  void lock();
  /// Returns false at once if another thread or process holds it. Throws OwnerDied (holding it).
  bool try_lock();
  /// Waits at most `timeout` (steady clock). Throws OwnerDied (holding it).
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    return try_lock_for_nanoseconds(std::chrono::ceil<std::chrono::nanoseconds>(timeout).count());
  }
  /// Releases the mutex. Throws hilo::Error if this thread does not hold it.
  void unlock();

  /// lock() without the exception: returns true if the previous owner died (the caller holds
  /// the mutex, made consistent; repair the protected data before unlocking).
  [[nodiscard]] bool lock_robust();

 private:
  explicit ProcessMutex(Storage* storage) noexcept : storage_(storage) {}
  bool try_lock_for_nanoseconds(long long nanoseconds);
  Storage& storage() const;

  Storage* storage_;
};

}  // namespace hilo::ipc
