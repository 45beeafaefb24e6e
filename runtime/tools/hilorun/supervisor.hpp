// hilorun's event loop: forwards the ranks' output, reaps them, forwards signals, and stops the
// whole job when one rank fails or the --timeout expires.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "launch/rank_report.hpp"
#include "output_files.hpp"
#include "rank_process.hpp"

namespace hilo::hilorun {

struct SupervisorSettings {
  bool tag_output = false;
  const OutputFiles* output_files = nullptr;  // --output-filename, or none
  bool output_to_terminal = true;             // false with --output-nocopy
  std::optional<double> timeout_seconds;      // --timeout
  // How long stopped ranks get between SIGTERM and SIGKILL.
  std::chrono::milliseconds grace{2000};
  // The ranks' reports (rank_report.hpp), fetched once every rank has ended; none if unset.
  std::function<std::vector<launch::RankReport>()> collect_reports;
  // The wait-for report (wait_for_report.hpp), printed on --timeout expiry before the ranks are
  // stopped, on SIGQUIT (the job goes on), and when the first rank to fail had reported a
  // hilo::Timeout (before the others are stopped); none if unset. ask_pending asks the running
  // ranks for their pending operations and returns the answers that came within the limit;
  // take_timeouts the reports ranks sent on a Timeout.
  std::function<std::map<int, launch::RankReport>(std::chrono::milliseconds)> ask_pending;
  std::function<std::map<int, launch::RankReport>()> take_timeouts;
  // How long the ranks get to answer.
  std::chrono::milliseconds answer_limit{2000};
};

// Runs until every rank has been reaped and its output drained; returns hilorun's exit status:
// 0 when every rank exited 0; the first failed rank's status (128+N for signal N) after one line
// on stderr naming it; 124 after --timeout; 128+N after hilorun itself got signal N.
// The first failed rank is the first one reaped that failed, unless the reports show it failed
// because it lost a rank that had failed on its own first: then that rank, followed back as far
// as the reports go (launch::trace_first_failure). waitpid() returns ranks that ended in the
// same instant in no meaningful order; the reports say who caused whom to fail.
// `signal_fd` is a signalfd for SIGCHLD, SIGINT, SIGTERM, SIGHUP and SIGQUIT (blocked by the
// caller). SIGQUIT prints the wait-for report and does not stop the job.
int supervise(std::vector<RankProcess>& ranks, int signal_fd, const SupervisorSettings& settings);

}  // namespace hilo::hilorun
