// hilo::Request: a nonblocking send or receive in flight. It owns what the operation needs (the
// sent value, the staging bytes of a serialized receive), so it can outlive the call that made
// it. Destroying an unfinished request cancels a receive and lets a send complete.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "hilo/comm/transport.hpp"
#include "hilo/comm/types.hpp"

namespace hilo {

class Request {
 public:
  Request() = default;
  Request(std::unique_ptr<Operation> operation, std::function<void()> on_complete,
          std::optional<std::chrono::nanoseconds> default_limit)
      : operation_(std::move(operation)),
        on_complete_(std::move(on_complete)),
        default_limit_(default_limit) {}
  Request(Request&&) noexcept = default;
  Request& operator=(Request&&) noexcept = default;

  // Blocks until complete; hilo::Timeout after the limit (the communicator's default if none).
  Status wait(TimeLimit limit = {});
  // True once complete (then wait() returns at once). Never blocks.
  bool test();
  bool valid() const { return operation_ != nullptr || status_.has_value(); }
  bool done() const { return status_.has_value(); }

 private:
  friend std::vector<Status> wait_all(std::span<Request> requests, TimeLimit limit);

  // When a wait for `limit` that began at `start` gives up: the limit if one is given, else the
  // communicator's default, else never.
  Deadline deadline_from(Deadline::Clock::time_point start, TimeLimit limit) const;
  Status wait_until(Deadline deadline);
  void finish(Status status);

  std::unique_ptr<Operation> operation_;
  std::function<void()> on_complete_;  // e.g. decode a serialized receive into the user's object
  std::optional<std::chrono::nanoseconds> default_limit_;
  std::optional<Status> status_;
};

// Waits for every request; returns their statuses in order. The first failure is rethrown after
// all the others were waited for, so no request is left dangling. A limit bounds the whole call:
// every request not complete by then fails with hilo::Timeout.
std::vector<Status> wait_all(std::span<Request> requests, TimeLimit limit = {});
// Waits until one request completes and returns its index.
std::size_t wait_any(std::span<Request> requests, TimeLimit limit = {});

}  // namespace hilo
