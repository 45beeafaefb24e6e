// A rank's side of hilorun's wait-for report (issue 20): sends the rank's pending blocking
// operations (hilo/comm/detail/pending_operations.hpp) to hilorun on its report connection
// (launch/report_channel.hpp) when a call raises hilo::Timeout, and when hilorun asks.
//
// Who reads hilorun's requests: the engine's progress loop watches the connection with its
// sockets (engine.hpp), so a request is answered while every user thread is blocked or busy
// computing, with no user call and no thread of its own. The registry is attached once the world
// communicator exists; a request that comes before that is answered with no operations.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "hilo/comm/detail/pending_operations.hpp"
#include "launch/rank_report.hpp"
#include "launch/report_channel.hpp"

namespace hilo::tcp {

class PendingReporter {
 public:
  explicit PendingReporter(std::shared_ptr<launch::ReportChannel> channel)
      : channel_(std::move(channel)) {}

  // The registry of the rank's calls (the world communicator's, shared by those made from it).
  void attach(std::shared_ptr<const detail::PendingOperations> registry);

  // The connection to watch for requests (-1: none).
  int fd() const { return channel_->fd(); }

  // Answers every request hilorun has sent (see ReportChannel::take_requests for `epoll_fd`).
  void answer_requests(int epoll_fd) noexcept;

  // A call is about to raise hilo::Timeout (its own operation still pending): reports them all.
  void report_timeout() noexcept;

 private:
  void send(std::uint32_t request) noexcept;

  std::shared_ptr<launch::ReportChannel> channel_;
  mutable std::mutex mutex_;  // guards registry_: attached by the user's thread, read by any
  std::shared_ptr<const detail::PendingOperations> registry_;
};

// The report of `pending` answering `request` (0: a Timeout).
launch::RankReport pending_report(const std::vector<detail::PendingOperation>& pending,
                                  std::uint32_t request);

}  // namespace hilo::tcp
