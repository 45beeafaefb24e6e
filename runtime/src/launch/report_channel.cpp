#include "launch/report_channel.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include "hilo/errors.hpp"

namespace hilo::launch {

ReportChannel::ReportChannel(common::UniqueFd connection) : connection_(std::move(connection)) {}

void ReportChannel::send(const RankReport& report) noexcept {
  try {
    const std::string bytes = encode_report(report);
    std::lock_guard lock(mutex_);
    if (!connection_) return;
    ssize_t sent;
    do {
      sent = ::send(connection_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    if (sent != static_cast<ssize_t>(bytes.size())) connection_.reset();
  } catch (...) {
    // Out of memory for a few dozen bytes: the report is lost, the rank goes on to fail as it
    // would have without one.
  }
}

int ReportChannel::fd() {
  std::lock_guard lock(mutex_);
  return connection_ ? connection_.get() : -1;
}

std::vector<std::uint32_t> ReportChannel::take_requests(int epoll_fd) noexcept {
  std::vector<std::uint32_t> requests;
  std::lock_guard lock(mutex_);
  if (!connection_ || reading_over_) return requests;
  try {
    char buffer[256];
    while (true) {
      const ssize_t got = ::recv(connection_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return requests;
      if (got <= 0) break;  // hilorun has gone, or the socket failed
      for (const RankReport& report : requests_.feed({buffer, static_cast<std::size_t>(got)})) {
        if (report.kind != ReportKind::report_request) throw Error("not a report request");
        requests.push_back(report.request);
      }
    }
  } catch (...) {
    // Garbage, or no memory: nothing more from this connection is trusted.
  }
  reading_over_ = true;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, connection_.get(), nullptr);
  return requests;
}

}  // namespace hilo::launch
