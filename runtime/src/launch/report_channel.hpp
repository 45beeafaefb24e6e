// The rank's end of its report connection to hilorun (rank_report.hpp): the socket it registered
// on, kept open for the life of the job when hilorun is the coordinator.
#pragma once

#include <mutex>

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

 private:
  std::mutex mutex_;  // guards connection_: one report is written whole before the next
  common::UniqueFd connection_;
};

}  // namespace hilo::launch
