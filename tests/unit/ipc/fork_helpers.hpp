// Helpers for the ipc unit tests that fork. A child never returns into Catch2: it runs a
// function and _exit()s with the code the function returns, and the parent reads that code.
#pragma once

#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

namespace hilo_test {

// Whether this process runs under ThreadSanitizer (its runtime is linked in), so that the few
// deliberate misuses TSan rightly reports itself can be skipped there.
inline bool under_thread_sanitizer() {
  return ::dlsym(RTLD_DEFAULT, "__tsan_init") != nullptr;
}

// A segment name no other test (or concurrent test run) uses.
inline std::string unique_segment_name(const char* what) {
  static std::atomic<int> counter{0};
  return std::string("hilo_test_") + what + "_" + std::to_string(::getpid()) + "_" +
         std::to_string(counter++);
}

// Forks a child that runs `body` and exits with its result (an exception becomes 99).
inline pid_t fork_child(const std::function<int()>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  return pid;
}

// Waits for `pid` at most `timeout`, then kills it. Returns the exit code, 128 + signal if a
// signal ended it, or -1 if it had to be killed for running too long.
inline int wait_child(pid_t pid, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t result = ::waitpid(pid, &status, WNOHANG);
    if (result == pid) break;
    if (result < 0) return -2;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

inline int run_in_child(const std::function<int()>& body) {
  return wait_child(fork_child(body));
}

// Polls `flag` (a word in shared memory) until it equals `value`; false after `timeout`.
inline bool wait_for_flag(std::uint32_t& flag, std::uint32_t value,
                          std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::atomic_ref<std::uint32_t>(flag).load() != value) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace hilo_test
