/// \file
/// hilo::Request, the handle of a nonblocking send or receive, and wait_all / wait_any.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <vector>

#include "hilo/comm/detail/pending_operations.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/comm/types.hpp"

namespace hilo {

/// A nonblocking send or receive in flight (MPI_Request), returned by Communicator::isend and
/// Communicator::irecv. It owns what the operation needs (the sent value, the staging bytes of a
/// serialized receive), so it can outlive the call that made it. Destroying an unfinished request
/// cancels a receive and lets a send complete. Move-only.
///
/// Lifetime: a request may be destroyed at any time, even after its communicator and the
/// hilo::Runtime are gone. It may be waited for (wait, wait_all) while its communicator or
/// another of the same world (world, and those split or dup'ed from them) still exists: a wait
/// is recorded in their shared list of pending calls. A request whose wait or test has seen it
/// complete returns its Status at any time.
class Request {
 public:
  /// An empty request: valid() is false, and wait() or test() throw std::invalid_argument.
  Request() = default;
  /// Made by the communicator: `operation` in the backend, `on_complete` run once when it
  /// completes (e.g. to decode a serialized receive), `default_limit` the communicator's default
  /// time limit for wait().
  /// `origin` says what a wait is recorded as among the rank's pending operations (nothing if
  /// empty).
  Request(std::unique_ptr<Operation> operation, std::function<void()> on_complete,
          std::optional<std::chrono::nanoseconds> default_limit, detail::RequestOrigin origin = {})
      : operation_(std::move(operation)),
        on_complete_(std::move(on_complete)),
        default_limit_(default_limit),
        origin_(std::move(origin)) {}
  /// Moves the operation; `other` becomes empty.
  Request(Request&&) noexcept = default;
  /// Moves the operation; an unfinished operation this request held is dropped as by the
  /// destructor.
  Request& operator=(Request&&) noexcept = default;

  /// Blocks until the operation completes and returns its Status (MPI_Wait); at once if it
  /// already has. Throws hilo::Timeout after `limit` (the communicator's default if none),
  /// hilo::PeerLost if the peer is gone, hilo::Error if the operation failed (e.g. the message did
  /// not fit the receive), std::invalid_argument if the request is empty. While it blocks it is
  /// listed among the rank's pending operations (as the call that made the request, at the
  /// wait's call site), and a hilo::Timeout's message ends with them.
  Status wait(TimeLimit limit = {}, CallSite where = CallSite::current());
  /// True once complete (then wait() returns at once), false while still in flight (MPI_Test).
  /// Never blocks. Throws what the operation failed with, and std::invalid_argument for an
  /// empty request.
  bool test();
  /// False for a default-constructed or moved-from request.
  bool valid() const { return operation_ != nullptr || status_.has_value(); }
  /// True once wait() or test() has seen the operation complete.
  bool done() const { return status_.has_value(); }

 private:
  friend std::vector<Status> wait_all(std::span<Request> requests, TimeLimit limit, CallSite where);

  // When a wait for `limit` that began at `start` gives up: the limit if one is given, else the
  // communicator's default, else never.
  Deadline deadline_from(Deadline::Clock::time_point start, TimeLimit limit) const;
  Status wait_until(Deadline deadline);
  // wait_until, recorded as pending at `where` meanwhile, a Timeout listing what is pending.
  Status recorded_wait_until(Deadline deadline, const CallSite& where);
  void finish(Status status);

  std::unique_ptr<Operation> operation_;
  std::function<void()> on_complete_;  // e.g. decode a serialized receive into the user's object
  std::optional<std::chrono::nanoseconds> default_limit_;
  std::optional<Status> status_;
  detail::RequestOrigin origin_;
};

/// Waits for every request (MPI_Waitall); returns their statuses in order. Blocks. The first
/// failure is rethrown after all the others were waited for, so no request is left dangling. A
/// limit bounds the whole call: every request not complete by then fails with hilo::Timeout;
/// without one, each request's communicator default applies. Throws std::invalid_argument for an
/// empty request in the list.
/// While it waits for a request, that request is listed among the rank's pending operations (as
/// Request::wait) at wait_all's call site, and a hilo::Timeout's message ends with them.
std::vector<Status> wait_all(std::span<Request> requests, TimeLimit limit = {},
                             CallSite where = CallSite::current());
/// Waits until one request is complete and returns its index (MPI_Waitany): the lowest index of
/// a complete request, which may be one completed earlier. Empty requests are skipped. Blocks,
/// polling the requests; only `limit` bounds it (not the communicators' defaults), then it
/// throws hilo::Timeout. Throws std::invalid_argument for an empty list, and what a failed request
/// throws.
std::size_t wait_any(std::span<Request> requests, TimeLimit limit = {});

}  // namespace hilo
