/// \file
/// The exceptions hilo throws. Every layer raises these (or std::invalid_argument for a bad
/// argument at a call site), so user code can catch hilo::Error for anything hilo reports.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace hilo {

/// Anything hilo reports at run time. The message says what was wrong and what to do.
/// The base of hilo::Timeout, hilo::PeerLost and hilo::ipc::OwnerDied.
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
