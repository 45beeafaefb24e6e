/// \file
/// hilo::DistributedSemaphore: a counting semaphore shared by every rank of a communicator, on any
/// backend (local, mpi, tcp). At most `k` units are held at once across the whole job; threads
/// of any rank acquire and release them like hilo::Semaphore's units.
///
/// \code
/// hilo::DistributedSemaphore licences(world, 3);   // collective: every rank constructs it
/// licences.acquire();                              // waits for one of the 3 licences
/// use_the_licensed_tool();
/// licences.release();
/// ...                                              // or hilo::SemaphoreGuard guard(licences);
/// }                                                // collective again: every rank destroys it
/// \endcode
///
/// How it works (mpi4py's util.sync Semaphore, built on hilo's point-to-point): one rank, the
/// coordinator (rank 0 unless told otherwise), runs a service thread that owns the count and a
/// FIFO queue of waiting requests. A request is granted when a unit is free and every earlier
/// request has been served, so no rank starves however busy the others are. The service thread
/// talks over a dup() of the communicator, so its messages never mix with the program's own, and
/// it serves requests while the coordinator's own threads do other work (or hold units).
///
/// Messages per operation (each a 16-byte message; a rank talking to itself still sends one):
///   acquire / try_acquire_for that gets a unit:   2 (request, grant)
///   try_acquire (never waits):                     2 (request, granted or refused)
///   try_acquire_for that runs out of time:         4 (request, cancel, one answer, all to/from
///                                                     the coordinator)
///   release:                                       1 (one way; it returns without waiting)
/// So the coordinator handles 3 messages per acquire/release pair; with many ranks competing
/// hard for units it is the bottleneck, as in any central lock manager.
///
/// Time limits. acquire() waits at most the communicator's default timeout (HILO_TIMEOUT, or
/// without limit when it is unset) and then throws hilo::Timeout, having withdrawn its request:
/// a unit granted later is not lost. try_acquire_for(d) waits at most d and returns false; if the
/// grant crosses the withdrawal on the wire it returns true a little after d (the unit is yours).
///
/// Failures. Every wait is a receive from the coordinator, so a backend that detects dead peers
/// reports it there: on tcp a rank that dies (killed, crashed), holding a unit or not, makes the
/// waiting acquires throw hilo::PeerLost instead of hanging forever. It names the dead rank, or
/// the coordinator if that rank saw the loss first and ended. On local the same happens when a
/// rank's function throws (after its units came back, see below). Under MPI a dead rank usually
/// ends the whole job (mpirun's default).
///
/// Construction and destruction are collective: every rank of `comm` must construct it with the
/// same k and coordinator (checked: a mismatch throws hilo::Error on every rank), and
/// every rank must destroy it. The destructor tells the coordinator this rank is done and waits
/// (at most the communicator's default timeout) until every rank is done, then the coordinator's
/// service thread ends. Units a rank still holds when it destroys the semaphore are given back.
/// No thread of a rank may be using the semaphore when that rank destroys it. A destructor run
/// by an exception unwinding the rank does not wait for the others (they may never come): it
/// gives back this rank's units, or on the coordinator stops serving, and the backend reports
/// this rank as lost to whoever waits on it (PeerLost on tcp and local; mpirun ends the job).
///
/// Thread safety: any number of threads of each rank may call acquire/try_acquire*/release at
/// once; over MPI this needs MPI_THREAD_MULTIPLE (hilo asks for it; the constructor throws
/// hilo::Error if the MPI library did not provide it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "hilo/comm/communicator.hpp"

namespace hilo {

namespace detail {
class SemaphoreCoordinator;
}

/// A counting semaphore shared by every rank of a communicator: at most `k` units held at once
/// across the job (see distributed_semaphore.hpp for how it works, its time limits and failures).
/// Construction and destruction are collective. Not copyable.
class DistributedSemaphore {
 public:
  /// Collective over `comm`. Throws std::invalid_argument if this rank passed k < 1 or a
  /// `coordinator` that is not a rank of `comm`; hilo::Error if another rank did, or the ranks
  /// passed different values (every rank throws, naming the rank that was wrong).
  DistributedSemaphore(Communicator& comm, int k, int coordinator = 0);
  DistributedSemaphore(const DistributedSemaphore&) = delete;
  DistributedSemaphore& operator=(const DistributedSemaphore&) = delete;
  /// Collective: see above. Never throws; a shutdown that cannot complete (a peer lost, the
  /// default timeout) is reported on stderr.
  ~DistributedSemaphore();

  /// Takes a unit, waiting in FIFO order behind earlier requests. Throws hilo::Timeout after the
  /// communicator's default timeout, hilo::PeerLost if a rank died (tcp, local).
  void acquire();
  /// Takes a unit if one is free and nobody is queued for one; never waits in the queue (it
  /// still makes one round trip to the coordinator).
  bool try_acquire();
  /// Waits at most `timeout` for a unit; false if none came (never returns false early).
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& timeout) {
    return try_acquire_within(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  /// try_acquire_for until `deadline`.
  template <class Clock, class Duration>
  bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return try_acquire_within(
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()));
  }
  /// Gives back one unit this rank holds (taken by any of its threads). Throws hilo::Error if this
  /// rank holds none (a release without an acquire), changing nothing.
  void release();

  /// The most units that can be held at once.
  int limit() const noexcept { return limit_; }
  /// The rank whose service thread grants the units.
  int coordinator() const noexcept { return coordinator_; }
  /// Units held right now by this rank's threads (a snapshot).
  int held_here() const noexcept { return held_here_.load(std::memory_order_relaxed); }

 private:
  bool try_acquire_within(std::chrono::nanoseconds timeout);
  // Sends a request of `kind` and waits at most `limit` for its answer; on running out of time
  // withdraws the request. Returns whether a unit was granted.
  bool request_unit(int kind, TimeLimit limit, const char* operation);
  int lease_reply_tag();
  void return_reply_tag(int tag);
  void shut_down() noexcept;
  void stop_service_thread() noexcept;

  Communicator service_;  // dup() of the user's communicator: only this semaphore's messages
  int limit_;
  int coordinator_;
  std::atomic<int> held_here_{0};
  // Each waiting request gets its own reply tag, so that concurrent threads of this rank each
  // receive their own answer. Tags are reused once their answer has been received.
  std::mutex reply_tags_mutex_;
  std::vector<int> free_reply_tags_;
  int next_reply_tag_;
  int uncaught_at_construction_;  // to tell a destructor run by stack unwinding
  std::unique_ptr<detail::SemaphoreCoordinator> service_thread_;  // on the coordinator only
};

}  // namespace hilo
