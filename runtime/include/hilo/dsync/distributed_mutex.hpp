/// \file
/// hilo::DistributedMutex: a mutex over every rank of a communicator. At most one thread in the
/// whole job holds it; Lockable and TimedLockable, so std::scoped_lock, std::unique_lock and
/// std::lock work with it as with hilo::Mutex.
///
/// \code
/// hilo::DistributedMutex printer(world);             // collective: every rank constructs it
/// {
///   std::scoped_lock hold(printer);                  // one rank at a time past this line
///   append_to_the_shared_log();
/// }
/// \endcode
///
/// It is a hilo::DistributedSemaphore with one unit (see distributed_semaphore.hpp for how it
/// works, the FIFO fairness, the messages per lock/unlock: 2 per lock, 1 per unlock, and what
/// happens when a rank dies). Construction and destruction are collective.
///
/// Ownership belongs to the rank, not the thread: unlock() may be called by any thread of the
/// rank that locked it. A thread that locks it twice waits for itself until the time limit (the
/// communicator's default timeout), as with std::mutex; unlock() on a rank that does not hold it
/// throws hilo::Error.
#pragma once

#include <chrono>

#include "hilo/dsync/distributed_semaphore.hpp"

namespace hilo {

/// A mutex over every rank of a communicator: at most one thread in the whole job holds it
/// (see distributed_mutex.hpp). Construction and destruction are collective. Not copyable.
class DistributedMutex {
 public:
  /// Collective over `comm`; `coordinator` is the rank that grants the lock (the same on every
  /// rank).
  explicit DistributedMutex(Communicator& comm, int coordinator = 0)
      : semaphore_(comm, 1, coordinator) {}

  /// Waits in FIFO order. Throws hilo::Timeout after the communicator's default timeout,
  /// hilo::PeerLost if a rank died (tcp, local).
  void lock() { semaphore_.acquire(); }
  /// Takes the lock only if it is free and nobody is queued for it.
  bool try_lock() { return semaphore_.try_acquire(); }
  /// Waits at most `timeout` for the lock; false if it did not come (never returns false early).
  /// Throws hilo::PeerLost if a rank died (tcp, local).
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    return semaphore_.try_acquire_for(timeout);
  }
  /// try_lock_for until `deadline`.
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return semaphore_.try_acquire_until(deadline);
  }
  /// Releases the lock held by this rank (any of its threads); does not wait. Throws hilo::Error
  /// if this rank does not hold it.
  void unlock() { semaphore_.release(); }

  /// Whether this rank holds the lock right now (a snapshot).
  bool held_here() const noexcept { return semaphore_.held_here() > 0; }
  /// The rank that grants the lock.
  int coordinator() const noexcept { return semaphore_.coordinator(); }

 private:
  DistributedSemaphore semaphore_;
};

}  // namespace hilo
