#include "backends/tcp/pending_reporter.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

namespace hilo::tcp {

namespace {
launch::WaitRole role_of(detail::PeerRole role) {
  switch (role) {
    case detail::PeerRole::source:
      return launch::WaitRole::source;
    case detail::PeerRole::dest:
      return launch::WaitRole::dest;
    case detail::PeerRole::root:
      return launch::WaitRole::root;
    case detail::PeerRole::none:
      break;
  }
  return launch::WaitRole::none;
}
}  // namespace

launch::RankReport pending_report(const std::vector<detail::PendingOperation>& pending,
                                  std::uint32_t request) {
  launch::RankReport report;
  report.kind = launch::ReportKind::pending;
  report.request = request;
  for (const detail::PendingOperation& op : pending) {
    if (report.pending.size() == launch::max_reported_operations) break;
    launch::ReportedOperation row;
    row.operation = std::string(op.operation);
    row.peer = op.peer;
    row.role = role_of(op.role);
    row.tag = op.tag;
    row.communicator = std::string(op.communicator);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(op.waiting).count();
    row.waiting_ms = static_cast<std::uint32_t>(
        std::clamp<std::int64_t>(ms, 0, std::numeric_limits<std::uint32_t>::max()));
    row.call_site = std::string(detail::base_name(op.file)) + ":" + std::to_string(op.line);
    row.text = detail::describe_one_pending(op);
    report.pending.push_back(std::move(row));
  }
  return report;
}

void PendingReporter::attach(std::shared_ptr<const detail::PendingOperations> registry) {
  std::lock_guard lock(mutex_);
  registry_ = std::move(registry);
}

void PendingReporter::answer_requests(int epoll_fd) noexcept {
  for (std::uint32_t request : channel_->take_requests(epoll_fd)) send(request);
}

void PendingReporter::report_timeout() noexcept {
  send(0);
}

void PendingReporter::send(std::uint32_t request) noexcept {
  try {
    std::shared_ptr<const detail::PendingOperations> registry;
    {
      std::lock_guard lock(mutex_);
      registry = registry_;
    }
    channel_->send(pending_report(
        registry ? registry->snapshot() : std::vector<detail::PendingOperation>{}, request));
  } catch (...) {
    // No memory for the report: hilorun says "no answer" for this rank.
  }
}

}  // namespace hilo::tcp
