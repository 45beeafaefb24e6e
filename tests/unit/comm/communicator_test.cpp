// The Communicator over the local backend: what run_local promises about failures, and the
// default timeout. The full API is covered by the conformance suite on every backend.
#include <hilo/comm/communicator.hpp>
#include <hilo/runtime.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "catch.hpp"

// Catch2's assertion macros are not thread-safe, and ranks are threads: a rank reports a failed
// check by throwing, run_local rethrows it on the test's thread, and Catch2 reports it there.
#define RANK_CHECK(condition)                                                   \
  do {                                                                          \
    if (!(condition)) throw std::logic_error("rank check failed: " #condition); \
  } while (0)
#define RANK_CHECK_THROWS_AS(expression, E)         \
  do {                                              \
    bool thrown = false;                            \
    try {                                           \
      (void)(expression);                           \
    } catch (const E&) {                            \
      thrown = true;                                \
    }                                               \
    RANK_CHECK(thrown&& #expression " throws " #E); \
  } while (0)

using namespace std::chrono_literals;

TEST_CASE("run_local rejects absurd rank counts") {
  auto nothing = [](hilo::Communicator&) {};
  CHECK_THROWS_AS(hilo::run_local(0, nothing), std::invalid_argument);
  CHECK_THROWS_AS(hilo::run_local(-2, nothing), std::invalid_argument);
  CHECK_THROWS_AS(hilo::run_local(1 << 20, nothing), std::invalid_argument);
}

TEST_CASE("a rank that throws releases the others and its exception comes back") {
  std::atomic<int> peer_lost{0};
  try {
    hilo::run_local(4, [&](hilo::Communicator& c) {
      if (c.rank() == 2) throw std::runtime_error("rank two gave up");
      try {
        c.barrier();  // would wait for rank 2 forever
      } catch (const hilo::PeerLost& e) {
        RANK_CHECK(e.rank() == 2);
        ++peer_lost;
        throw;
      }
    });
    FAIL("run_local returned normally");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "rank two gave up");
  }
  CHECK(peer_lost == 3);
}

TEST_CASE("a receive from a rank that already returned fails instead of hanging") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    if (c.rank() == 0) return;
    RANK_CHECK_THROWS_AS(c.recv<int>(0, 1), hilo::PeerLost);
  });
}

TEST_CASE("messages sent before a rank returned are still received") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    if (c.rank() == 0) {
      c.send(1, 1, 42);
      return;
    }
    std::this_thread::sleep_for(20ms);
    RANK_CHECK(c.recv<int>(0, 1) == 42);
  });
}

TEST_CASE("the default timeout applies to calls without a limit") {
  hilo::run_local(1, [](hilo::Communicator& c) {
    c.set_default_timeout(40ms);
    auto start = std::chrono::steady_clock::now();
    RANK_CHECK_THROWS_AS(c.recv<int>(0, 5), hilo::Timeout);
    RANK_CHECK(std::chrono::steady_clock::now() - start >= 40ms);
    hilo::Communicator copy = c.dup();
    RANK_CHECK(copy.default_timeout() == c.default_timeout());
  });
}

TEST_CASE("HILO_TIMEOUT sets the default; a bad value is an error naming it") {
  ::setenv("HILO_TIMEOUT", "0.25", 1);
  hilo::run_local(1, [](hilo::Communicator& c) { RANK_CHECK(c.default_timeout() == 250ms); });
  ::setenv("HILO_TIMEOUT", "soon", 1);
  try {
    hilo::run_local(1, [](hilo::Communicator&) {});
    FAIL("no error");
  } catch (const hilo::Error& e) {
    CHECK(std::string(e.what()).find("HILO_TIMEOUT='soon'") != std::string::npos);
  }
  ::unsetenv("HILO_TIMEOUT");
}

TEST_CASE("split needs a non-negative color") {
  hilo::run_local(2,
                  [](hilo::Communicator& c) { RANK_CHECK_THROWS_AS(c.split(-1, 0), hilo::Error); });
}
