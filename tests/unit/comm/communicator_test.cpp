// The Communicator over the local backend: what run_local promises about failures, and the
// default timeout. The full API is covered by the conformance suite on every backend.
#include <hilo/comm/communicator.hpp>
#include <hilo/runtime.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "catch.hpp"
#include "rank_check.hpp"

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
        rank_check(e.rank() == 2, "e.rank() == 2");
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
    rank_check_throws<hilo::PeerLost>([&] { c.recv<int>(0, 1); }, "c.recv<int>(0, 1)");
  });
}

TEST_CASE("messages sent before a rank returned are still received") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    if (c.rank() == 0) {
      c.send(1, 1, 42);
      return;
    }
    std::this_thread::sleep_for(20ms);
    rank_check(c.recv<int>(0, 1) == 42, "c.recv<int>(0, 1) == 42");
  });
}

TEST_CASE("the default timeout applies to calls without a limit") {
  hilo::run_local(1, [](hilo::Communicator& c) {
    c.set_default_timeout(40ms);
    auto start = std::chrono::steady_clock::now();
    rank_check_throws<hilo::Timeout>([&] { c.recv<int>(0, 5); }, "c.recv<int>(0, 5)");
    rank_check(std::chrono::steady_clock::now() - start >= 40ms,
               "std::chrono::steady_clock::now() - start >= 40ms");
    hilo::Communicator copy = c.dup();
    rank_check(copy.default_timeout() == c.default_timeout(),
               "copy.default_timeout() == c.default_timeout()");
  });
}

TEST_CASE("HILO_TIMEOUT sets the default; a bad value is an error naming it") {
  ::setenv("HILO_TIMEOUT", "0.25", 1);
  hilo::run_local(
      1, [](hilo::Communicator& c) { rank_check(c.default_timeout() == 250ms, "default 250 ms"); });
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
  hilo::run_local(2, [](hilo::Communicator& c) {
    rank_check_throws<std::invalid_argument>([&] { c.split(-1, 0); }, "c.split(-1, 0)");
  });
}

namespace {
// A serialized type that counts its copies, to see what isend copies.
struct CopyCounted {
  std::atomic<int>* copies = nullptr;  // not sent
  std::vector<std::string> words;
  CopyCounted() = default;
  CopyCounted(std::atomic<int>* c, std::vector<std::string> w) : copies(c), words(std::move(w)) {}
  CopyCounted(const CopyCounted& other) : copies(other.copies), words(other.words) {
    if (copies) ++*copies;
  }
  CopyCounted& operator=(const CopyCounted&) = default;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& words;
  }
};
}  // namespace

TEST_CASE("isend of a serialized value encodes it in place, without copying it") {
  std::atomic<int> copies{0};
  hilo::run_local(2, [&](hilo::Communicator& c) {
    if (c.rank() == 0) {
      CopyCounted value(&copies, {"uno", "dos"});
      hilo::Request sent = c.isend(1, 5, value);
      value.words.clear();  // the request holds the bytes, not the caller's object
      sent.wait();
    } else {
      auto got = c.recv<CopyCounted>(0, 5);
      rank_check(got.words == std::vector<std::string>{"uno", "dos"}, "words arrive");
    }
  });
  CHECK(copies == 0);
}
