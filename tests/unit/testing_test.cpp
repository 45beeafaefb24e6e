// hilo::testing::FaultPlan (hilo/testing.hpp) under run_local: a killed rank, delays, reordering
// and the seed. Every wait is bounded (hilo::within), so a fault that is not reported fails the
// test with hilo::Timeout instead of hanging it. Catch2's assertions are not thread-safe: ranks
// record what they saw and the test checks after run_local returns.
#include <hilo/testing.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {

using namespace std::chrono_literals;
const hilo::TimeLimit limit = hilo::within(30s);  // far beyond any correct run: a missed fault

// What one rank saw: the PeerLost it got (rank() and message), or another error's message.
struct Seen {
  bool peer_lost = false;
  int lost_rank = -1;
  std::string what;
  bool other_error = false;
};

// Runs `body` on a rank and records a PeerLost or any other hilo::Error instead of letting it
// escape; a killed rank's unwinding passes through untouched.
void record(Seen& seen, const std::function<void()>& body) {
  try {
    body();
  } catch (const hilo::PeerLost& e) {
    seen.peer_lost = true;
    seen.lost_rank = e.rank();
    seen.what = e.what();
  } catch (const hilo::Error& e) {
    seen.other_error = true;
    seen.what = e.what();
  }
}

}  // namespace

TEST_CASE("FaultPlan rejects bad arguments, naming them") {
  hilo::testing::FaultPlan plan;
  CHECK_THROWS_WITH(plan.kill(-1, 1), Catch::Matchers::Contains("rank -1 is negative"));
  CHECK_THROWS_WITH(plan.kill(0, 0), Catch::Matchers::Contains("counted from 1"));
  CHECK_THROWS_AS(plan.delay(-1ns), std::invalid_argument);
  plan.kill(2, 1);
  CHECK_THROWS_WITH(
      hilo::run_local(
          2, [](hilo::Communicator&) {}, plan),
      Catch::Matchers::Contains("kills rank 2") && Catch::Matchers::Contains("ranks 0..1"));
  CHECK(hilo::testing::FaultPlan{}.empty());
  CHECK_FALSE(plan.empty());
}

TEST_CASE("kill: the rank dies at exactly its nth communication call, not as an error") {
  // Rank 0's calls, in order; rank 1 answers each. The completed count tells which call died.
  const std::vector<std::string> calls = {"send",  "recv",      "barrier", "all_reduce", "isend",
                                          "irecv", "sendrecv",  "split",   "ibarrier",   "probe",
                                          "recv",  "broadcast", "iprobe",  "dup",        "barrier"};
  for (std::uint64_t nth = 1; nth <= calls.size(); ++nth) {
    CAPTURE(nth, calls[nth - 1]);
    int completed = 0;
    bool unwound = false, as_std_exception = false;
    Seen partner;
    hilo::testing::FaultPlan plan;
    plan.kill(0, nth);
    hilo::run_local(
        2,
        [&](hilo::Communicator& c) {
          if (c.rank() == 1) {
            record(partner, [&] {
              c.recv<int>(0, 1, limit);
              c.send(0, 2, 2, limit);
              c.barrier(limit);
              c.all_reduce(1, std::plus<>{}, limit);
              c.recv<int>(0, 3, limit);
              c.send(0, 4, 4, limit);
              c.sendrecv<int>(0, 5, 5, 0, 5, limit);
              hilo::Communicator same = c.split(0, 0, limit);
              c.ibarrier().wait(limit);
              c.send(0, 6, 6, limit);
              int b = 0;
              c.broadcast(b, 0, limit);
              hilo::Communicator copy = c.dup(limit);  // local: no message, so no wait
              c.barrier(limit);
            });
            return;
          }
          try {
            c.send(1, 1, 1, limit);
            ++completed;
            c.recv<int>(1, 2, limit);
            ++completed;
            c.barrier(limit);
            ++completed;
            c.all_reduce(1, std::plus<>{}, limit);
            ++completed;
            c.isend(1, 3, 3).wait(limit);
            ++completed;
            int got = 0;
            c.irecv(1, 4, got).wait(limit);
            ++completed;
            c.sendrecv<int>(1, 5, 5, 1, 5, limit);
            ++completed;
            hilo::Communicator same = c.split(0, 0, limit);
            ++completed;
            c.ibarrier().wait(limit);
            ++completed;
            c.probe(1, 6, limit);
            ++completed;
            c.recv<int>(1, 6, limit);
            ++completed;
            int b = 7;
            c.broadcast(b, 0, limit);
            ++completed;
            c.iprobe(1, 7);
            ++completed;
            hilo::Communicator copy = c.dup(limit);
            ++completed;
            c.barrier(limit);
            ++completed;
          } catch (const std::exception&) {
            as_std_exception = true;
            throw;
          } catch (...) {
            unwound = true;
            throw;
          }
        },
        plan);  // returns normally: the killed rank is no error, and rank 1 caught what it saw
    CHECK(completed == static_cast<int>(nth) - 1);
    CHECK(unwound);
    CHECK_FALSE(as_std_exception);
    // Rank 1 waited on rank 0 at that point (or later): it saw the loss, never a timeout.
    CHECK(partner.peer_lost);
    CHECK(partner.lost_rank == 0);
    CHECK_FALSE(partner.other_error);
  }
}

TEST_CASE("kill: a catch (...) that swallows the death does not revive the rank") {
  hilo::testing::FaultPlan plan;
  plan.kill(1, 1);
  int later_calls_that_died = 0;
  hilo::run_local(
      2,
      [&](hilo::Communicator& c) {
        if (c.rank() != 1) return;
        for (int i = 0; i < 3; ++i) {
          try {
            c.send(0, 0, i, limit);
          } catch (...) {
            ++later_calls_that_died;
          }
        }
      },
      plan);
  CHECK(later_calls_that_died == 3);
}

TEST_CASE("kill during point to point: what it sent arrives, then PeerLost naming it") {
  hilo::testing::FaultPlan plan;
  plan.kill(2, 2);  // rank 2 sends once (call 1), dies at its second send
  Seen receiver, bystander, sender_to_dead;
  int first = 0;
  hilo::run_local(
      3,
      [&](hilo::Communicator& c) {
        if (c.rank() == 2) {
          c.send(0, 0, 42, limit);
          c.send(0, 0, 43, limit);  // dies here
        } else if (c.rank() == 0) {
          record(receiver, [&] {
            first = c.recv<int>(2, 0, limit);
            c.recv<int>(2, 0, limit);
          });
          // The loss is known now: a send to the dead rank fails too.
          record(sender_to_dead, [&] { c.send(2, 0, 1, limit); });
        } else {
          // Waits on rank 0, which never sends: woken by the loss of rank 2, as on tcp.
          record(bystander, [&] { c.recv<int>(0, 0, limit); });
        }
      },
      plan);
  CHECK(first == 42);
  CHECK(receiver.peer_lost);
  CHECK(receiver.lost_rank == 2);
  CHECK_THAT(receiver.what, Catch::Matchers::StartsWith("hilo: recv on rank 0: ") &&
                                Catch::Matchers::Contains("local rank 2 was lost") &&
                                Catch::Matchers::Contains("2nd communication call (send)"));
  CHECK(bystander.peer_lost);
  CHECK(bystander.lost_rank == 2);
  CHECK(sender_to_dead.peer_lost);
  CHECK(sender_to_dead.lost_rank == 2);
}

TEST_CASE("kill wakes a receive already waiting on the rank, with PeerLost not a timeout") {
  hilo::testing::FaultPlan plan;
  plan.kill(1, 1);
  std::atomic<bool> posted{false};
  Seen waiting;
  hilo::run_local(
      2,
      [&](hilo::Communicator& c) {
        if (c.rank() == 0) {
          int value = 0;
          hilo::Request r = c.irecv(1, 0, value);
          posted = true;
          record(waiting, [&] { r.wait(limit); });
        } else {
          while (!posted) std::this_thread::yield();  // ends: rank 0 sets it before it waits
          c.send(0, 0, 1, limit);                     // dies here
        }
      },
      plan);
  CHECK(waiting.peer_lost);
  CHECK(waiting.lost_rank == 1);
}

TEST_CASE("kill during a collective: every surviving rank gets PeerLost, none hangs") {
  using Collective = std::function<void(hilo::Communicator&)>;
  const std::vector<std::pair<std::string, Collective>> collectives = {
      {"barrier", [](hilo::Communicator& c) { c.barrier(limit); }},
      {"all_reduce", [](hilo::Communicator& c) { c.all_reduce(1, std::plus<>{}, limit); }},
      {"broadcast from the dying rank",
       [](hilo::Communicator& c) {
         int v = 0;
         c.broadcast(v, 3, limit);
       }},
      {"all_gather", [](hilo::Communicator& c) { c.all_gather(c.rank(), limit); }},
      {"all_to_all", [](hilo::Communicator& c) { c.all_to_all(std::vector<int>(4, 1), limit); }},
      {"all_to_all_into",
       [](hilo::Communicator& c) {
         std::vector<int> out(4);
         c.all_to_all_into(std::vector<int>(4, 1), out, limit);
       }},
      {"ibarrier", [](hilo::Communicator& c) { c.ibarrier().wait(limit); }},
  };
  for (const bool delayed : {false, true}) {
    for (const auto& [name, collective] : collectives) {
      CAPTURE(name, delayed);
      hilo::testing::FaultPlan plan;
      plan.kill(3, 2);  // its first collective completes; it dies entering the second
      if (delayed) plan.delay(200us);
      std::vector<Seen> seen(4);
      hilo::run_local(
          4,
          [&](hilo::Communicator& c) {
            record(seen[c.rank()], [&] {
              c.all_reduce(1, std::plus<>{}, limit);
              collective(c);
            });
          },
          plan);
      for (int r = 0; r < 3; ++r) {
        CAPTURE(r, seen[r].what);
        CHECK(seen[r].peer_lost);
        CHECK(seen[r].lost_rank == 3);
      }
    }
  }
}

TEST_CASE("delay holds each message back; without it a sent message is there at once") {
  for (const bool delayed : {false, true}) {
    CAPTURE(delayed);
    hilo::testing::FaultPlan plan;
    plan.reorder(false);
    if (delayed) plan.delay(std::chrono::hours(1));
    std::atomic<bool> sent{false};
    bool there_at_once = false;
    hilo::run_local(
        2,
        [&](hilo::Communicator& c) {
          if (c.rank() == 1) {
            c.send(0, 0, 1, limit);  // eager: returns once copied, delayed or not
            sent = true;
          } else {
            while (!sent) std::this_thread::yield();  // ends: rank 1 sets it once its send returned
            there_at_once = c.iprobe(1, 0).has_value();
          }
        },
        plan);
    // With a delay drawn up to an hour for the seed 0 (fixed, so the same every run), the message
    // is still held when the receiver looks.
    CHECK(there_at_once == !delayed);
  }
}

TEST_CASE("delay keeps each sender's order and the collectives' results") {
  hilo::testing::FaultPlan plan;
  plan.delay(300us).seed(3);
  constexpr int per_sender = 100;
  std::vector<std::vector<int>> got(4);
  std::vector<int> sums(4);
  hilo::run_local(
      4,
      [&](hilo::Communicator& c) {
        if (c.rank() != 0) {
          for (int i = 0; i < per_sender; ++i) c.send(0, 0, i, limit);
        } else {
          for (int i = 0; i < 3 * per_sender; ++i) {
            hilo::Status s;
            int v = 0;
            s = c.recv(hilo::any_source, 0, v, limit);
            got[s.source].push_back(v);
          }
        }
        sums[c.rank()] = c.all_reduce(c.rank() + 1, std::plus<>{}, limit);
        c.barrier(limit);
      },
      plan);
  std::vector<int> in_order(per_sender);
  for (int i = 0; i < per_sender; ++i) in_order[i] = i;
  for (int r = 1; r < 4; ++r) CHECK(got[r] == in_order);
  CHECK(sums == std::vector<int>(4, 10));
}

namespace {
// Ranks 1 and 2 each send `per_sender` messages to rank 0, rank 2 only after all of rank 1's
// (a token from rank 1 says so), so they arrive all of rank 1's first; after a barrier rank 0
// receives them from any_source and returns the sources in the order it got them. With
// `probe_first`, each is probed from any_source and then received from the source the probe
// named.
std::vector<int> any_source_order(const hilo::testing::FaultPlan& plan, bool probe_first) {
  constexpr int per_sender = 20;
  std::vector<int> order;
  hilo::run_local(
      3,
      [&](hilo::Communicator& c) {
        if (c.rank() == 1) {
          for (int i = 0; i < per_sender; ++i) c.send(0, 0, i, limit);
          c.send(2, 9, 0, limit);
        } else if (c.rank() == 2) {
          c.recv<int>(1, 9, limit);
          for (int i = 0; i < per_sender; ++i) c.send(0, 0, i, limit);
        }
        c.barrier(limit);  // every message has arrived at rank 0 (sends are eager)
        if (c.rank() != 0) return;
        std::vector<int> next(3, 0);
        for (int i = 0; i < 2 * per_sender; ++i) {
          int source = hilo::any_source;
          if (probe_first) source = c.probe(hilo::any_source, 0, limit).source;
          int v = -1;
          hilo::Status s = c.recv(source, 0, v, limit);
          if (v != next[s.source]++) throw std::logic_error("a source's own order was not kept");
          order.push_back(s.source);
        }
      },
      plan);
  return order;
}
}  // namespace

TEST_CASE("reorder interleaves sources by the seed, keeping each source's order") {
  const std::vector<int> arrival = [] {
    std::vector<int> v(20, 1);
    v.resize(40, 2);
    return v;
  }();
  CHECK(any_source_order(hilo::testing::FaultPlan{}, false) == arrival);

  hilo::testing::FaultPlan seven;
  seven.reorder().seed(7);
  const std::vector<int> first = any_source_order(seven, false);
  CHECK(first != arrival);
  SECTION("the same seed gives the same order, by recv or by probe") {
    CHECK(any_source_order(seven, false) == first);
    CHECK(any_source_order(seven, true) == first);
  }
  SECTION("another seed gives another order") {
    hilo::testing::FaultPlan eight;
    eight.reorder().seed(8);
    CHECK(any_source_order(eight, false) != first);
  }
}
