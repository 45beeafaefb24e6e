#include "rank_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

extern char** environ;

namespace hilo::hilorun {

using common::UniqueFd;

namespace {

struct Pipe {
  common::UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) common::throw_errno("pipe2");
  return {common::UniqueFd(fds[0]), common::UniqueFd(fds[1])};
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

// What a child reports through its exec_error pipe when it cannot become the rank.
struct ChildFailure {
  enum Step : int { affinity, exec } step;
  int error;  // errno
};

bool is_executable_file(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string find_executable(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (!is_executable_file(program)) {
      detail::throw_error<Error>("cannot run '", program, "': ", common::errno_text(errno));
    }
    return program;
  }
  const char* path = std::getenv("PATH");
  std::istringstream directories(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string directory; std::getline(directories, directory, ':');) {
    std::string candidate = (directory.empty() ? "." : directory) + "/" + program;
    if (is_executable_file(candidate)) return candidate;
  }
  detail::throw_error<Error>("program '", program, "' not found in PATH (give its path, e.g. ./",
                             program, ")");
}

RankProcess RankProcess::spawn(const launch::Placement& placement, const std::string& path,
                               const std::vector<std::string>& arguments,
                               const std::vector<std::string>* environment, bool with_control,
                               const CpuBinding* binding) {
  // Everything the child needs is prepared before fork(): hilorun has threads (the rendezvous
  // server), so the child may only make async-signal-safe calls until execve.
  std::vector<char*> argv = c_strings(arguments);
  std::vector<char*> envp = environment ? c_strings(*environment) : std::vector<char*>{};
  char** child_environment = environment ? envp.data() : environ;
  Pipe out = make_pipe(), err = make_pipe(), exec_error = make_pipe();
  Pipe control;
  if (with_control) control = make_pipe();
  common::UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) common::throw_errno("open /dev/null");

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) common::throw_errno("fork");
  if (pid == 0) {
    ::setpgid(0, 0);
    // If hilorun dies, even by SIGKILL, the kernel kills its ranks: no orphans.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(with_control ? control.read.get() : null.get(), STDIN_FILENO);
    ::dup2(out.write.get(), STDOUT_FILENO);
    ::dup2(err.write.get(), STDERR_FILENO);
    // hilorun blocks and ignores signals it handles itself; the rank starts with the defaults.
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Bound before exec, so every thread the program starts inherits the CPU set.
    ChildFailure failure{ChildFailure::affinity, binding ? apply_binding(*binding) : 0};
    if (failure.error == 0) {
      ::execve(path.c_str(), argv.data(), child_environment);
      failure = {ChildFailure::exec, errno};
    }
    [[maybe_unused]] ssize_t written = ::write(exec_error.write.get(), &failure, sizeof failure);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so no signal can be sent before the group exists

  RankProcess rank;
  rank.placement_ = placement;
  rank.pid_ = pid;
  rank.stdout_ = std::move(out.read);
  rank.stderr_ = std::move(err.read);
  rank.control_ = std::move(control.write);
  rank.remote_ = with_control;
  // The child closes its end of exec_error by exec'ing (O_CLOEXEC) or writes errno into it.
  exec_error.write.reset();
  ChildFailure failure{};
  ssize_t got;
  do {
    got = ::read(exec_error.read.get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  if (got == sizeof failure) {
    std::string step = failure.step == ChildFailure::affinity
                           ? "sched_setaffinity to cpus " + cpu_list_text(binding->cpus)
                           : "execve " + path;
    detail::throw_error<Error>("cannot start rank ", placement.rank, ": ", step, ": ",
                               common::errno_text(failure.error));
  }
  return rank;
}

RankProcess RankProcess::start_local(const launch::Placement& placement, const std::string& program,
                                     const std::vector<std::string>& arguments,
                                     const std::vector<std::string>& environment,
                                     const CpuBinding& binding) {
  return spawn(placement, program, arguments, &environment, false, &binding);
}

RankProcess RankProcess::start_remote(const launch::Placement& placement,
                                      const std::vector<std::string>& agent_command,
                                      const std::string& launch_block) {
  RankProcess rank =
      spawn(placement, find_executable(agent_command.at(0)), agent_command, nullptr, true, nullptr);
  // The block is small (variables and arguments); a pipe holds 64 KiB. Non-blocking with a
  // deadline anyway, so an agent that never reads its stdin cannot hang hilorun.
  ::fcntl(rank.control_.get(), F_SETFL, O_NONBLOCK);
  std::size_t written = 0;
  while (written < launch_block.size()) {
    ssize_t n =
        ::write(rank.control_.get(), launch_block.data() + written, launch_block.size() - written);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    pollfd p{rank.control_.get(), POLLOUT, 0};
    if (n < 0 && errno == EAGAIN && ::poll(&p, 1, 10000) > 0) continue;
    // The agent died at once or does not read; its exit status will say more.
    break;
  }
  return rank;
}

void RankProcess::signal(int signal_number) {
  if (!running()) return;
  if (control_ && signal_number != SIGKILL) {
    char byte = static_cast<char>(signal_number);
    if (::write(control_.get(), &byte, 1) == 1) return;
  }
  if (signal_number == SIGKILL) control_.reset();  // remote-exec takes EOF as "stop now"
  ::killpg(pid_, signal_number);
}

void RankProcess::reaped(int wait_status) {
  reaped_ = true;
  wait_status_ = wait_status;
  control_.reset();
  // The group outlives its leader while any member lives (its id cannot be reused until then);
  // if none is left, this finds nothing.
  ::killpg(pid_, SIGKILL);
}

RankProcess& RankProcess::operator=(RankProcess&& other) noexcept {
  if (this == &other) return *this;
  kill_and_reap();
  placement_ = std::move(other.placement_);
  pid_ = std::exchange(other.pid_, -1);  // the moved-from object no longer owns the child
  reaped_ = other.reaped_;
  remote_ = other.remote_;
  wait_status_ = other.wait_status_;
  stdout_ = std::move(other.stdout_);
  stderr_ = std::move(other.stderr_);
  control_ = std::move(other.control_);
  return *this;
}

RankProcess::~RankProcess() {
  kill_and_reap();
}

void RankProcess::kill_and_reap() noexcept {
  if (!running()) return;
  control_.reset();
  ::killpg(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

}  // namespace hilo::hilorun
