/// \file
/// Starting a child process and waiting for it: spawn() and the RAII ChildProcess it returns.
/// The child either runs a function (fork) or a program (fork + exec), optionally with
/// descriptors such as one end of a Pipe wired to its stdin/stdout.
///
/// \code
/// auto child = hilo::ipc::spawn([] { std::puts("hi from the child"); return 3; });
/// hilo::ipc::ExitStatus status = child.wait();   // status.exit_code() == 3
/// \endcode
///
/// \code
/// hilo::ipc::Pipe pipe;
/// auto sorter = hilo::ipc::spawn({"sort"}, {{.child_fd = 0, .parent_fd = pipe.read_fd()}});
/// pipe.close_read();
/// pipe.write_all("b\na\n");
/// pipe.close_write();                            // sort sees end of file and prints a, b
/// sorter.wait();
/// \endcode
///
/// No zombies and no orphans: if a ChildProcess is destroyed while its child still runs, the
/// child is killed (SIGKILL) and reaped. Call wait() to let it finish instead.
///
/// Caveat of fork: the child is a copy of the parent with only the calling thread. Spawning a
/// function from a program that runs other threads is safe only if the function does not need
/// locks those threads might have held (stick to simple work, or spawn a program instead).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hilo::ipc {

/// How a child ended: exited with a code, or was killed by a signal.
class ExitStatus {
 public:
  /// From the status word that waitpid() reports.
  static ExitStatus from_wait_status(int wait_status) noexcept;

  /// True if the child exited (rather than being killed by a signal).
  bool exited() const noexcept { return signal_ == 0; }
  /// The exit code, or -1 if it was killed by a signal.
  int exit_code() const noexcept { return exited() ? code_ : -1; }
  /// The signal that killed it, or 0 if it exited.
  int signal() const noexcept { return signal_; }
  /// True if it exited with code 0.
  bool success() const noexcept { return exited() && code_ == 0; }
  /// "exited with code 3" or "killed by signal 9 (Killed)".
  std::string describe() const;

 private:
  int code_ = 0;
  int signal_ = 0;
};

/// A child process, killed (SIGKILL) and reaped on destruction unless waited for: no zombies
/// and no orphans. Returned by spawn(). Move-only.
class ChildProcess {
 public:
  /// Takes charge of the child `pid` (spawn() makes these).
  explicit ChildProcess(pid_t pid) noexcept : pid_(pid) {}
  /// Takes over `other`'s child; `other` no longer has one.
  ChildProcess(ChildProcess&& other) noexcept;
  /// Kills and reaps this object's child if it was not waited for, then takes over `other`'s.
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  /// Kills (SIGKILL) and reaps the child if it has not been waited for.
  ~ChildProcess();

  /// The child's process id (-1 once moved from).
  pid_t pid() const noexcept { return pid_; }

  /// Blocks until the child ends and returns how. May be called again: returns the same status.
  ExitStatus wait();
  /// Returns the status if the child has ended, std::nullopt if it still runs.
  std::optional<ExitStatus> try_wait();
  /// Waits at most `timeout`; std::nullopt if the child still runs then.
  template <class Rep, class Period>
  std::optional<ExitStatus> wait_for(const std::chrono::duration<Rep, Period>& timeout) {
    return wait_until(std::chrono::steady_clock::now() +
                      std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }
  /// Waits until `deadline`; std::nullopt if the child still runs then. Throws as wait().
  std::optional<ExitStatus> wait_until(std::chrono::steady_clock::time_point deadline);
  /// Sends `signal_number` to the child; does nothing once it has been reaped.
  void kill(int signal_number);

 private:
  void kill_and_reap() noexcept;

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

/// Forks; the child runs `child_main` and exits (_exit) with the code it returns. If it throws,
/// the child prints the message on stderr and exits with code 1. The parent's buffered stdio
/// output is flushed first, so that it is not printed twice.
/// Throws std::invalid_argument for an empty function, hilo::Error if fork fails. Does not wait
/// for the child.
ChildProcess spawn(std::function<int()> child_main);

/// A descriptor of the parent that becomes `child_fd` in the child (dup2), e.g.
/// {.child_fd = 0, .parent_fd = pipe.read_fd()} to feed the child's stdin from a pipe.
struct FdRedirect {
  /// The descriptor number in the child.
  int child_fd;
  /// The parent's descriptor to put there.
  int parent_fd;
};

/// Forks and executes `argv` (argv[0] is looked up in PATH), with `redirects` applied in order.
/// Throws std::invalid_argument for an empty argv, and hilo::Error if the program cannot be run
/// (e.g. not found), naming it and the reason. Does not wait for the child.
ChildProcess spawn(const std::vector<std::string>& argv,
                   const std::vector<FdRedirect>& redirects = {});

}  // namespace hilo::ipc
