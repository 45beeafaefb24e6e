#include "hilo/ipc/child_process.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include "catch.hpp"
#include "hilo/errors.hpp"
#include "hilo/ipc/pipe.hpp"

using hilo::ipc::ChildProcess;
using hilo::ipc::ExitStatus;
using hilo::ipc::Pipe;
using hilo::ipc::spawn;
using namespace std::chrono_literals;

namespace {

// True once `pid` is gone completely: not running and not a zombie waiting to be reaped.
bool fully_gone(pid_t pid) {
  return ::kill(pid, 0) == -1 && errno == ESRCH;
}

}  // namespace

TEST_CASE("a spawned function's return value is the child's exit code") {
  ChildProcess child = spawn([] { return 3; });
  ExitStatus status = child.wait();
  CHECK(status.exited());
  CHECK(status.exit_code() == 3);
  CHECK(status.signal() == 0);
  CHECK_FALSE(status.success());
  CHECK(status.describe() == "exited with code 3");
  CHECK(child.wait().exit_code() == 3);  // waiting again gives the same answer

  CHECK(spawn([] { return 0; }).wait().success());
}

TEST_CASE("a child function that throws exits with code 1") {
  ChildProcess child = spawn([]() -> int { throw std::runtime_error("boom"); });
  CHECK(child.wait().exit_code() == 1);
}

TEST_CASE("a child killed by a signal reports the signal") {
  ChildProcess child = spawn([] {
    ::kill(::getpid(), SIGKILL);
    return 0;
  });
  ExitStatus status = child.wait();
  CHECK_FALSE(status.exited());
  CHECK(status.signal() == SIGKILL);
  CHECK(status.exit_code() == -1);
  CHECK(status.describe().find("killed by signal 9") == 0);
}

TEST_CASE("spawn runs a program and reports its exit code") {
  CHECK(spawn({"sh", "-c", "exit 5"}).wait().exit_code() == 5);
}

TEST_CASE("a program that cannot be run is a hilo::Error naming it") {
  std::string message;
  try {
    spawn({"hilo-no-such-program"});
  } catch (const hilo::Error& error) {
    message = error.what();
  }
  CHECK(message.starts_with("hilo: ipc::spawn: cannot run \"hilo-no-such-program\": "));
  CHECK(message.find("not found") != std::string::npos);
  CHECK_THROWS_AS(spawn(std::vector<std::string>{}), std::invalid_argument);
  CHECK_THROWS_WITH(spawn(std::vector<std::string>{}),
                    "hilo: ipc::spawn: argv is empty; name a program");
  CHECK_THROWS_WITH(spawn(std::function<int()>{}), "hilo: ipc::spawn: the child function is empty");
}

TEST_CASE("pipes wired to a program's stdin and stdout carry its input and output") {
  Pipe to_child;
  Pipe from_child;
  ChildProcess upper =
      spawn({"tr", "a-z", "A-Z"}, {{.child_fd = 0, .parent_fd = to_child.read_fd()},
                                   {.child_fd = 1, .parent_fd = from_child.write_fd()}});
  // Close the ends the child uses, or it would never see end of file (and neither would we).
  to_child.close_read();
  from_child.close_write();
  to_child.write_line("hello pipe");
  to_child.close_write();
  CHECK(from_child.read_line() == "HELLO PIPE");
  CHECK(from_child.read_line() == std::nullopt);
  CHECK(upper.wait().success());
}

TEST_CASE("wait_for times out on a running child, and not early; kill ends it") {
  ChildProcess sleeper = spawn({"sleep", "30"});
  CHECK(sleeper.try_wait() == std::nullopt);
  auto start = std::chrono::steady_clock::now();
  CHECK(sleeper.wait_for(150ms) == std::nullopt);
  CHECK(std::chrono::steady_clock::now() - start >= 150ms);
  sleeper.kill(SIGTERM);
  std::optional<ExitStatus> status = sleeper.wait_for(30s);
  REQUIRE(status);
  CHECK(status->signal() == SIGTERM);
  sleeper.kill(SIGTERM);  // already reaped: does nothing
}

TEST_CASE("destroying a ChildProcess kills and reaps a child that still runs") {
  pid_t pid = -1;
  {
    ChildProcess sleeper = spawn([] {
      for (;;) ::pause();
      return 0;
    });
    pid = sleeper.pid();
    CHECK_FALSE(fully_gone(pid));
  }
  CHECK(fully_gone(pid));  // no zombie left behind either
}

TEST_CASE("moving a ChildProcess moves the duty to reap") {
  ChildProcess first = spawn([] { return 7; });
  ChildProcess second = std::move(first);
  CHECK(first.pid() == -1);  // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_AS(first.wait(), std::logic_error);
  CHECK(second.wait().exit_code() == 7);
}
