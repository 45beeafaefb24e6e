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

TEST_CASE("past slot_count threads the extra ones go unrecorded until a thread ends") {
  PendingOperations registry;
  const char* world = registry.intern("world");
  constexpr std::size_t threads_count = PendingOperations::slot_count + 1;
  // Every thread blocks in a call at once; one more thread than there are slots.
  std::latch entered(threads_count);
  std::latch release(1);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < threads_count; ++i)
    threads.emplace_back([&] {
      PendingOperations::Entry entry(&registry, "barrier", -1, PeerRole::none, -1, world,
                                     std::source_location::current());
      entered.count_down();
      release.wait();
    });
  entered.wait();
  CHECK(registry.snapshot().size() == PendingOperations::slot_count);
  release.count_down();
  for (auto& t : threads) t.join();
  CHECK(registry.snapshot().empty());
  // The threads have ended: their slots are free for this one.
  PendingOperations::Entry again(&registry, "probe", 2, PeerRole::source, 1, world,
                                 std::source_location::current());
  REQUIRE(registry.snapshot().size() == 1);
  CHECK(registry.snapshot()[0].operation == "probe");
}

TEST_CASE("a thread keeps one slot: calls in turn reuse it, and it is freed when the thread ends") {
  PendingOperations registry;
  const char* world = registry.intern("world");
  // Each thread makes many calls in turn, one at a time: it needs one slot, so with more
  // threads in turn than slots every call is still recorded.
  for (std::size_t round = 0; round < 2 * PendingOperations::slot_count; ++round) {
    std::size_t seen = 0;
    std::thread([&] {
      for (int call = 0; call < 3; ++call) {
        PendingOperations::Entry entry(&registry, "send", call, PeerRole::dest, 1, world,
                                       std::source_location::current());
        const auto pending = registry.snapshot();
        if (pending.size() == 1 && pending[0].peer == call) ++seen;
      }
    }).join();
    REQUIRE(seen == 3);
  }
}

TEST_CASE("a call inside another of the same thread is not listed; the outer one is") {
  PendingOperations registry;
  const char* world = registry.intern("world");
  {
    PendingOperations::Entry outer(&registry, "sendrecv", 1, PeerRole::dest, 3, world,
                                   std::source_location::current());
    {
      PendingOperations::Entry inner(&registry, "recv", 1, PeerRole::source, 3, world,
                                     std::source_location::current());
      const auto pending = registry.snapshot();
      REQUIRE(pending.size() == 1);
      CHECK(pending[0].operation == "sendrecv");
    }
    REQUIRE(registry.snapshot().size() == 1);
    CHECK(registry.snapshot()[0].operation == "sendrecv");
  }
  CHECK(registry.snapshot().empty());
  // The thread's next call is recorded again.
  PendingOperations::Entry next(&registry, "barrier", -1, PeerRole::none, -1, world,
                                std::source_location::current());
  REQUIRE(registry.snapshot().size() == 1);
  CHECK(registry.snapshot()[0].operation == "barrier");
}

TEST_CASE("registries made and destroyed in turn (at one address or not) each record the thread") {
  // A thread that used a registry now gone, then one made (perhaps at the same address): its
  // call must be recorded in the new one, not in the memory of the old.
  std::optional<PendingOperations> registry;
  for (int turn = 0; turn < 4; ++turn) {
    registry.emplace();  // the same storage each turn
    const char* world = registry->intern("world");
    {
      PendingOperations::Entry entry(&*registry, "recv", turn, PeerRole::source, 0, world,
                                     std::source_location::current());
      const auto pending = registry->snapshot();
      REQUIRE(pending.size() == 1);
      CHECK(pending[0].peer == turn);
    }
    CHECK(registry->snapshot().empty());
    registry.reset();
  }
}

TEST_CASE("a thread moving between two live registries is recorded in the one it calls") {
  PendingOperations first, second;
  const char* first_name = first.intern("first");
  const char* second_name = second.intern("second");
  for (int turn = 0; turn < 3; ++turn) {
    {
      PendingOperations::Entry entry(&first, "recv", 0, PeerRole::source, 0, first_name,
                                     std::source_location::current());
      CHECK(first.snapshot().size() == 1);
      CHECK(second.snapshot().empty());
    }
    {
      PendingOperations::Entry entry(&second, "send", 1, PeerRole::dest, 0, second_name,
                                     std::source_location::current());
      CHECK(first.snapshot().empty());
      REQUIRE(second.snapshot().size() == 1);
      CHECK(second.snapshot()[0].communicator == "second");
    }
  }
  // A call on one registry inside a call on the other: both are listed, each in its own.
  PendingOperations::Entry outer(&first, "recv", 0, PeerRole::source, 0, first_name,
                                 std::source_location::current());
  PendingOperations::Entry inner(&second, "send", 1, PeerRole::dest, 0, second_name,
                                 std::source_location::current());
  CHECK(first.snapshot().size() == 1);
  CHECK(second.snapshot().size() == 1);
}

TEST_CASE("inside a call on another registry, a call on the thread's own is still a nested one") {
  // The thread's slot is in `first`; `second` gives the middle call a slot of its own. The inner
  // call on `first` is inside the outer one, which stays the one listed there.
  PendingOperations first, second;
  const char* first_name = first.intern("first");
  const char* second_name = second.intern("second");
  {
    PendingOperations::Entry outer(&first, "sendrecv", 1, PeerRole::dest, 3, first_name,
                                   std::source_location::current());
    {
      PendingOperations::Entry middle(&second, "barrier", -1, PeerRole::none, -1, second_name,
                                      std::source_location::current());
      PendingOperations::Entry inner(&first, "recv", 1, PeerRole::source, 3, first_name,
                                     std::source_location::current());
      const auto listed = first.snapshot();
      REQUIRE(listed.size() == 1);
      CHECK(listed[0].operation == "sendrecv");
      REQUIRE(second.snapshot().size() == 1);
      CHECK(second.snapshot()[0].operation == "barrier");
    }
    CHECK(second.snapshot().empty());
    REQUIRE(first.snapshot().size() == 1);
    CHECK(first.snapshot()[0].operation == "sendrecv");
  }
  CHECK(first.snapshot().empty());
  // The thread's next call on `first` is recorded in its slot again, with what it was given.
  PendingOperations::Entry next(&first, "probe", 2, PeerRole::source, 5, first_name,
                                std::source_location::current());
  REQUIRE(first.snapshot().size() == 1);
  CHECK(first.snapshot()[0].operation == "probe");
  CHECK(first.snapshot()[0].peer == 2);
}

TEST_CASE("a thread holding a slot of a destroyed registry moves to a new one and ends cleanly") {
  auto registry = std::make_unique<PendingOperations>();
  std::latch used(1);
  std::latch replaced(1);
  std::vector<hilo::detail::PendingOperation> seen;
  std::thread holder([&] {
    {
      PendingOperations::Entry entry(registry.get(), "barrier", -1, PeerRole::none, -1,
                                     registry->intern("world"), std::source_location::current());
    }
    used.count_down();
    replaced.wait();  // the registry it holds a slot of is gone; another took its place
    PendingOperations::Entry entry(registry.get(), "recv", 3, PeerRole::source, 0,
                                   registry->intern("world"), std::source_location::current());
    seen = registry->snapshot();
  });
  used.wait();
  registry.reset();  // often the next table gets its memory, and this thread its first slot
  registry = std::make_unique<PendingOperations>();
  {
    // This thread's call is pending while the holder makes its own: a holder writing through
    // the slot it remembers from the old table would overwrite this one.
    PendingOperations::Entry mine(registry.get(), "send", 9, PeerRole::dest, 0,
                                  registry->intern("world"), std::source_location::current());
    replaced.count_down();
    holder.join();  // frees its slot at exit (under ASan: in live memory only)
  }
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].peer + seen[1].peer == 12);  // 9 (send) and 3 (recv), in whichever slot
  CHECK(registry->snapshot().empty());
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
