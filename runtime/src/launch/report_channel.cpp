#include "launch/report_channel.hpp"

#include <sys/socket.h>

#include <cerrno>

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

}  // namespace hilo::launch
