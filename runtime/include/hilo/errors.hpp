/// \file
/// The exceptions hilo throws, and which one a failure raises. The rule, in every layer:
///
///  - **std::invalid_argument**: an argument that is wrong on its own, checkable on the calling
///    rank before anything is sent: a rank or tag out of range, a negative or too large count,
///    sizes that do not fit together, a null function, a bad constructor argument. Fix the call.
///    Its base std::logic_error (ipc) is a call on an object that cannot take it: a moved-from
///    handle, a pipe end this process closed. Fix the calling code as well.
///  - **hilo::Error** (or its subclasses hilo::Timeout and hilo::PeerLost): anything that
///    involves other ranks or the system: a peer lost, a time limit run out, a malformed or
///    mismatched message (a receive whose type or size does not fit what was sent), ranks in
///    different collectives (hilo::CollectiveMismatch), an MPI
///    failure, a bad environment variable or hostfile, a system call that failed.
///
/// Messages start "hilo: <operation> on rank <R>: " where there is an operation and a rank, and
/// say what was wrong and what to do. Catch hilo::Error for anything hilo reports at run time;
/// std::invalid_argument is a mistake in the calling code.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace hilo {

/// Anything hilo reports at run time. The message says what was wrong and what to do.
/// The base of hilo::Timeout, hilo::PeerLost, hilo::CollectiveMismatch and hilo::ipc::OwnerDied.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A timed wait ran out: a timed acquire, barrier, receive or collective. The message names the
/// operation and, for communication, the peer and tag it was waiting on.
class Timeout : public Error {
 public:
  using Error::Error;
};

/// Ranks called different collectives where they had to call the same one: another operation,
/// another root, another element type or count where the operation needs the same on every rank,
/// or the same collectives in another order. Every rank involved raises it, and its message names
/// the communicator and, for two ranks that differ, what each is in and where it was called:
///
///     hilo: collective mismatch on world: rank 0 is in broadcast (root 0) at main.cpp:12,
///     rank 1 is in all_reduce at main.cpp:15
///
/// (one line). Raised on the mpi backend when HILO_CHECK=collectives is set: one small extra
/// MPI_Allgather before each blocking collective compares the calls, a scan's vector lengths
/// included. Without it, ranks in different collectives get whatever MPI makes of it (a hang, a
/// wrong result, an MPI error on some ranks); a scan of vectors of different lengths that
/// MPI_Scan runs returns wrong values on some ranks and MPI_ERR_TRUNCATE (hilo::Error) on others
/// (README, "Ranks in different collectives"). On the local and tcp backends every collective
/// message carries a stamp of its call, and a rank that receives one of another call raises it,
/// as does the peer it tells; every later collective on that communicator raises it again.
/// Nonblocking collectives (ibarrier, ...) are not checked.
class CollectiveMismatch : public Error {
 public:
  using Error::Error;
};

/// A peer process went away (closed, reset, killed) while an operation needed it.
class PeerLost : public Error {
 public:
  /// `what` is the message; `rank` and `host` name the rank that was lost.
  PeerLost(const std::string& what, int rank, std::string host)
      : Error(what), rank_(rank), host_(std::move(host)) {}
  /// The rank that was lost, numbered as in the world communicator.
  int rank() const noexcept { return rank_; }
  /// The host that rank ran on, as far as the backend knows it (may be empty).
  const std::string& host() const noexcept { return host_; }

 private:
  int rank_;
  std::string host_;
};

}  // namespace hilo
