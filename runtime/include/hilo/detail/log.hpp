/// \file
/// hilo's log: what HILO_LOG=error|warn|info|debug shows, one line per event on stderr.
/// Internal: the runtime, the backends and the collective algorithms write to it; programs read
/// its lines, they do not call it.
///
///   hilo[rank 2 on node7]: info: tcp: rank 2 of 8 listening on 10.0.0.7:40123
///
/// Levels, each showing its own lines and those of the levels above it:
///   error  a rank lost (the PeerLost that follows is still thrown as usual)
///   warn   (the default) something not an error that a user must know: a fallback taken (a
///          pair of ranks left on its socket because shared memory failed), a connect retried
///   info   how the job started: the launcher and backend and why, addresses, connections made,
///          shared memory set up or not and why
///   debug  every connection, each retry to reach the rendezvous, and the algorithm each
///          generic all-reduce, all-to-all, reduce and all-gather runs
/// A healthy run prints nothing at the default. Failures themselves are exceptions
/// (hilo/errors.hpp), not log lines.
#pragma once

#include <string>
#include <string_view>

#include "hilo/detail/error_message.hpp"

namespace hilo::detail {

/// A line's level; a Log shows the lines at its level or a lower number.
enum class LogLevel : int { error = 1, warn = 2, info = 3, debug = 4 };

/// "error", "warn", "info" or "debug".
std::string_view name_of(LogLevel level);

/// HILO_LOG as a level, warn when unset or empty. Throws hilo::Error naming HILO_LOG and the
/// accepted values for anything else.
LogLevel log_level_from_environment();

/// Where a process's log lines go, and which of them. Immutable once made, so any thread may
/// write through a shared one without a lock: each line leaves in one write(2), which keeps
/// lines of several threads (and of several ranks on one terminal) from interleaving.
/// Copied into whatever outlives the hilo::Runtime that made it (a TCP engine, a transport).
class Log {
 public:
  /// Shows nothing: for transports made without a runtime (tests, mpi::from_native).
  Log() = default;
  /// Shows the lines up to `level`, each prefixed "hilo[<who>]: <level>: ".
  Log(LogLevel level, std::string_view who);

  /// The log of this process: HILO_LOG's level, "rank R on HOST" from the launcher's variables
  /// (hilorun's HILO_RANK and HILO_HOST, mpirun's OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK,
  /// srun's SLURM_PROCID and SLURMD_NODENAME; rank 0 and this host's name without a launcher),
  /// read before the backend starts so its first lines already carry them. Throws as
  /// log_level_from_environment does.
  static Log for_this_process();
  /// The log of rank `rank` of hilo::run_local (threads of this process), at `level`.
  static Log for_local_rank(LogLevel level, int rank);

  /// Whether lines of `level` are shown: one load and a compare, so that a disabled line costs
  /// nothing more. Wrap the building of an expensive line in it.
  bool enabled(LogLevel level) const { return static_cast<int>(level) <= shown_; }

  /// Writes "<prefix><level>: <topic>: <parts...>" if `level` is shown. The parts are joined as
  /// make_message joins them, only when the line is shown; but the arguments themselves are
  /// evaluated before the call, so a part that costs anything to make (a describe_peer()) goes
  /// inside `if (log.enabled(level))`.
  template <class... Parts>
  void write(LogLevel level, std::string_view topic, const Parts&... parts) const {
    if (enabled(level)) write_line(level, topic, make_message(parts...));
  }

 private:
  void write_line(LogLevel level, std::string_view topic, std::string_view text) const;

  int shown_ = 0;       // the highest LogLevel shown; 0: none
  std::string prefix_;  // "hilo[rank 2 on node7]: "
};

}  // namespace hilo::detail
