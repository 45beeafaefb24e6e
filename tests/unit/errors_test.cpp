// hilo's exception types: the hierarchy callers rely on (catch hilo::Error for anything hilo
// reports), the details PeerLost carries, the one way messages are built and thrown, and the rule
// of errors.hpp (which class a failure raises, and the prefix of its message).
#include "hilo/errors.hpp"

#include <hilo/comm/communicator.hpp>
#include <hilo/runtime.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "catch.hpp"
#include "hilo/detail/error_message.hpp"
#include "rank_check.hpp"

TEST_CASE("every hilo exception is a hilo::Error and a std::runtime_error") {
  STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, hilo::Error>);
  STATIC_REQUIRE(std::is_base_of_v<hilo::Error, hilo::Timeout>);
  STATIC_REQUIRE(std::is_base_of_v<hilo::Error, hilo::PeerLost>);
}

TEST_CASE("a hilo::Timeout is caught as hilo::Error with its message intact") {
  try {
    throw hilo::Timeout("barrier timed out with 1 of 2 arrived");
  } catch (const hilo::Error& error) {
    CHECK(std::string(error.what()) == "barrier timed out with 1 of 2 arrived");
    CHECK(dynamic_cast<const hilo::Timeout*>(&error) != nullptr);
    CHECK(dynamic_cast<const hilo::PeerLost*>(&error) == nullptr);
  }
}

TEST_CASE("hilo::PeerLost names the rank and host that went away") {
  const hilo::PeerLost lost("rank 3 on node7 closed its connection", 3, "node7");
  CHECK(lost.rank() == 3);
  CHECK(lost.host() == "node7");
  CHECK(std::string(lost.what()) == "rank 3 on node7 closed its connection");

  bool caught_as_runtime_error = false;
  try {
    throw lost;
  } catch (const std::runtime_error& error) {
    caught_as_runtime_error = std::string(error.what()).find("node7") != std::string::npos;
  }
  CHECK(caught_as_runtime_error);
}

// ---- one way to build a message and throw (hilo/detail/error_message.hpp)

TEST_CASE("make_message joins text and numbers; OnRank is the prefix of every call's errors") {
  using hilo::detail::make_message;
  using hilo::detail::OnRank;
  CHECK(make_message("tag ", -2, " is negative") == "tag -2 is negative");
  CHECK(make_message(std::string("a"), std::string_view("b"), 'c', std::size_t{42}, true) ==
        "abc42true");
  CHECK(make_message(OnRank{"recv", 3}, "tag 7") == "hilo: recv on rank 3: tag 7");
}

TEST_CASE("throw_error throws the class it is given with the message built from its parts") {
  try {
    hilo::detail::throw_error<std::invalid_argument>(hilo::detail::OnRank{"send", 1}, "rank ", 9,
                                                     " is out of range");
    FAIL("nothing thrown");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "hilo: send on rank 1: rank 9 is out of range");
  }
  CHECK_THROWS_AS(hilo::detail::throw_error<hilo::Timeout>("late"), hilo::Timeout);
}

namespace {
// Rethrows `thrown` through rethrow_on_rank as the call "barrier" on rank 2 would.
template <class E>
void rethrow_as_barrier(const E& thrown) {
  try {
    throw thrown;
  } catch (...) {
    hilo::detail::rethrow_on_rank(hilo::detail::OnRank{"barrier", 2});
  }
}
}  // namespace

TEST_CASE("rethrow_on_rank names the call in each hilo exception and keeps its class") {
  try {
    rethrow_as_barrier(hilo::PeerLost("hilo: rank 3 exited", 3, "node7"));
    FAIL("nothing thrown");
  } catch (const hilo::PeerLost& e) {
    CHECK(std::string(e.what()) == "hilo: barrier on rank 2: rank 3 exited");
    CHECK(e.rank() == 3);
    CHECK(e.host() == "node7");
  }
  try {
    rethrow_as_barrier(hilo::Timeout("hilo: recv on rank 2: no message within 1 s"));
    FAIL("nothing thrown");
  } catch (const hilo::Timeout& e) {
    CHECK(std::string(e.what()) ==
          "hilo: barrier on rank 2: recv on rank 2: no message within 1 s");
  }
  try {
    rethrow_as_barrier(hilo::Error("lengths differ"));
    FAIL("nothing thrown");
  } catch (const hilo::Error& e) {
    CHECK(dynamic_cast<const hilo::Timeout*>(&e) == nullptr);
    CHECK(std::string(e.what()) == "hilo: barrier on rank 2: lengths differ");
  }
}

TEST_CASE("rethrow_on_rank leaves a message already named so, and non-hilo exceptions, alone") {
  try {
    rethrow_as_barrier(hilo::Error("hilo: barrier on rank 2: already said"));
    FAIL("nothing thrown");
  } catch (const hilo::Error& e) {
    CHECK(std::string(e.what()) == "hilo: barrier on rank 2: already said");
  }
  try {
    rethrow_as_barrier(std::invalid_argument("hilo: x on rank 0: bad"));
    FAIL("nothing thrown");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "hilo: x on rank 0: bad");
  }
}

// ---- the rule of errors.hpp, one case per class, on the local backend (the conformance suite
// checks the same on every backend)

TEST_CASE("an argument wrong on its own is a std::invalid_argument, not a hilo::Error") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    rank_check_throws<std::invalid_argument>([&] { c.send(2, 0, 1); }, "c.send(2, 0, 1)");
    rank_check_throws<std::invalid_argument>([&] { c.recv<int>(0, -4); }, "c.recv<int>(0, -4)");
    try {
      c.send(2, 0, 1);
    } catch (const hilo::Error&) {
      rank_check(false, "a bad rank is not a hilo::Error");
    } catch (const std::invalid_argument&) {
    }
  });
}

TEST_CASE("a message that does not fit is a hilo::Error named by the receive") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    if (c.rank() == 0) {
      c.send(1, 3, 1.5);  // 8 bytes
      return;
    }
    try {
      c.recv<int>(0, 3);
      rank_check(false, "no error");
    } catch (const hilo::Error& e) {
      rank_check(
          std::string(e.what()).starts_with("hilo: recv on rank 1: from rank 0 with tag 3: "),
          e.what());
    }
  });
}

TEST_CASE("a time limit run out is a hilo::Timeout named by the call") {
  hilo::run_local(1, [](hilo::Communicator& c) {
    try {
      c.recv<int>(0, 5, hilo::within(std::chrono::milliseconds(10)));
      rank_check(false, "no error");
    } catch (const hilo::Timeout& e) {
      rank_check(
          std::string(e.what()).starts_with("hilo: recv on rank 0: from rank 0 with tag 5: "),
          e.what());
    }
  });
}

TEST_CASE("a peer gone is a hilo::PeerLost named by the call, with the lost rank") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    if (c.rank() == 0) return;
    try {
      c.recv<int>(0, 1);
      rank_check(false, "no error");
    } catch (const hilo::PeerLost& e) {
      rank_check(std::string(e.what()).starts_with("hilo: recv on rank 1: "), e.what());
      rank_check(e.rank() == 0, "e.rank() == 0");
    }
  });
}
