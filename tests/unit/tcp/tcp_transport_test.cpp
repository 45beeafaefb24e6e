// The TCP backend end to end inside one process (tcp_world.hpp): messages, collectives, faults
// and malformed input, and the host map of ranks on two hosts. The ranks-of-one-host paths (peer
// memory) are in tcp_transport_one_host_test.cpp.
#include "backends/tcp/tcp_transport.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <span>
#include <thread>
#include <vector>

#include "backends/tcp/frame.hpp"
#include "backends/tcp/handshake.hpp"
#include "backends/tcp/single_copy.hpp"
#include "catch.hpp"
#include "hilo/comm/communicator.hpp"
#include "hilo/comm/detail/all_reduce.hpp"
#include "hilo/comm/detail/pipeline_options.hpp"
#include "hilo/errors.hpp"
#include "loopback_client.hpp"
#include "tcp_world.hpp"

using namespace std::chrono_literals;
using hilo::Communicator;
using hilo::tcp::Engine;
using namespace tcp_world;

TEST_CASE("tcp world: messages of every size arrive intact, 0 B to 64 MiB, both ways") {
  const std::vector<std::size_t> sizes = {0,     1,     7,     40,      1000,
                                          16383, 16384, 65536, 1 << 20, 64 << 20};
  run_world(2, [&](Communicator& c) {
    const int other = 1 - c.rank();
    for (std::size_t bytes : sizes) {
      // Both send first: the background progress keeps this from deadlocking at 64 MiB.
      auto sent = c.isend(other, 1, pattern(bytes, c.rank()));
      auto got = c.recv<std::vector<std::uint8_t>>(other, 1);
      sent.wait();
      RANK_CHECK(got.size() == bytes);
      RANK_CHECK(got == pattern(bytes, other));
      // And a blocking send into a receive posted before the message (zero-copy path).
      std::vector<std::uint8_t> into(bytes);
      if (c.rank() == 0) {
        c.send(1, 2, pattern(bytes, 9));
      } else {
        auto r = c.irecv(0, 2, into);
        r.wait();
        RANK_CHECK(into == pattern(bytes, 9));
      }
    }
  });
}

TEST_CASE("tcp world: values, strings and self-sends") {
  run_world(3, [](Communicator& c) {
    const int right = (c.rank() + 1) % c.size(), left = (c.rank() + c.size() - 1) % c.size();
    c.send(right, 3, 1.5 * c.rank());
    RANK_CHECK(c.recv<double>(left, 3) == 1.5 * left);
    c.send(right, 4, std::string("from ") + std::to_string(c.rank()));
    RANK_CHECK(c.recv<std::string>(left, 4) == "from " + std::to_string(left));
    c.send(c.rank(), 5, 42);
    RANK_CHECK(c.recv<int>(c.rank(), 5) == 42);
  });
}

TEST_CASE("tcp world: any_source gets every sender once, with its status") {
  run_world(4, [](Communicator& c) {
    if (c.rank() == 0) {
      std::multiset<int> sources;
      for (int i = 0; i < 3 * 5; ++i) {
        int value = 0;
        hilo::Status st = c.recv(hilo::any_source, 8, value);
        RANK_CHECK(value == st.source * 100);
        sources.insert(st.source);
      }
      RANK_CHECK(sources == std::multiset<int>{1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3});
    } else {
      for (int i = 0; i < 5; ++i) c.send(0, 8, c.rank() * 100);
    }
  });
}

TEST_CASE("tcp world: per-pair order holds for mixed sizes and tags") {
  run_world(3, [](Communicator& c) {
    const int count = 500;
    if (c.rank() != 0) {
      std::vector<hilo::Request> pending;
      for (int i = 0; i < count; ++i) {
        std::vector<int> message(i % 7 == 0 ? 30000 : 1 + i % 5, i);
        pending.push_back(c.isend(0, i % 2, std::move(message)));
      }
      hilo::wait_all(pending);
    } else {
      for (int source = 1; source < c.size(); ++source) {
        int last[2] = {-1, -1};
        for (int i = 0; i < count; ++i) {
          std::vector<int> m;
          hilo::Status st = c.recv(source, hilo::any_tag, m);
          RANK_CHECK(!m.empty());
          RANK_CHECK(m.front() > last[st.tag]);  // never overtaken within a tag
          RANK_CHECK(m.front() % 2 == st.tag);
          last[st.tag] = m.front();
        }
      }
    }
  });
}

TEST_CASE("tcp world: collectives for p = 1, 3, 5, small and large") {
  for (int p : {1, 3, 5}) {
    run_world(p, [p](Communicator& c) {
      c.barrier();
      RANK_CHECK(c.all_reduce(c.rank() + 1, std::plus<>{}) == p * (p + 1) / 2);
      std::vector<double> big(100000, 1.0 + c.rank());  // 800 KB: the ring all-reduce
      auto sum = c.all_reduce(big, std::plus<>{});
      RANK_CHECK(sum.front() == Approx(p * (p + 1) / 2.0));
      RANK_CHECK(sum.back() == Approx(p * (p + 1) / 2.0));
      std::string text = c.rank() == 0 ? "broadcast" : "";
      c.broadcast(text, 0);
      RANK_CHECK(text == "broadcast");
      auto all = c.all_gather(c.rank());
      RANK_CHECK(all.size() == static_cast<std::size_t>(p));
      auto sub = c.split(c.rank() % 2, c.rank());
      RANK_CHECK(sub.all_reduce(1, std::plus<>{}) == sub.size());
    });
  }
}

// The pipelined all-reduces cut their steps into segments no smaller than the single-copy
// threshold here (smaller ones would go through the socket): what the transport reports, on every
// rank, and on the collective channel the algorithms run on.
TEST_CASE("tcp world: pipeline segments are as large as the messages that go by single copy") {
  run_engines(plan_world(2), [](const std::shared_ptr<Engine>& engine) {
    auto world = world_of(engine);
    RANK_CHECK(world->min_handshake_message_bytes() == hilo::tcp::single_copy_threshold);
    RANK_CHECK(hilo::detail::pipeline_options_for(world->collective_channel()).min_segment_bytes ==
               hilo::tcp::single_copy_threshold);
  });
}

TEST_CASE("tcp world: a ring of 16 MiB isends, then receives, does not deadlock") {
  run_world(4, [](Communicator& c) {
    const int right = (c.rank() + 1) % c.size(), left = (c.rank() + c.size() - 1) % c.size();
    auto sent = c.isend(right, 1, pattern(16 << 20, c.rank()));
    auto got = c.recv<std::vector<std::uint8_t>>(left, 1);
    sent.wait();
    RANK_CHECK(got == pattern(16 << 20, left));
  });
}

TEST_CASE("tcp world: a dropped isend still delivers its message") {
  run_world(2, [](Communicator& c) {
    if (c.rank() == 0) {
      { auto dropped = c.isend(1, 1, pattern(4 << 20, 3)); }
      c.send(1, 2, 7);
    } else {
      RANK_CHECK(c.recv<int>(0, 2) == 7);
      RANK_CHECK(c.recv<std::vector<std::uint8_t>>(0, 1) == pattern(4 << 20, 3));
    }
  });
}

TEST_CASE("tcp world: a peer that closes without finishing is PeerLost for every rank") {
  auto engines = connect_all(plan_world(3));
  Communicator zero(world_of(engines[0]));
  Communicator two(world_of(engines[2]));
  auto waiting_on_one =
      std::async(std::launch::async, [&] { return zero.recv<int>(1, 5, hilo::within(20s)); });
  auto waiting_on_anyone = std::async(
      std::launch::async, [&] { return two.recv<int>(hilo::any_source, 5, hilo::within(20s)); });
  std::this_thread::sleep_for(100ms);
  engines[1].reset();  // rank 1 vanishes: sockets closed, no goodbye (as kill -9 does)
  try {
    waiting_on_one.get();
    FAIL("the receive from the lost rank returned");
  } catch (const hilo::PeerLost& e) {
    CHECK(e.rank() == 1);
    CHECK(e.host() == "host1");
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("rank 1 (host host1"));
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("exited or was killed"));
  }
  CHECK_THROWS_AS(waiting_on_anyone.get(), hilo::PeerLost);
  // Later operations fail at once too, and say who is gone.
  CHECK_THROWS_AS(zero.recv<int>(2, 1, hilo::within(20s)), hilo::PeerLost);
  CHECK_THROWS_AS(zero.send(1, 1, 5), hilo::PeerLost);
  zero.send(2, 1, 5);  // the living can still be sent to
  engines[0]->finish(5s);
  engines[2]->finish(5s);
}

TEST_CASE("tcp world: a rank that fails tells the others why (a cascade names its root cause)") {
  auto engines = connect_all(plan_world(3));
  Communicator zero(world_of(engines[0]));
  Communicator one(world_of(engines[1]));
  engines[2].reset();  // rank 2 dies without a word
  CHECK_THROWS_AS(one.recv<int>(2, 1, hilo::within(20s)), hilo::PeerLost);
  // Rank 1 now fails because of it, and says so to rank 0 on its way out.
  engines[1]->abort(2s);
  try {
    zero.recv<int>(1, 1, hilo::within(20s));
    FAIL("a receive from an aborted rank returned");
  } catch (const hilo::PeerLost& e) {
    // Rank 0 may hear of rank 2 directly first; either way a root cause is named.
    const std::string what = e.what();
    if (e.rank() == 1) {
      CHECK_THAT(what, Catch::Matchers::Contains("failed and left the job"));
      CHECK_THAT(what, Catch::Matchers::Contains("rank 2 (host host2"));
    } else {
      CHECK(e.rank() == 2);
    }
  }
  engines[0]->finish(5s);
}

TEST_CASE("tcp world: a rank that finishes cleanly only fails receives that wait for it") {
  auto engines = connect_all(plan_world(3));
  Communicator zero(world_of(engines[0]));
  Communicator one(world_of(engines[1]));
  Communicator two(world_of(engines[2]));
  one.send(0, 1, 11);
  engines[1]->finish(5s);
  CHECK(zero.recv<int>(1, 1, hilo::within(20s)) == 11);  // sent before it left: still there
  try {
    zero.recv<int>(1, 1, hilo::within(20s));
    FAIL("a receive from a finished rank returned");
  } catch (const hilo::PeerLost& e) {
    CHECK(e.rank() == 1);
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("has finished"));
  }
  two.send(0, 2, 22);
  CHECK(zero.recv<int>(hilo::any_source, 2, hilo::within(20s)) == 22);
  engines[0]->finish(5s);
  engines[2]->finish(5s);
}

TEST_CASE("tcp world: a silent peer is a Timeout naming it, not early") {
  auto engines = connect_all(plan_world(2));
  Communicator zero(world_of(engines[0]));
  const auto start = std::chrono::steady_clock::now();
  try {
    zero.recv<int>(1, 1, hilo::within(300ms));
    FAIL("nothing was sent, yet the receive returned");
  } catch (const hilo::Timeout& e) {
    CHECK(std::chrono::steady_clock::now() - start >= 300ms);
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("host1"));
  }
  for (auto& e : engines) e->finish(5s);
}

namespace {

// True when the far end closes `fd` within 5 s without sending anything.
bool closed_without_answer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 5000) <= 0) return false;
  char byte;
  return ::recv(fd, &byte, 1, 0) <= 0;
}

}  // namespace

TEST_CASE("tcp world: strangers are refused after setup and the job carries on") {
  Plan plan = plan_world(2);
  const std::uint16_t port_of_1 = plan.table[1].port;
  auto engines = connect_all(std::move(plan));
  Communicator zero(world_of(engines[0]));
  Communicator one(world_of(engines[1]));

  const std::string garbage = "garbage garbage garbage";
  const std::string wrong_token = hilo::tcp::encode_hello(std::string(64, 'x'), 0, 2);
  const std::string duplicate = hilo::tcp::encode_hello(token, 0, 2);
  for (const std::string& bytes : {garbage, wrong_token, duplicate}) {
    auto fd = raw_connect(port_of_1);
    ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    CHECK(closed_without_answer(fd.get()));
  }
  zero.send(1, 1, std::string("still fine"));
  CHECK(one.recv<std::string>(0, 1, hilo::within(20s)) == "still fine");
  for (auto& e : engines) e->finish(5s);
}

namespace {

// A world of 2 whose rank 0 is played by the test: it connects to rank 1 (lower connects to
// higher) and passes the handshake, so what it sends next reaches rank 1's engine as rank 0's.
std::pair<hilo::common::UniqueFd, std::shared_ptr<Engine>> play_rank_zero() {
  Plan plan = plan_world(2);
  const std::uint16_t port_of_1 = plan.table[1].port;
  auto rank1 = std::async(std::launch::async, [&] {
    return hilo::tcp::connect_world(std::move(plan.listeners[1]), 1, token, plan.table,
                                    hilo::Deadline::after(20s));
  });
  auto fd = raw_connect(port_of_1);
  const std::string hello = hilo::tcp::encode_hello(token, 0, 2);
  ::send(fd.get(), hello.data(), hello.size(), MSG_NOSIGNAL);
  return {std::move(fd), rank1.get()};
}

}  // namespace

TEST_CASE("tcp world: a frame with an absurd length is PeerLost, not an allocation") {
  // Rank 0, played by the test, sends a header claiming 2^62 bytes.
  auto [fd, engine] = play_rank_zero();
  Communicator one(world_of(engine));
  hilo::tcp::FrameHeader h;
  h.source = 0;
  h.tag = 1;
  h.type = hilo::data_type_of<std::uint8_t>();
  h.length = std::uint64_t{1} << 62;
  auto bytes = hilo::tcp::encode_frame_header(h);
  ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  try {
    one.recv<std::vector<std::uint8_t>>(0, 1, hilo::within(20s));
    FAIL("a 2^62-byte message was accepted");
  } catch (const hilo::PeerLost& e) {
    CHECK(e.rank() == 0);
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("exceeds the limit"));
  }
  fd.reset();
  engine->finish(5s);
}

TEST_CASE("tcp world: a collective stamp on a user channel's message is PeerLost naming it") {
  // As above, rank 0 played by the test: a message to world's user channel (context 0) whose
  // header carries a stamp, which only messages of a collective channel may (frame.hpp).
  auto [fd, engine] = play_rank_zero();
  Communicator one(world_of(engine));
  hilo::tcp::FrameHeader h;
  h.source = 0;
  h.tag = 1;
  h.type = hilo::data_type_of<std::uint8_t>();
  h.length = 1;
  h.stamp = 0x00010203;
  auto bytes = hilo::tcp::encode_frame_header(h);
  const std::byte payload{7};
  ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  ::send(fd.get(), &payload, 1, MSG_NOSIGNAL);
  try {
    one.recv<std::uint8_t>(0, 1, hilo::within(20s));
    FAIL("a stamped message was accepted on a user channel");
  } catch (const hilo::PeerLost& e) {
    CHECK(e.rank() == 0);
    CHECK_THAT(std::string(e.what()),
               Catch::Matchers::Contains("malformed frame header: a collective stamp (66051) on a "
                                         "message of a communicator's user channel"));
  }
  fd.reset();
  engine->finish(5s);
}

TEST_CASE("tcp world on two hosts of two ranks: the host map, and the all-reduce it chooses") {
  // Hosts as the rendezvous table names them; numbered in order of first appearance.
  Plan plan = plan_world(4);
  const std::vector<std::string> hosts{"n7", "n2", "n7", "n2"};
  for (std::size_t r = 0; r < hosts.size(); ++r) plan.table[r].host = hosts[r];
  run_engines(std::move(plan), [](const std::shared_ptr<Engine>& engine) {
    std::unique_ptr<hilo::Transport> world = world_of(engine);
    const std::span<const int> map = world->host_map();
    RANK_CHECK(std::vector<int>(map.begin(), map.end()) == std::vector<int>{0, 1, 0, 1});
    // A vector of 1 MiB and more: the choice takes the hierarchical all-reduce, which must then
    // add up over the sockets between the "hosts".
    const std::size_t n = hilo::detail::hierarchical_all_reduce_min_bytes / 8 + 3;
    hilo::detail::AllReduceShape shape{true, n, 8, 4, world->peer_memory() != nullptr};
    hilo::detail::count_hosts(map, shape);
    RANK_CHECK(hilo::detail::choose_all_reduce(shape) ==
               hilo::detail::AllReduceAlgorithm::hierarchical);
    Communicator comm(std::move(world));
    comm.set_default_timeout(60s);
    std::vector<std::int64_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::int64_t>(i) * (comm.rank() + 1);
    comm.all_reduce_in_place(v, std::plus<>{});
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) wrong += v[i] != static_cast<std::int64_t>(i) * 10;
    RANK_CHECK(wrong == 0);
  });
}
