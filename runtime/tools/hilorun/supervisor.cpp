#include "supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>

#include "common/deadline.hpp"
#include "common/system_error.hpp"
#include "output_forwarder.hpp"
#include "wait_for_report.hpp"

namespace hilo::hilorun {
namespace {

using Clock = std::chrono::steady_clock;

// Why the job is being stopped; the first reason wins.
enum class StopReason { none, rank_failed, signalled, timed_out };

// "exited with status 3" or "killed by signal 9 (Killed)".
std::string describe_status(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    int s = WTERMSIG(wait_status);
    return "killed by signal " + std::to_string(s) + " (" + ::strsignal(s) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
}

int exit_code_of(int wait_status) {
  return WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
}

// "SIGTERM", or "signal 42" for one without a name.
std::string signal_name(int signal_number) {
  const char* abbreviation = ::sigabbrev_np(signal_number);
  if (abbreviation) return std::string("SIG").append(abbreviation);
  return std::string("signal ").append(std::to_string(signal_number));
}

std::string plural(int n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

class Supervisor {
 public:
  Supervisor(std::vector<RankProcess>& ranks, int signal_fd, const SupervisorSettings& settings)
      : ranks_(ranks), signal_fd_(signal_fd), settings_(settings) {
    for (const RankProcess& rank : ranks_) {
      std::string prefix;
      if (settings.tag_output) {
        prefix.append("[").append(std::to_string(rank.placement().rank)).append("] ");
      }
      int rank_number = rank.placement().rank;
      const OutputFiles* files = settings.output_files;
      for (int stream : {STDOUT_FILENO, STDERR_FILENO}) {
        forwarders_.emplace_back(settings.output_to_terminal ? stream : -1, prefix,
                                 files ? files->fd(rank_number, stream) : -1);
      }
    }
    if (settings.timeout_seconds) {
      job_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(*settings.timeout_seconds));
    }
  }

  int run() {
    while (true) {
      bool any_running = false, any_output = false;
      for (RankProcess& rank : ranks_) {
        any_running = any_running || rank.running();
        any_output = any_output || rank.output(1) || rank.output(2);
      }
      if (!any_running && !any_output) break;
      auto now = Clock::now();
      // Every rank is gone; whatever still holds a pipe was killed with its group, so EOF is
      // imminent. Bounded anyway: hilorun must end.
      if (!any_running && !drain_deadline_) drain_deadline_ = now + settings_.grace;
      if (drain_deadline_ && now >= *drain_deadline_) break;
      wait_for_events();
      now = Clock::now();
      if (job_deadline_ && now >= *job_deadline_) {
        job_deadline_.reset();  // reached: not a wake-up time any more, whatever happens next
        if (reason_ == StopReason::none) on_timeout();
      }
      if (kill_deadline_ && now >= *kill_deadline_) {
        kill_deadline_.reset();
        for (std::size_t i = 0; i < ranks_.size(); ++i) signal_rank(i, SIGKILL);
      }
    }
    for (std::size_t i = 0; i < ranks_.size(); ++i) {
      forwarders_[2 * i].finish();
      forwarders_[2 * i + 1].finish();
    }
    return finish();
  }

 private:
  void wait_for_events() {
    std::optional<Clock::time_point> wake_at;
    for (auto& deadline : {job_deadline_, kill_deadline_, drain_deadline_}) {
      if (deadline && (!wake_at || *deadline < *wake_at)) wake_at = deadline;
    }
    const int timeout = wake_at ? common::poll_timeout(*wake_at) : -1;
    polled_.clear();
    polled_.push_back({signal_fd_, POLLIN, 0});
    for (RankProcess& rank : ranks_) {
      polled_.push_back({rank.output(1).get(), POLLIN, 0});  // -1 (closed) is skipped by poll
      polled_.push_back({rank.output(2).get(), POLLIN, 0});
    }
    if (::poll(polled_.data(), polled_.size(), timeout) < 0) {
      if (errno == EINTR) return;
      common::throw_errno("poll");
    }
    for (std::size_t i = 0; i < ranks_.size(); ++i) {
      for (int stream : {1, 2}) {
        std::size_t slot = 2 * i + static_cast<std::size_t>(stream - 1);
        if (polled_[slot + 1].revents != 0) forward_output(i, stream, forwarders_[slot]);
      }
    }
    if (polled_[0].revents != 0) handle_signals();
  }

  void forward_output(std::size_t index, int stream, OutputForwarder& forwarder) {
    common::UniqueFd& fd = ranks_[index].output(stream);
    char buffer[65536];
    ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got > 0) {
      forwarder.feed(buffer, static_cast<std::size_t>(got));
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
      forwarder.finish();
      fd.reset();
    }
  }

  void handle_signals() {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
      if (info.ssi_signo == SIGCHLD) {
        reap();
      } else if (info.ssi_signo == SIGQUIT) {
        report_waits("received SIGQUIT; what each rank is waiting for (the job goes on):");
      } else {
        on_signal(static_cast<int>(info.ssi_signo));
      }
    }
  }

  void reap() {
    // Every rank that has ended is reaped before any is stopped: the others that are already
    // gone are not counted as stopped, nor their deaths taken for hilorun's doing.
    std::optional<std::size_t> first_failed;
    std::vector<int> failed_ranks;  // rank numbers, in the order reaped
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (std::size_t i = 0; i < ranks_.size(); ++i) {
        if (ranks_[i].pid() != pid || !ranks_[i].running()) continue;
        ranks_[i].reaped(status);
        bool failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        if (failed && !first_failed) first_failed = i;
        if (failed) failed_ranks.push_back(ranks_[i].placement().rank);
      }
    }
    if (first_failed && reason_ == StopReason::none) {
      // Asked before the others are stopped, while they still wait where they did.
      report_if_timed_out(failed_ranks);
      reason_ = StopReason::rank_failed;
      failed_rank_ = *first_failed;
      stopped_ranks_ = stop_all(SIGTERM);
    }
  }

  // Whether the rank at `index` failed by itself: it has ended with a non-zero status or a
  // signal that hilorun did not send it.
  bool failed_on_its_own(std::size_t index) const {
    const RankProcess& rank = ranks_[index];
    if (rank.running()) return false;
    const int status = rank.wait_status();
    if (WIFEXITED(status)) return WEXITSTATUS(status) != 0;
    const int signal_number = WTERMSIG(status);
    return signal_number >= 64 || (signals_sent_[index] >> signal_number & 1) == 0;
  }

  // The rank to name (index into ranks_): the first failed rank reaped, followed back through
  // the ranks' reports of whom they lost to the rank that failed first.
  std::size_t first_failure() const {
    if (!settings_.collect_reports) return failed_rank_;
    auto index_of = [&](int rank) -> std::optional<std::size_t> {
      for (std::size_t i = 0; i < ranks_.size(); ++i) {
        if (ranks_[i].placement().rank == rank) return i;
      }
      return std::nullopt;
    };
    const int rank = launch::trace_first_failure(ranks_[failed_rank_].placement().rank,
                                                 settings_.collect_reports(), [&](int r) {
                                                   auto index = index_of(r);
                                                   return index && failed_on_its_own(*index);
                                                 });
    return index_of(rank).value_or(failed_rank_);
  }

  void signal_rank(std::size_t index, int signal_number) {
    ranks_[index].signal(signal_number);
    if (signal_number < 64) signals_sent_[index] |= std::uint64_t{1} << signal_number;
  }

  void on_signal(int signal_number) {
    if (reason_ != StopReason::none) {
      // Asked again while stopping: no more patience.
      for (std::size_t i = 0; i < ranks_.size(); ++i) signal_rank(i, SIGKILL);
      return;
    }
    reason_ = StopReason::signalled;
    received_signal_ = signal_number;
    int forwarded = stop_all(signal_number);
    say("received " + signal_name(signal_number) + "; forwarded it to the " +
        plural(forwarded, "running rank"));
  }

  void on_timeout() {
    reason_ = StopReason::timed_out;
    const auto running = std::count_if(ranks_.begin(), ranks_.end(),
                                       [](const RankProcess& rank) { return rank.running(); });
    std::ostringstream seconds;
    seconds << *settings_.timeout_seconds;
    say("the job did not finish within " + seconds.str() + " s (--timeout); stopping its " +
        plural(static_cast<int>(running), "running rank"));
    // Asked before they are stopped: what they wait for is why the job did not finish.
    report_waits("what each rank was waiting for:");
    stop_all(SIGTERM);
  }

  // Prints the wait-for report if one of `failed` (ranks that have just failed) reported a
  // hilo::Timeout (a rank that catches its Timeout and goes on is not news: the report waits
  // until one fails). Any of them: those that failed with it may have been reaped first.
  void report_if_timed_out(const std::vector<int>& failed) {
    if (!settings_.take_timeouts) return;
    const auto timeouts = settings_.take_timeouts();
    for (int rank : failed) {
      if (!timeouts.contains(rank)) continue;
      report_waits("rank " + std::to_string(rank) +
                   " failed after raising hilo::Timeout; what each rank was waiting for:");
      return;
    }
  }

  // The wait-for report (wait_for_report.hpp) after `heading`: asks the running ranks, waits at
  // most answer_limit for their answers.
  void report_waits(const std::string& heading) {
    if (!settings_.ask_pending) return;
    const auto answers = settings_.ask_pending(settings_.answer_limit);
    const auto timeouts =
        settings_.take_timeouts ? settings_.take_timeouts() : std::map<int, launch::RankReport>{};
    std::vector<RankState> states;
    for (const RankProcess& rank : ranks_) {
      RankState state{rank.placement().rank, rank.placement().host, std::nullopt};
      if (!rank.running()) state.ended = describe_status(rank.wait_status());
      states.push_back(std::move(state));
    }
    std::string text = "hilorun: " + heading + "\n";
    for (const std::string& line : wait_for_report(states, answers, timeouts))
      text += "hilorun: " + line + "\n";
    write_fully(STDERR_FILENO, text);
  }

  // Sends `signal_number` to every running rank, SIGKILL after the grace period; returns how
  // many ranks were running.
  int stop_all(int signal_number) {
    int running = 0;
    for (std::size_t i = 0; i < ranks_.size(); ++i) {
      if (!ranks_[i].running()) continue;
      signal_rank(i, signal_number);
      ++running;
    }
    kill_deadline_ = Clock::now() + settings_.grace;
    return running;
  }

  int finish() {
    switch (reason_) {
      case StopReason::none:
        return 0;
      case StopReason::timed_out:
        return 124;
      case StopReason::signalled:
        return 128 + received_signal_;
      case StopReason::rank_failed:
        break;
    }
    const RankProcess& failed = ranks_[first_failure()];
    std::string line = "rank " + std::to_string(failed.placement().rank) + " on host " +
                       failed.placement().host + " " + describe_status(failed.wait_status());
    if (failed.remote() && WIFEXITED(failed.wait_status())) {
      // A remote rank's status passes through the launch agent, which uses some of its own.
      int status = WEXITSTATUS(failed.wait_status());
      if (status == 255) line += " (255 is also how ssh reports that it could not reach the host)";
      if (status == 127) {
        line +=
            " (127: the program, or hilorun itself, was not found there; hilorun must be "
            "installed at the same path on every host)";
      }
    }
    if (stopped_ranks_ > 0) line += "; stopped the other " + plural(stopped_ranks_, "rank");
    say(line);
    return exit_code_of(failed.wait_status());
  }

  void say(const std::string& message) { write_fully(STDERR_FILENO, "hilorun: " + message + "\n"); }

  std::vector<RankProcess>& ranks_;
  int signal_fd_;
  SupervisorSettings settings_;
  std::vector<OutputForwarder> forwarders_;  // stdout, stderr of rank 0, then of rank 1, ...
  std::vector<pollfd> polled_;
  StopReason reason_ = StopReason::none;
  std::size_t failed_rank_ = 0;  // the first failed rank reaped
  // Per rank, bit N set: hilorun sent it signal N (so dying of it is not a failure of its own).
  std::vector<std::uint64_t> signals_sent_ = std::vector<std::uint64_t>(ranks_.size(), 0);
  int stopped_ranks_ = 0;
  int received_signal_ = 0;
  std::optional<Clock::time_point> job_deadline_, kill_deadline_, drain_deadline_;
};

}  // namespace

int supervise(std::vector<RankProcess>& ranks, int signal_fd, const SupervisorSettings& settings) {
  return Supervisor(ranks, signal_fd, settings).run();
}

}  // namespace hilo::hilorun
