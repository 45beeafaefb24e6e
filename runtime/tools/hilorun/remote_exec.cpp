#include "remote_exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/deadline.hpp"
#include "common/system_error.hpp"
#include "common/unique_fd.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"
#include "output_forwarder.hpp"

namespace hilo::hilorun {
namespace {

constexpr const char* block_header = "HILO-REMOTE-EXEC 2\n";
constexpr std::size_t max_block = 4 << 20;
constexpr std::size_t max_fields = 1 << 16;
constexpr auto block_timeout = std::chrono::seconds(60);
constexpr auto grace = std::chrono::seconds(2);

struct LaunchBlock {
  std::vector<std::string> environment;
  std::vector<std::string> arguments;
  std::string working_directory;
  BindingRequest binding;
};

// Parses a complete block at the start of `bytes`, returning it and how many bytes it used;
// nullopt if more bytes are needed; hilo::Error if it is malformed.
std::optional<std::pair<LaunchBlock, std::size_t>> parse_block(const std::string& bytes) {
  std::size_t header = std::strlen(block_header);
  if (bytes.size() < header) return std::nullopt;
  if (bytes.compare(0, header, block_header) != 0) {
    throw Error(
        "stdin does not start with a hilorun launch block of this version (hilorun --remote-exec "
        "is started by hilorun through the launch agent, not by hand, and needs the same hilorun "
        "on every host)");
  }
  std::size_t pos = header;
  auto field = [&]() -> std::optional<std::string> {
    std::size_t end = bytes.find('\0', pos);
    if (end == std::string::npos) return std::nullopt;
    std::string value = bytes.substr(pos, end - pos);
    pos = end + 1;
    return value;
  };
  // A count, then that many fields.
  auto list = [&]() -> std::optional<std::vector<std::string>> {
    auto text = field();
    if (!text) return std::nullopt;
    std::size_t n = 0;
    auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (error != std::errc{} || end != text->data() + text->size() || n > max_fields) {
      detail::throw_error<Error>("malformed launch block (bad count '", *text, "')");
    }
    std::vector<std::string> items;
    for (std::size_t i = 0; i < n; ++i) {
      auto item = field();
      if (!item) return std::nullopt;
      items.push_back(std::move(*item));
    }
    return items;
  };
  LaunchBlock block;
  auto environment = list();
  if (!environment) return std::nullopt;
  block.environment = std::move(*environment);
  auto arguments = list();
  if (!arguments) return std::nullopt;
  block.arguments = std::move(*arguments);
  auto directory = field();
  if (!directory) return std::nullopt;
  block.working_directory = std::move(*directory);
  auto binding = field();
  if (!binding) return std::nullopt;
  block.binding = BindingRequest::decode(*binding);
  if (block.arguments.empty()) throw Error("malformed launch block (no program)");
  return std::pair{std::move(block), pos};
}

// Reads stdin until a whole block has arrived; bytes after it (control bytes) go to `extra`.
LaunchBlock read_block(std::string& extra) {
  std::string bytes;
  auto deadline = std::chrono::steady_clock::now() + block_timeout;
  while (true) {
    auto parsed = parse_block(bytes);
    if (parsed) {
      extra = bytes.substr(parsed->second);
      return std::move(parsed->first);
    }
    if (bytes.size() > max_block) throw Error("launch block larger than 4 MiB");
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int ready = ::poll(&p, 1, common::poll_timeout(deadline));
    if (ready == 0) throw Timeout("no launch block on stdin within 60 s");
    if (ready < 0 && errno == EINTR) continue;
    char buffer[65536];
    ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw Error("stdin closed before the launch block was complete");
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
}

std::string host_name() {
  const char* host = std::getenv("HILO_HOST");
  return host ? host : "?";
}

void say(const std::string& message) {
  write_fully(STDERR_FILENO, "hilorun --remote-exec on " + host_name() + ": " + message + "\n");
}

}  // namespace

std::string encode_launch_block(const std::vector<std::string>& environment,
                                const std::vector<std::string>& arguments,
                                const std::string& working_directory,
                                const BindingRequest& binding) {
  std::string block = block_header;
  auto add = [&](const std::string& field) {
    block += field;
    block.push_back('\0');
  };
  add(std::to_string(environment.size()));
  for (const auto& variable : environment) add(variable);
  add(std::to_string(arguments.size()));
  for (const auto& argument : arguments) add(argument);
  add(working_directory);
  add(binding.encode());
  return block;
}

int run_remote_exec() {
  using common::UniqueFd;
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&handled, s);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  common::UniqueFd signals(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) common::throw_errno("signalfd");

  std::string control;
  LaunchBlock block = read_block(control);
  for (const std::string& variable : block.environment) {
    auto equals = variable.find('=');
    if (equals == std::string::npos) continue;
    ::setenv(variable.substr(0, equals).c_str(), variable.substr(equals + 1).c_str(), 1);
  }
  if (!block.working_directory.empty() && ::chdir(block.working_directory.c_str()) != 0) {
    char here[4096] = "?";
    [[maybe_unused]] char* ignored = ::getcwd(here, sizeof here);
    say("cannot change to " + block.working_directory + " (" + common::errno_text(errno) +
        "); running in " + here);
  }

  const int rank = std::atoi(std::getenv("HILO_RANK") ? std::getenv("HILO_RANK") : "-1");
  const CpuBinding binding = resolve_binding(block.binding, host_name());

  std::vector<char*> argv;
  for (std::string& argument : block.arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child < 0) common::throw_errno("fork");
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::signal(SIGPIPE, SIG_DFL);
    ::sigprocmask(SIG_UNBLOCK, &handled, nullptr);
    if (int error = apply_binding(binding); error != 0) {
      say("cannot bind to cpus " + cpu_list_text(binding.cpus) + ": " + common::errno_text(error));
      ::_exit(127);
    }
    ::execvp(argv[0], argv.data());
    say(std::string("cannot run '") + argv[0] + "': " + common::errno_text(errno));
    ::_exit(127);
  }

  if (block.binding.report)
    write_fully(STDERR_FILENO, binding.report_line(host_name(), child, rank) + "\n");

  auto deliver = [&](int signal_number) {
    if (signal_number >= 1 && signal_number < NSIG) ::kill(child, signal_number);
  };
  for (char byte : control) deliver(static_cast<unsigned char>(byte));
  bool stdin_open = true;
  std::optional<std::chrono::steady_clock::time_point> kill_at;
  while (true) {
    pollfd polled[2] = {{signals.get(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    const int timeout = kill_at ? common::poll_timeout(*kill_at) : -1;
    int ready = ::poll(polled, stdin_open ? 2 : 1, timeout);
    if (ready < 0 && errno != EINTR) common::throw_errno("poll");
    if (kill_at && std::chrono::steady_clock::now() >= *kill_at) {
      deliver(SIGKILL);
      kill_at.reset();
    }
    if (stdin_open && polled[1].revents != 0) {
      char bytes[64];
      ssize_t got = ::read(STDIN_FILENO, bytes, sizeof bytes);
      if (got > 0) {
        for (ssize_t i = 0; i < got; ++i) deliver(static_cast<unsigned char>(bytes[i]));
      } else if (got == 0 || errno != EINTR) {
        // hilorun or the connection to it is gone: nobody would see this rank's output or
        // status, so stop it rather than leave an orphan.
        stdin_open = false;
        deliver(SIGTERM);
        kill_at = std::chrono::steady_clock::now() + grace;
      }
    }
    if (polled[0].revents == 0) continue;
    signalfd_siginfo info{};
    while (::read(signals.get(), &info, sizeof info) == sizeof info) {
      if (info.ssi_signo != SIGCHLD) deliver(static_cast<int>(info.ssi_signo));
    }
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) != child) continue;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    // Die of the same signal, so that whoever watches this process sees what the rank saw.
    int signal_number = WTERMSIG(status);
    ::signal(signal_number, SIG_DFL);
    ::sigprocmask(SIG_UNBLOCK, &handled, nullptr);
    ::kill(::getpid(), signal_number);
    return 128 + signal_number;
  }
}

}  // namespace hilo::hilorun
