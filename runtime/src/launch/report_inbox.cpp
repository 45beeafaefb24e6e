#include "launch/report_inbox.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "common/message_prefix.hpp"
#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::launch {

struct ReportInbox::Connection {
  int rank;
  common::UniqueFd fd;
  ReportDecoder decoder;
  bool over = false;  // EOF, error or garbage: nothing more is read; run() closes it
};

ReportInbox::ReportInbox() {
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) common::throw_errno("hilo: report inbox: eventfd");
}

ReportInbox::~ReportInbox() = default;

void ReportInbox::adopt(int rank, common::UniqueFd connection) {
  std::lock_guard lock(mutex_);
  connections_.push_back({rank, std::move(connection), ReportDecoder(rank), false});
}

void ReportInbox::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_reader();
}

void ReportInbox::wake_reader() {
  std::uint64_t one = 1;
  // The counter cannot overflow before run() reads it; a failure here has no remedy.
  [[maybe_unused]] ssize_t written = ::write(wake_.get(), &one, sizeof one);
}

bool ReportInbox::read_available(Connection& c) {
  if (c.over) return false;
  char buffer[4096];
  while (true) {
    ssize_t got = ::recv(c.fd.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (got <= 0) {
      c.over = true;  // the rank exited (a cut-off last report is dropped with it)
      answered_.notify_all();
      wake_reader();  // run() closes it, even when drain() was the one that read the end
      return false;
    }
    try {
      for (RankReport& report : c.decoder.feed({buffer, static_cast<std::size_t>(got)})) {
        if (report.kind == ReportKind::peer_lost) {
          reports_.push_back(std::move(report));
        } else if (report.kind == ReportKind::pending && report.request == 0) {
          timeouts_.try_emplace(c.rank, std::move(report));
        } else if (report.kind == ReportKind::pending) {
          answers_[c.rank] = std::move(report);
          answered_.notify_all();
        } else {
          throw Error("hilo: a report request, which only hilorun sends");
        }
      }
    } catch (const Error& e) {
      c.over = true;
      answered_.notify_all();
      wake_reader();
      std::erase_if(reports_, [&](const RankReport& r) { return r.reporter == c.rank; });
      // "... sent malformed rank report: ...": the inner message without its "hilo: ".
      const std::string line = detail::make_message("hilorun: ignoring the reports of rank ",
                                                    c.rank, ": its report connection sent ",
                                                    common::without_hilo_prefix(e.what()), "\n");
      [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
      return false;
    }
  }
}

void ReportInbox::run() {
  std::vector<pollfd> polled;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      std::erase_if(connections_, [](const Connection& c) { return c.over; });
      polled.clear();
      polled.push_back({wake_.get(), POLLIN, 0});
      for (const Connection& c : connections_) polled.push_back({c.fd.get(), POLLIN, 0});
    }
    // No lock while waiting: drain() may read meanwhile, but only this thread closes fds.
    if (::poll(polled.data(), polled.size(), -1) < 0) {
      if (errno == EINTR) continue;
      common::throw_errno("hilo: report inbox: poll");
    }
    std::lock_guard lock(mutex_);
    if (polled[0].revents != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] ssize_t got = ::read(wake_.get(), &count, sizeof count);
      if (stopping_) return;
      continue;  // a connection ended: the loop's top closes it
    }
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      if (polled[i + 1].revents != 0) read_available(connections_[i]);
    }
  }
}

std::vector<RankReport> ReportInbox::drain() {
  std::lock_guard lock(mutex_);
  for (Connection& c : connections_) read_available(c);
  return reports_;
}

std::map<int, RankReport> ReportInbox::ask_pending(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::unique_lock lock(mutex_);
  const std::uint32_t request = ++last_request_;
  RankReport ask;
  ask.kind = ReportKind::report_request;
  ask.request = request;
  const std::string bytes = encode_report(ask);
  std::vector<int> asked;
  for (Connection& c : connections_) {
    if (c.over) continue;
    // A few bytes into an idle socket's buffer: taken whole, or the rank is not reading at all
    // (then it cannot answer either).
    const ssize_t sent =
        ::send(c.fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent == static_cast<ssize_t>(bytes.size())) asked.push_back(c.rank);
  }
  auto settled = [&] {
    for (Connection& c : connections_) read_available(c);
    for (int rank : asked) {
      auto answer = answers_.find(rank);
      if (answer != answers_.end() && answer->second.request == request) continue;
      auto c = std::find_if(connections_.begin(), connections_.end(),
                            [&](const Connection& k) { return k.rank == rank; });
      if (c != connections_.end() && !c->over) return false;
    }
    return true;
  };
  answered_.wait_until(lock, deadline, settled);
  std::map<int, RankReport> answers;
  for (int rank : asked) {
    auto answer = answers_.find(rank);
    if (answer != answers_.end() && answer->second.request == request)
      answers.emplace(rank, answer->second);
  }
  return answers;
}

std::map<int, RankReport> ReportInbox::take_timeouts() {
  std::lock_guard lock(mutex_);
  for (Connection& c : connections_) read_available(c);
  return timeouts_;
}

}  // namespace hilo::launch
