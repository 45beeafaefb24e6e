#include "hilo/ipc/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>
#include <utility>

#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::ipc {
namespace {

using hilo::detail::throw_error;

pid_t checked_fork() {
  // Flush stdio first: otherwise text buffered in the parent is printed by both processes.
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    throw_error<Error>("hilo: ipc::spawn: fork failed: ", common::errno_text(errno),
                       " (too many processes, or out of memory)");
  }
  return pid;
}

// waitpid that resumes after signals. Returns the pid, or 0 with WNOHANG if still running.
pid_t wait_for_child(pid_t pid, int& wait_status, int options) {
  for (;;) {
    pid_t result = ::waitpid(pid, &wait_status, options);
    if (result >= 0) return result;
    if (errno != EINTR) {
      throw_error<Error>("hilo: ipc::ChildProcess: waitpid(", pid,
                         ") failed: ", common::errno_text(errno),
                         " (was the child already reaped elsewhere, e.g. by a SIGCHLD handler?)");
    }
  }
}

// Writes all of `size` bytes with only async-signal-safe calls (for use between fork and exec).
void write_fully(int fd, const void* data, std::size_t size) noexcept {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t result = ::write(fd, bytes, size);
    if (result < 0 && errno == EINTR) continue;
    if (result <= 0) return;
    bytes += result;
    size -= static_cast<std::size_t>(result);
  }
}

}  // namespace

ExitStatus ExitStatus::from_wait_status(int wait_status) noexcept {
  ExitStatus status;
  if (WIFSIGNALED(wait_status)) {
    status.signal_ = WTERMSIG(wait_status);
  } else {
    status.code_ = WEXITSTATUS(wait_status);
  }
  return status;
}

std::string ExitStatus::describe() const {
  if (exited()) return "exited with code " + std::to_string(code_);
  const char* name = ::strsignal(signal_);
  return "killed by signal " + std::to_string(signal_) + " (" + (name ? name : "unknown") + ")";
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  kill_and_reap();
}

void ChildProcess::kill_and_reap() noexcept {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int wait_status = 0;
    while (::waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
  status_.reset();
}

ExitStatus ChildProcess::wait() {
  if (status_) return *status_;
  if (pid_ <= 0) throw std::logic_error("hilo: ipc::ChildProcess::wait: no child (moved from)");
  int wait_status = 0;
  wait_for_child(pid_, wait_status, 0);
  status_ = ExitStatus::from_wait_status(wait_status);
  return *status_;
}

std::optional<ExitStatus> ChildProcess::try_wait() {
  if (status_) return status_;
  if (pid_ <= 0) {
    throw std::logic_error("hilo: ipc::ChildProcess::try_wait: no child (moved from)");
  }
  int wait_status = 0;
  if (wait_for_child(pid_, wait_status, WNOHANG) == 0) return std::nullopt;
  status_ = ExitStatus::from_wait_status(wait_status);
  return status_;
}

std::optional<ExitStatus> ChildProcess::wait_until(std::chrono::steady_clock::time_point deadline) {
  // Polling keeps this free of SIGCHLD handlers (process-wide state); the pause grows from
  // 1 ms to 20 ms so a quick child is seen quickly and a slow one costs little.
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (auto status = try_wait()) return status;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

void ChildProcess::kill(int signal_number) {
  if (pid_ <= 0 || status_) return;
  if (::kill(pid_, signal_number) != 0 && errno != ESRCH) {
    throw_error<Error>("hilo: ipc::ChildProcess::kill: process ", pid_, ": ",
                       common::errno_text(errno));
  }
}

ChildProcess spawn(std::function<int()> child_main) {
  if (!child_main) throw std::invalid_argument("hilo: ipc::spawn: the child function is empty");
  pid_t pid = checked_fork();
  if (pid == 0) {
    // The child: never return into the caller's stack (it would run the parent's code twice).
    int code = 1;
    try {
      code = child_main();
    } catch (const std::exception& error) {
      std::fprintf(stderr, "hilo: ipc::spawn: the child function threw: %s\n", error.what());
    } catch (...) {
      std::fprintf(stderr, "hilo: ipc::spawn: the child function threw a non-standard exception\n");
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  return ChildProcess(pid);
}

ChildProcess spawn(const std::vector<std::string>& argv, const std::vector<FdRedirect>& redirects) {
  if (argv.empty()) throw std::invalid_argument("hilo: ipc::spawn: argv is empty; name a program");
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> arguments;
  arguments.reserve(argv.size() + 1);
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);

  // The child reports a failed exec through this pipe; a successful exec closes it (CLOEXEC).
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    throw_error<Error>("hilo: ipc::spawn: cannot create a pipe: ", common::errno_text(errno));
  }
  pid_t pid = 0;
  try {
    pid = checked_fork();
  } catch (...) {
    ::close(report[0]);
    ::close(report[1]);
    throw;
  }
  if (pid == 0) {
    ::close(report[0]);
    for (const FdRedirect& redirect : redirects) {
      if (redirect.parent_fd == redirect.child_fd) {
        // dup2 onto itself keeps CLOEXEC; clear it so the descriptor survives exec.
        int flags = ::fcntl(redirect.child_fd, F_GETFD);
        if (flags < 0 || ::fcntl(redirect.child_fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) {
          int error = errno;
          write_fully(report[1], &error, sizeof error);
          ::_exit(127);
        }
      } else if (::dup2(redirect.parent_fd, redirect.child_fd) < 0) {
        int error = errno;
        write_fully(report[1], &error, sizeof error);
        ::_exit(127);
      }
    }
    ::execvp(arguments[0], arguments.data());
    int error = errno;
    write_fully(report[1], &error, sizeof error);
    ::_exit(127);
  }

  ::close(report[1]);
  ChildProcess child(pid);
  int exec_error = 0;
  ssize_t got = 0;
  do {
    got = ::read(report[0], &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    child.wait();
    throw_error<Error>("hilo: ipc::spawn: cannot run \"", argv[0],
                       "\": ", common::errno_text(exec_error),
                       exec_error == ENOENT ? " (not found: check the name and PATH)" : "");
  }
  return child;
}

}  // namespace hilo::ipc
