// The worker that runs a communicator's nonblocking collectives (collective_sequencer.hpp): call
// order, completion and errors through the Operation, drain, and destruction that runs the queue
// to its end.
#include <hilo/comm/detail/collective_sequencer.hpp>
#include <hilo/errors.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using hilo::detail::CollectiveSequencer;

TEST_CASE("jobs run one at a time in submission order, and their operations complete") {
  CollectiveSequencer sequencer;
  std::vector<int> order;  // written by the worker only, read after drain
  std::vector<std::unique_ptr<hilo::Operation>> ops;
  for (int i = 0; i < 100; ++i)
    ops.push_back(sequencer.submit("job", [&order, i] { order.push_back(i); }));
  sequencer.drain();
  REQUIRE(order.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(order[i] == i);
  for (auto& op : ops) {
    CHECK(op->test());
    CHECK(op->wait(hilo::Deadline::never()).source == -1);
  }
}

TEST_CASE("a job's exception comes back from test and wait; later jobs still run") {
  CollectiveSequencer sequencer;
  auto failing = sequencer.submit("failing", [] { throw hilo::PeerLost("gone", 3, "node3"); });
  std::atomic<bool> ran{false};
  auto next = sequencer.submit("next", [&] { ran = true; });
  CHECK_THROWS_AS(failing->wait(hilo::Deadline::never()), hilo::PeerLost);
  CHECK_THROWS_AS(failing->test(), hilo::PeerLost);
  next->wait(hilo::Deadline::never());
  CHECK(ran);
}

TEST_CASE("a wait that runs out is a Timeout naming the job; the job goes on") {
  CollectiveSequencer sequencer;
  std::promise<void> release;
  auto blocked = release.get_future();
  auto op = sequencer.submit("ibarrier on rank 2", [&] { blocked.wait(); });
  CHECK_THROWS_WITH(op->wait(hilo::Deadline::after(20ms)),
                    Catch::Matchers::Contains("ibarrier on rank 2"));
  CHECK(!op->test());
  release.set_value();
  op->wait(hilo::Deadline::never());
  CHECK(op->test());
}

TEST_CASE("destruction runs every queued job; operations outlive the sequencer") {
  std::atomic<int> ran{0};
  std::vector<std::unique_ptr<hilo::Operation>> ops;
  {
    CollectiveSequencer sequencer;
    for (int i = 0; i < 20; ++i) ops.push_back(sequencer.submit("job", [&] { ++ran; }));
  }
  CHECK(ran == 20);
  for (auto& op : ops) CHECK(op->test());
}
