#include "hilo/ipc/pipe.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "catch.hpp"
#include "fork_helpers.hpp"
#include "hilo/errors.hpp"

using hilo::ipc::Pipe;
using namespace std::chrono_literals;

namespace {

// A payload whose every byte depends on its position, so a lost or swapped chunk shows.
std::string patterned(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + i / 4099) & 0xff);
  return bytes;
}

bool sigpipe_pending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

bool sigpipe_blocked() {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  return sigismember(&mask, SIGPIPE) == 1;
}

void on_alarm(int) {}

}  // namespace

TEST_CASE("messages and lines round-trip in order, then end of file is std::nullopt") {
  Pipe pipe;
  pipe.write_message("first");
  pipe.write_message("");
  pipe.write_line("a line");
  pipe.write_message(std::string("with\0nul\nand newline", 20));
  pipe.write_all("tail without newline");
  pipe.close_write();
  CHECK(pipe.read_message() == "first");
  CHECK(pipe.read_message() == "");
  CHECK(pipe.read_line() == "a line");
  CHECK(pipe.read_message() == std::string("with\0nul\nand newline", 20));
  CHECK(pipe.read_line() == "tail without newline");
  CHECK(pipe.read_line() == std::nullopt);
  CHECK(pipe.read_message() == std::nullopt);
}

TEST_CASE("a 4 MiB message from a child arrives intact (larger than the pipe buffer)") {
  const std::string payload = patterned(4 << 20);
  Pipe pipe;
  pid_t writer = hilo_test::fork_child([&] {
    pipe.close_read();
    pipe.write_message(payload);
    pipe.write_message("after");
    return 0;
  });
  pipe.close_write();
  std::optional<std::string> received = pipe.read_message();
  REQUIRE(received);
  CHECK(received->size() == payload.size());
  CHECK(*received == payload);
  CHECK(pipe.read_message() == "after");
  CHECK(pipe.read_message() == std::nullopt);
  CHECK(hilo_test::wait_child(writer) == 0);
}

TEST_CASE("read_to_end gathers everything a child writes until it exits") {
  const std::string text = patterned(300000);
  Pipe pipe;
  pid_t writer = hilo_test::fork_child([&] {
    pipe.close_read();
    pipe.write_all(text);
    return 0;
  });
  pipe.close_write();
  CHECK(pipe.read_to_end() == text);
  CHECK(hilo_test::wait_child(writer) == 0);
}

TEST_CASE("a writer that dies mid-message gives the reader an error, not a hang") {
  Pipe pipe;
  pid_t writer = hilo_test::fork_child([&] {
    pipe.close_read();
    pipe.write_message("complete");
    // A header promising 1 MiB, then only part of it, then death.
    std::uint64_t length = 1 << 20;
    pipe.write_all(std::string(reinterpret_cast<const char*>(&length), sizeof length));
    pipe.write_all(std::string(1000, 'x'));
    ::kill(::getpid(), SIGKILL);
    return 0;
  });
  pipe.close_write();
  CHECK(pipe.read_message() == "complete");
  std::string message;
  try {
    pipe.read_message();
  } catch (const hilo::Error& error) {
    message = error.what();
  }
  CHECK(
      message.starts_with("hilo: ipc::Pipe::read_message: the pipe closed after 1000 of "
                          "1048576 bytes"));
  CHECK(hilo_test::wait_child(writer) == 128 + SIGKILL);
}

TEST_CASE("a writer that dies inside the header gives an error too") {
  Pipe pipe;
  pipe.write_all("abc");
  pipe.close_write();
  CHECK_THROWS_AS(pipe.read_message(), hilo::Error);
  CHECK_THROWS_WITH(pipe.read_message(),
                    Catch::StartsWith("hilo: ipc::Pipe::read_message: the pipe closed after 3 "
                                      "bytes of a message header"));
}

TEST_CASE("a child that exits without writing gives end of file") {
  Pipe pipe;
  pid_t child = hilo_test::fork_child([&] { return 0; });
  pipe.close_write();
  CHECK(pipe.read_message() == std::nullopt);
  CHECK(hilo_test::wait_child(child) == 0);
}

TEST_CASE("writing when the reader has gone is a hilo::Error, and SIGPIPE does not kill us") {
  Pipe pipe;
  pipe.close_read();
  std::string message;
  try {
    pipe.write_message("nobody listens");
  } catch (const hilo::Error& error) {
    message = error.what();
  }
  CHECK(message.starts_with("hilo: ipc::Pipe: the reader has gone"));
  // Still alive (the default SIGPIPE action would have ended the test), and the signal state is
  // as before: nothing pending, nothing left blocked.
  CHECK_FALSE(sigpipe_pending());
  CHECK_FALSE(sigpipe_blocked());
}

TEST_CASE("a reader that exits mid-transfer stops a large write with a hilo::Error") {
  Pipe pipe;
  pid_t reader = hilo_test::fork_child([&] {
    pipe.close_write();
    char first[10];
    return ::read(pipe.read_fd(), first, sizeof first) > 0 ? 0 : 1;
  });
  pipe.close_read();
  CHECK_THROWS_AS(pipe.write_message(patterned(8 << 20)), hilo::Error);
  CHECK(hilo_test::wait_child(reader) == 0);
  CHECK_FALSE(sigpipe_pending());
}

TEST_CASE("a signal interrupting a blocked read does not lose or break the read") {
  struct sigaction action {};
  action.sa_handler = on_alarm;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: read() really returns EINTR
  struct sigaction previous {};
  REQUIRE(sigaction(SIGALRM, &action, &previous) == 0);

  Pipe pipe;
  pid_t writer = hilo_test::fork_child([&] {
    pipe.close_read();
    std::this_thread::sleep_for(300ms);
    pipe.write_line("late line");
    return 0;
  });
  pipe.close_write();
  itimerval alarm_soon{};
  alarm_soon.it_value.tv_usec = 50000;     // first after 50 ms
  alarm_soon.it_interval.tv_usec = 50000;  // then every 50 ms while we wait
  setitimer(ITIMER_REAL, &alarm_soon, nullptr);
  std::optional<std::string> line = pipe.read_line();
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &previous, nullptr);

  CHECK(line == "late line");
  CHECK(hilo_test::wait_child(writer) == 0);
}

TEST_CASE("misuse is reported") {
  Pipe pipe;
  CHECK_THROWS_AS(pipe.write_line("two\nlines"), std::invalid_argument);
  std::uint64_t absurd_length = std::uint64_t{1} << 40;
  pipe.write_all(std::string(reinterpret_cast<const char*>(&absurd_length), 8));
  CHECK_THROWS_AS(pipe.read_message(), hilo::Error);  // not a message: framing error
  pipe.close_read();
  CHECK(pipe.read_fd() == -1);
  CHECK_THROWS_AS(pipe.read_line(), std::logic_error);
  pipe.close_write();
  CHECK_THROWS_AS(pipe.write_message("x"), std::logic_error);
}

TEST_CASE("moving a pipe moves its descriptors; destruction closes them") {
  int read_fd = -1;
  int write_fd = -1;
  {
    Pipe first;
    read_fd = first.read_fd();
    write_fd = first.write_fd();
    Pipe second = std::move(first);
    CHECK(first.read_fd() == -1);  // NOLINT(bugprone-use-after-move)
    CHECK(second.read_fd() == read_fd);
    second.write_message("moved");
    CHECK(second.read_message() == "moved");
  }
  CHECK(::fcntl(read_fd, F_GETFD) == -1);
  CHECK(::fcntl(write_fd, F_GETFD) == -1);
}
