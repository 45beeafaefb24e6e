// The rank's end of its report connection to hilorun (rank_report.hpp): the socket it registered
// on, kept open for the life of the job when hilorun is the coordinator. Reports go out on it;
// hilorun's report requests come in on it, read by whoever watches fd() (the tcp backend's
// progress loop) through take_requests().
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "common/unique_fd.hpp"
#include "launch/rank_report.hpp"

namespace hilo::launch {

class ReportChannel {
 public:
  // Takes the connected socket that register_with_coordinator() handed over.
  explicit ReportChannel(common::UniqueFd connection);
  ReportChannel(const ReportChannel&) = delete;
  ReportChannel& operator=(const ReportChannel&) = delete;

  // Best effort and never blocks: a report that the socket does not take whole at once is the
  // last one (the channel closes, so hilorun sees a cut-off report and EOF, never a stream out of
  // step). A rank must not stall because its launcher is slow or gone. Safe from any thread.
  void send(const RankReport& report) noexcept;

  // The socket, to watch for hilorun's requests (-1 once closed). Closing it removes it from any
  // epoll set; only this class closes it.
  int fd();

  // Reads what hilorun sent without waiting and returns the numbers of the report requests
  // completed. When the connection has ended (hilorun gone) or sent anything but requests, it is
  // removed from `epoll_fd` (so a level-triggered watch does not fire forever) and not read again;
  // reports can still be sent if the socket takes them. Safe from any thread.
  std::vector<std::uint32_t> take_requests(int epoll_fd) noexcept;

 private:
  std::mutex mutex_;  // guards everything below: one report is written whole before the next
  common::UniqueFd connection_;
  ReportDecoder requests_{-1};
  bool reading_over_ = false;
};

}  // namespace hilo::launch
