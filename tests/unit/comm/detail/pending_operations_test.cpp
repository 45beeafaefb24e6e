// The registry of a rank's pending blocking calls (hilo/comm/detail/pending_operations.hpp), and
// what a hilo::Timeout says with it.
#include <hilo/comm/communicator.hpp>
#include <hilo/comm/detail/pending_operations.hpp>
#include <hilo/runtime.hpp>

#include <latch>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using hilo::detail::PeerRole;
using hilo::detail::PendingOperations;

TEST_CASE("an entry is pending for its lifetime, with what it was given") {
  PendingOperations registry;
  const char* world = registry.intern("world");
  CHECK(registry.snapshot().empty());
  const auto here = std::source_location::current();
  {
    PendingOperations::Entry entry(&registry, "recv", 1, PeerRole::source, 7, world, here);
    const auto pending = registry.snapshot();
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].operation == "recv");
    CHECK(pending[0].peer == 1);
    CHECK(pending[0].role == PeerRole::source);
    CHECK(pending[0].tag == 7);
    CHECK(pending[0].communicator == "world");
    CHECK(pending[0].file == here.file_name());
    CHECK(pending[0].line == here.line());
    CHECK(pending[0].waiting.count() >= 0);
  }
  CHECK(registry.snapshot().empty());
}

TEST_CASE("each blocked thread has an entry of its own, seen from another thread") {
  PendingOperations registry;
  const char* world = registry.intern("world");
  std::latch entered(2);
  std::latch release(1);
  std::vector<std::thread> threads;
  for (int peer = 0; peer < 2; ++peer)
    threads.emplace_back([&, peer] {
      PendingOperations::Entry entry(&registry, "send", peer, PeerRole::dest, 3, world,
                                     std::source_location::current());
      entered.count_down();
      release.wait();
    });
  entered.wait();
  const auto pending = registry.snapshot();
  release.count_down();
  for (auto& t : threads) t.join();
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].peer + pending[1].peer == 1);  // ranks 0 and 1, in whichever slot
  CHECK(registry.snapshot().empty());
}

TEST_CASE("past slot_count entries the extra ones go unrecorded, the others stay") {
  PendingOperations registry;
  const char* world = registry.intern("world");
  std::vector<std::unique_ptr<PendingOperations::Entry>> entries;
  for (std::size_t i = 0; i <= PendingOperations::slot_count; ++i)
    entries.push_back(std::make_unique<PendingOperations::Entry>(
        &registry, "barrier", -1, PeerRole::none, -1, world, std::source_location::current()));
  CHECK(registry.snapshot().size() == PendingOperations::slot_count);
  entries.front().reset();  // frees slot 0 for the next call
  PendingOperations::Entry again(&registry, "probe", 2, PeerRole::source, 1, world,
                                 std::source_location::current());
  CHECK(registry.snapshot().size() == PendingOperations::slot_count);
  CHECK(registry.snapshot()[0].operation == "probe");
}

TEST_CASE("describe_pending prints one line per operation, with the call site's file:line") {
  hilo::detail::PendingOperation recv;
  recv.operation = "recv";
  recv.peer = 1;
  recv.role = PeerRole::source;
  recv.tag = 7;
  recv.communicator = "world";
  recv.waiting = std::chrono::milliseconds(2500);
  recv.file = "/home/me/app/main.cpp";
  recv.line = 12;
  hilo::detail::PendingOperation bcast;
  bcast.operation = "broadcast";
  bcast.peer = 0;
  bcast.role = PeerRole::root;
  bcast.communicator = "world.split(3)#0";
  bcast.file = "solver.cpp";
  bcast.line = 40;
  CHECK(hilo::detail::describe_pending({recv, bcast}, 4) ==
        "pending on rank 4:\n"
        "  recv from rank 1, tag 7, on world, for 2.500 s, at main.cpp:12\n"
        "  broadcast (root 0), on world.split(3)#0, for 0.000 s, at solver.cpp:40");
  CHECK(hilo::detail::describe_pending({}, 4).empty());
}

namespace {
// Runs fn on two local ranks; returns the Timeout each raised ("" for none). No rank returns
// before both have given up, or the other would see it gone instead of timing out.
template <class Fn>
std::vector<std::string> messages_of(Fn fn) {
  std::vector<std::string> messages(2);
  std::latch both_done(2);
  hilo::run_local(2, [&](hilo::Communicator& c) {
    try {
      fn(c);
    } catch (const hilo::Timeout& e) {
      messages[c.rank()] = e.what();
    }
    both_done.arrive_and_wait();
  });
  return messages;
}
}  // namespace

TEST_CASE("a Timeout's message ends with the rank's pending operations and their call sites") {
  using namespace std::chrono_literals;
  std::optional<unsigned> line;
  const auto messages = messages_of([&](hilo::Communicator& c) {
    // Both ranks receive first: each waits for the other until its limit.
    if (c.rank() == 0) line = std::source_location::current().line() + 1;
    c.recv<int>(1 - c.rank(), 7, hilo::within(100ms));
  });
  REQUIRE(line);
  const std::string expected_site = "pending_operations_test.cpp:" + std::to_string(*line);
  for (int r = 0; r < 2; ++r) {
    INFO(messages[r]);
    const std::string heading = "\npending on rank " + std::to_string(r) + ":\n  recv from rank " +
                                std::to_string(1 - r) + ", tag 7, on world, for ";
    CHECK(messages[r].find(heading) != std::string::npos);
    CHECK(messages[r].ends_with(expected_site));
  }
}

TEST_CASE("a derived communicator's pending call is named after it, once, in the Timeout") {
  using namespace std::chrono_literals;
  const auto messages = messages_of([&](hilo::Communicator& c) {
    hilo::Communicator half = c.split(c.rank(), 0);  // each rank alone
    hilo::Communicator copy = half.dup();
    copy.recv<int>(0, 2, hilo::within(50ms));
  });
  for (int r = 0; r < 2; ++r) {
    INFO(messages[r]);
    const std::string name = "world.split(" + std::to_string(r) + ")#0.dup#0";
    CHECK(messages[r].find("recv from rank 0, tag 2, on " + name) != std::string::npos);
    CHECK(messages[r].find("pending on rank") == messages[r].rfind("pending on rank"));
  }
}

TEST_CASE("a Request's wait is pending as the call that made it, at the wait's call site") {
  using namespace std::chrono_literals;
  std::optional<unsigned> line;
  const auto messages = messages_of([&](hilo::Communicator& c) {
    int value = 0;
    hilo::Request request = c.irecv(1 - c.rank(), 4, value);
    if (c.rank() == 0) line = std::source_location::current().line() + 1;
    request.wait(hilo::within(50ms));
  });
  REQUIRE(line);
  for (int r = 0; r < 2; ++r) {
    INFO(messages[r]);
    CHECK(messages[r].find("\npending on rank " + std::to_string(r) + ":\n  irecv from rank " +
                           std::to_string(1 - r) + ", tag 4, on world, for ") != std::string::npos);
    CHECK(messages[r].ends_with("pending_operations_test.cpp:" + std::to_string(*line)));
  }
}

TEST_CASE("wait_all is pending as the request it waits for, at wait_all's call site") {
  using namespace std::chrono_literals;
  std::optional<unsigned> line;
  const auto messages = messages_of([&](hilo::Communicator& c) {
    int first = 0, second = 0;
    std::vector<hilo::Request> requests;
    requests.push_back(c.irecv(1 - c.rank(), 5, first));
    requests.push_back(c.irecv(1 - c.rank(), 6, second));
    if (c.rank() == 0) line = std::source_location::current().line() + 1;
    hilo::wait_all(requests, hilo::within(50ms));
  });
  REQUIRE(line);
  for (int r = 0; r < 2; ++r) {
    INFO(messages[r]);
    CHECK(messages[r].find("\npending on rank " + std::to_string(r) + ":\n  irecv from rank " +
                           std::to_string(1 - r) + ", tag 5, on world, for ") != std::string::npos);
    CHECK(messages[r].ends_with("pending_operations_test.cpp:" + std::to_string(*line)));
  }
}
