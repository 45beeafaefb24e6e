#include "hilo/comm/request.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <thread>
#include <utility>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo {

void Request::finish(Status status) {
  operation_.reset();
  status_ = status;
  if (on_complete_) std::exchange(on_complete_, nullptr)();
}

Deadline Request::deadline_from(Deadline::Clock::time_point start, TimeLimit limit) const {
  return limit.duration.count() >= 0 ? Deadline::after(start, limit.duration)
         : default_limit_            ? Deadline::after(start, *default_limit_)
                                     : Deadline::never();
}

Status Request::wait(TimeLimit limit, CallSite where) {
  if (status_) return *status_;  // complete: nothing to wait for, nothing to record
  // The clock is read only when a limit applies: most waits have none.
  const bool limited = limit.duration.count() >= 0 || default_limit_;
  return recorded_wait_until(
      limited ? deadline_from(Deadline::Clock::now(), limit) : Deadline::never(), where);
}

Status Request::recorded_wait_until(Deadline deadline, const CallSite& where) {
  if (status_) return *status_;
  // An empty request throws at once and records nothing: a moved-from one keeps its origin's
  // registry pointer, which may have outlived its communicators.
  if (!operation_) return wait_until(deadline);
  const detail::BlockingCall& call = origin_.call;
  detail::PendingOperations::Entry entry(origin_.pending, call.operation, call.peer, call.role,
                                         call.tag, origin_.communicator, where);
  try {
    return wait_until(deadline);
  } catch (const Timeout& timeout) {
    detail::rethrow_with_pending(timeout, origin_.pending, origin_.rank);
  }
}

Status Request::wait_until(Deadline deadline) {
  if (status_) return *status_;
  if (!operation_)
    detail::throw_error<std::invalid_argument>(
        "hilo: wait on an empty hilo::Request (default-constructed or moved from)");
  finish(operation_->wait(deadline));
  return *status_;
}

bool Request::test() {
  if (status_) return true;
  if (!operation_)
    detail::throw_error<std::invalid_argument>(
        "hilo: test on an empty hilo::Request (default-constructed or moved from)");
  if (!operation_->test()) return false;
  finish(operation_->wait(Deadline::never()));  // complete: returns at once with the status
  return true;
}

std::vector<Status> wait_all(std::span<Request> requests, TimeLimit limit, CallSite where) {
  const auto start = Deadline::Clock::now();  // one limit for the whole call
  std::vector<Status> statuses(requests.size());
  std::exception_ptr first;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    try {
      statuses[i] = requests[i].recorded_wait_until(requests[i].deadline_from(start, limit), where);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
  return statuses;
}

std::size_t wait_any(std::span<Request> requests, TimeLimit limit) {
  if (requests.empty())
    detail::throw_error<std::invalid_argument>("hilo: wait_any on an empty list of requests");
  Deadline d = limit.duration.count() >= 0 ? Deadline::after(limit.duration) : Deadline::never();
  // Polls with a growing pause: requests of different backends share no single thing to block on.
  auto pause = std::chrono::microseconds(1);
  for (;;) {
    for (std::size_t i = 0; i < requests.size(); ++i)
      if (requests[i].valid() && requests[i].test()) return i;
    if (d.expired())
      detail::throw_error<Timeout>("hilo: wait_any: none of ", requests.size(),
                                   " requests completed in time");
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(500));
  }
}

}  // namespace hilo
