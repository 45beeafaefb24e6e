/// \file
/// A counting semaphore shared between processes, living inside a SharedMemory segment: a
/// process-shared POSIX sem_t. Same method names as hilo::Semaphore (acquire, try_acquire,
/// try_acquire_for, release).
///
/// \code
/// auto segment = hilo::ipc::SharedMemory::create("licences", 4096);
/// auto licences = hilo::ipc::ProcessSemaphore::create_in(segment, 0, /*initial=*/3);
/// ...
/// auto segment = hilo::ipc::SharedMemory::open("licences");          // another process
/// auto licences = hilo::ipc::ProcessSemaphore::attach_in(segment, 0);
/// licences.acquire(); ... licences.release();
/// \endcode
///
/// A holder that dies. A counting semaphore has no owner: it only counts, so it cannot know that
/// the process which took a unit has died, and that unit is lost for good (the count stays one
/// lower). Unlike ProcessMutex there is no way to detect or repair this. What to do about it:
///   - wait with try_acquire_for(timeout) rather than acquire() where peers may die, so that a
///     lost unit shows up as a timeout you can report instead of a hang;
///   - if units must come back when a holder dies, use k ProcessMutex objects as k "slots"
///     (a robust mutex is released by the kernel when its holder dies);
///   - value() shows how many units are free, to diagnose a leak.
///
/// Layout of the storage_bytes at the offset: a 32-bit word equal to ProcessSemaphore::magic
/// once initialised, padding to the alignment of sem_t, then the sem_t.
#pragma once

#include <semaphore.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "hilo/errors.hpp"
#include "hilo/ipc/shared_memory.hpp"

namespace hilo::ipc {

/// A counting semaphore shared between processes, living in a SharedMemory segment (see
/// process_semaphore.hpp: a holder that dies loses its unit). Move-only; the segment must outlive
/// it.
class ProcessSemaphore {
 public:
  /// What lives at the offset in the segment.
  struct Storage {
    /// Equal to magic once the semaphore is initialised.
    std::uint32_t ready;  // == magic once the semaphore is initialised
    /// The process-shared POSIX semaphore.
    sem_t semaphore;
  };
  /// Bytes the semaphore takes in the segment.
  static constexpr std::size_t storage_bytes = sizeof(Storage);
  /// Alignment the offset needs.
  static constexpr std::size_t storage_alignment = alignof(Storage);
  /// "HLSM" read as little-endian bytes: marks an initialised semaphore.
  static constexpr std::uint32_t magic = 0x4d534c48;  // "HLSM" read as little-endian bytes

  /// Initialises a semaphore with `initial` free units in `segment` at `offset`. Throws
  /// std::invalid_argument if it does not fit or `initial` is above SEM_VALUE_MAX, hilo::Error if
  /// a ProcessSemaphore is already there (attach_in to it instead).
  static ProcessSemaphore create_in(SharedMemory& segment, std::size_t offset,
                                    unsigned int initial);
  /// Uses the semaphore another process created at `offset`. Throws hilo::Error if there is none.
  static ProcessSemaphore attach_in(SharedMemory& segment, std::size_t offset);

  /// Takes over the handle; `other` becomes unusable (any call on it throws std::logic_error).
  ProcessSemaphore(ProcessSemaphore&& other) noexcept : storage_(other.storage_) {
    other.storage_ = nullptr;
  }
  /// Takes over the handle; `other` becomes unusable.
  ProcessSemaphore& operator=(ProcessSemaphore&& other) noexcept {
    storage_ = other.storage_;
    other.storage_ = nullptr;
    return *this;
  }
  ProcessSemaphore(const ProcessSemaphore&) = delete;
  ProcessSemaphore& operator=(const ProcessSemaphore&) = delete;
  ~ProcessSemaphore() = default;

  /// Blocks until a unit is free and takes it (signals interrupting the wait are retried).
  void acquire();
  /// Takes a unit if one is free right now.
  bool try_acquire();
  /// Waits at most `timeout` (steady clock) for a unit.
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& timeout) {
    return try_acquire_for_nanoseconds(
        std::chrono::ceil<std::chrono::nanoseconds>(timeout).count());
  }
  /// Gives back `units` units (any process may release, as with any counting semaphore).
  /// Throws hilo::Error if the count would pass SEM_VALUE_MAX.
  void release(unsigned int units = 1);
  /// The number of free units at this instant (already stale when it returns; for diagnostics).
  int value() const;

 private:
  explicit ProcessSemaphore(Storage* storage) noexcept : storage_(storage) {}
  bool try_acquire_for_nanoseconds(long long nanoseconds);
  Storage& storage() const;

  Storage* storage_;
};

}  // namespace hilo::ipc
