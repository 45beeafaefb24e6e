// The TCP backend end to end inside one process: N ranks as threads, each with its own listener,
// mesh and progress engine, talking over loopback exactly as separate processes would.
#include "backends/tcp/tcp_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <numeric>
#include <set>
#include <thread>

#include "backends/tcp/bootstrap.hpp"
#include "backends/tcp/frame.hpp"
#include "backends/tcp/handshake.hpp"
#include "backends/tcp/single_copy.hpp"
#include "catch.hpp"
#include "hilo/comm/communicator.hpp"
#include "hilo/comm/detail/pipeline_options.hpp"
#include "hilo/errors.hpp"
#include "loopback_client.hpp"

using namespace std::chrono_literals;
using hilo::Communicator;
using hilo::tcp::Engine;

namespace {

const std::string token(64, '7');

std::string host_name(int rank) {
  return "host" + std::to_string(rank);
}

// Listeners and the table a rendezvous would have produced.
struct Plan {
  std::vector<hilo::tcp::Listener> listeners;
  std::vector<hilo::launch::PeerAddress> table;
};

// Every rank on a host of its own, or (one_host) all on one host, as processes of one machine:
// then they offer each other their memory (single_copy.hpp, peer_memory.hpp).
Plan plan_world(int n, bool one_host = false) {
  Plan plan;
  for (int r = 0; r < n; ++r) {
    plan.listeners.push_back(hilo::tcp::listen_on("127.0.0.1", {}));
    plan.table.push_back(
        {r, one_host ? host_name(0) : host_name(r), "127.0.0.1", plan.listeners.back().port});
  }
  return plan;
}

std::vector<std::shared_ptr<Engine>> connect_all(Plan plan, std::set<int> skip = {}) {
  const int n = static_cast<int>(plan.table.size());
  std::vector<std::future<std::shared_ptr<Engine>>> starting;
  for (int r = 0; r < n; ++r) {
    if (skip.count(r)) continue;
    starting.push_back(std::async(std::launch::async, [&plan, r] {
      return hilo::tcp::connect_world(std::move(plan.listeners[static_cast<std::size_t>(r)]), r,
                                      token, plan.table, hilo::Deadline::after(20s));
    }));
  }
  std::vector<std::shared_ptr<Engine>> engines(static_cast<std::size_t>(n));
  int i = 0;
  for (int r = 0; r < n; ++r)
    if (!skip.count(r))
      engines[static_cast<std::size_t>(r)] = starting[static_cast<std::size_t>(i++)].get();
  return engines;
}

std::unique_ptr<hilo::Transport> world_of(const std::shared_ptr<Engine>& engine) {
  std::vector<int> members(static_cast<std::size_t>(engine->size()));
  std::iota(members.begin(), members.end(), 0);
  return std::make_unique<hilo::tcp::TcpTransport>(engine, 0, members, engine->rank());
}

// Catch's assertions are not thread-safe, so code on rank threads checks with this: a failure
// is an exception that run_world() rethrows on the test's own thread.
#define RANK_CHECK(...)                                                                   \
  do {                                                                                    \
    if (!(__VA_ARGS__))                                                                   \
      throw std::runtime_error("check failed on a rank thread: " #__VA_ARGS__ " (line " + \
                               std::to_string(__LINE__) + ")");                           \
  } while (false)

// Runs fn(engine) on every rank of a fresh world, each on its own thread; rethrows the first
// failure; every rank finishes cleanly afterwards.
void run_engines(Plan plan, const std::function<void(const std::shared_ptr<Engine>&)>& fn) {
  auto engines = connect_all(std::move(plan));
  std::vector<std::future<void>> ranks;
  for (auto& engine : engines)
    ranks.push_back(std::async(std::launch::async, [&fn, &engine] { fn(engine); }));
  std::exception_ptr first;
  for (auto& f : ranks) {
    try {
      f.get();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  for (auto& e : engines) e->finish(5s);
  if (first) std::rethrow_exception(first);
}

// The same, fn(comm) on a Communicator of the world.
void run_world(int n, const std::function<void(Communicator&)>& fn) {
  run_engines(plan_world(n), [&fn](const std::shared_ptr<Engine>& engine) {
    Communicator comm(world_of(engine));
    comm.set_default_timeout(60s);  // a bug shows up as a failure, not a hung test
    fn(comm);
  });
}

std::vector<std::uint8_t> pattern(std::size_t bytes, int seed) {
  std::vector<std::uint8_t> v(bytes);
  for (std::size_t i = 0; i < bytes; ++i) v[i] = static_cast<std::uint8_t>(i * 31 + seed);
  return v;
}

}  // namespace

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

TEST_CASE("tcp world: a frame with an absurd length is PeerLost, not an allocation") {
  // Rank 0 is played by the test: it connects to rank 1 (lower connects to higher), passes the
  // handshake, then sends a header claiming 2^62 bytes.
  Plan plan = plan_world(2);
  const std::uint16_t port_of_1 = plan.table[1].port;
  auto rank1 = std::async(std::launch::async, [&] {
    return hilo::tcp::connect_world(std::move(plan.listeners[1]), 1, token, plan.table,
                                    hilo::Deadline::after(20s));
  });
  auto fd = raw_connect(port_of_1);
  const std::string hello = hilo::tcp::encode_hello(token, 0, 2);
  ::send(fd.get(), hello.data(), hello.size(), MSG_NOSIGNAL);
  auto engine = rank1.get();
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
  Plan plan = plan_world(2);
  const std::uint16_t port_of_1 = plan.table[1].port;
  auto rank1 = std::async(std::launch::async, [&] {
    return hilo::tcp::connect_world(std::move(plan.listeners[1]), 1, token, plan.table,
                                    hilo::Deadline::after(20s));
  });
  auto fd = raw_connect(port_of_1);
  const std::string hello = hilo::tcp::encode_hello(token, 0, 2);
  ::send(fd.get(), hello.data(), hello.size(), MSG_NOSIGNAL);
  auto engine = rank1.get();
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

namespace {

// hilo::detail::direct_all_reduce (detail/all_reduce.hpp) over typed arrays.
template <class E, class Op>
bool direct_all_reduce_of(hilo::Transport& t, hilo::PeerMemory& memory, const E* in, E* out,
                          std::size_t n, Op& op, hilo::Deadline deadline) {
  const hilo::detail::VectorBytes v{reinterpret_cast<const std::byte*>(in),
                                    reinterpret_cast<std::byte*>(out), n, hilo::data_type_of<E>()};
  return hilo::detail::direct_all_reduce(t, memory, v, hilo::detail::combiner_for<E>(op), deadline);
}

// direct_all_reduce (detail/all_reduce.hpp) of n doubles on the world's collective channel: value i
// of rank r is i % 1000 + r. Returns whether it took the direct path; checks the result if it did.
bool direct_sum(hilo::Transport& world, std::size_t n, bool in_place) {
  hilo::Transport& t = world.collective_channel();
  std::vector<double> in(n), out(in_place ? 0 : n);
  for (std::size_t i = 0; i < n; ++i) in[i] = static_cast<double>(i % 1000) + t.rank();
  double* result = in_place ? in.data() : out.data();
  auto plus = [](double a, double b) { return a + b; };
  RANK_CHECK(t.peer_memory() != nullptr);
  if (!direct_all_reduce_of(t, *t.peer_memory(), in.data(), result, n, plus,
                            hilo::Deadline::after(60s)))
    return false;
  const double ranks = t.size() * (t.size() - 1) / 2.0;
  std::size_t wrong = 0;  // every element: a share off by one shows at its edge only
  for (std::size_t i = 0; i < n; ++i)
    wrong += result[i] != t.size() * static_cast<double>(i % 1000) + ranks;
  RANK_CHECK(wrong == 0);
  return true;
}

// Offers travel just after the mesh is up: until every rank has checked every other's, they
// agree not to take the direct path. Calls direct_sum until they do (a bounded number of times).
void direct_sum_once_agreed(hilo::Transport& world, std::size_t n, bool in_place) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (direct_sum(world, n, in_place)) return;
    std::this_thread::sleep_for(1ms);
  }
  throw std::runtime_error("the ranks never agreed to reach each other's memory");
}

}  // namespace

TEST_CASE("tcp world on one host: all-reduce reads the peers' memory directly") {
  for (int p : {2, 3, 4}) {
    run_engines(plan_world(p, true), [](const std::shared_ptr<Engine>& engine) {
      auto world = world_of(engine);
      // Shares of n/p elements: uneven for p = 3 and odd n, several scratch pieces for 2^20.
      for (std::size_t n : {std::size_t{5}, std::size_t{70001}, (std::size_t{1} << 20) + 3}) {
        direct_sum_once_agreed(*world, n, false);
        RANK_CHECK(direct_sum(*world, n, true));  // agreed for good: every offer is in
      }
      // Through the Communicator, which takes the same path for large vectors.
      Communicator comm(world_of(engine));
      std::vector<float> v(1 << 18, 1.0f), sum;
      comm.all_reduce_into(v, sum, std::plus<>{});
      RANK_CHECK(sum.size() == v.size() && sum.front() == comm.size() && sum.back() == comm.size());
    });
  }
}

TEST_CASE("tcp world on one host: with single copy off the ranks agree on the sockets") {
  // Read when each rank connects, so set for the whole world's life.
  ::setenv("HILO_TCP_SINGLE_COPY", "off", 1);
  try {
    run_engines(plan_world(3, true), [](const std::shared_ptr<Engine>& engine) {
      auto world = world_of(engine);
      // Long past the moment offers would have come in (direct_sum_once_agreed above agrees
      // within a few attempts), the ranks still agree on the sockets.
      for (int attempt = 0; attempt < 20; ++attempt) {
        RANK_CHECK(!direct_sum(*world, 70001, false));
        std::this_thread::sleep_for(1ms);
      }
      Communicator comm(world_of(engine));  // and the all-reduce still adds up, by sockets
      std::vector<double> v(70001, 1.0);
      RANK_CHECK(comm.all_reduce(v, std::plus<>{}).back() == 3.0);
    });
  } catch (...) {
    ::unsetenv("HILO_TCP_SINGLE_COPY");
    throw;
  }
  ::unsetenv("HILO_TCP_SINGLE_COPY");
}

TEST_CASE("tcp world on one host: a direct all-reduce of other lengths or types fails everywhere") {
  std::atomic<int> named_lengths{0}, named_types{0};
  run_engines(plan_world(2, true), [&](const std::shared_ptr<Engine>& engine) {
    auto world = world_of(engine);
    direct_sum_once_agreed(*world, 70000, false);
    hilo::Transport& t = world->collective_channel();
    auto message_of = [&](auto element, std::size_t n) {
      using E = decltype(element);
      std::vector<E> in(n, E{1}), out(n);
      auto plus = [](E a, E b) { return a + b; };
      try {
        direct_all_reduce_of(t, *t.peer_memory(), in.data(), out.data(), n, plus,
                             hilo::Deadline::after(60s));
      } catch (const hilo::Error& e) {
        return std::string(e.what());
      }
      return std::string("no error");
    };
    const std::string lengths = message_of(1.0, t.rank() == 0 ? 70000 : 90000);
    if (lengths.find("70000") != std::string::npos && lengths.find("90000") != std::string::npos)
      ++named_lengths;
    const std::string types =
        t.rank() == 0 ? message_of(1.0f, 70000) : message_of(std::int32_t{1}, 70000);
    if (types.find("float32") != std::string::npos && types.find("int32") != std::string::npos)
      ++named_types;
  });
  CHECK(named_lengths == 2);
  CHECK(named_types == 2);
}

TEST_CASE("tcp world on one host: a rank that times out in a direct all-reduce keeps its memory") {
  // Rank 1 stalls inside its share (its operation sleeps once); rank 0 gives up first, with a
  // Timeout naming rank 1. When rank 1 goes on, it must fail too, not return, and it must not
  // have changed rank 0's vectors, which rank 0 keeps until then to look at them.
  std::atomic<bool> rank1_done{false};
  std::atomic<int> checks{0};
  run_engines(plan_world(2, true), [&](const std::shared_ptr<Engine>& engine) {
    auto world = world_of(engine);
    direct_sum_once_agreed(*world, 70000, false);
    hilo::Transport& t = world->collective_channel();
    const std::size_t n = 70000;
    std::vector<double> in(n, 1.0), out(n, -1.0);
    bool slept = false;
    auto stalling_plus = [&](double a, double b) {
      if (t.rank() == 1 && !slept) {
        slept = true;
        std::this_thread::sleep_for(1500ms);
      }
      return a + b;
    };
    const auto limit = t.rank() == 0 ? 300ms : 3000ms;
    std::string failure = "no error";
    try {
      direct_all_reduce_of(t, *t.peer_memory(), in.data(), out.data(), n, stalling_plus,
                           hilo::Deadline::after(limit));
    } catch (const hilo::Error& e) {
      failure = e.what();
    }
    if (t.rank() == 0) {
      if (failure.find("rank 1") != std::string::npos) ++checks;  // the Timeout names it
      const std::vector<double> at_timeout = out;
      for (int i = 0; i < 1000 && !rank1_done; ++i) std::this_thread::sleep_for(10ms);
      if (rank1_done && out == at_timeout) ++checks;
    } else {
      if (failure != "no error") ++checks;  // it did not return a result
      rank1_done = true;
    }
  });
  CHECK(checks == 3);
}

namespace {
// A PeerMemory that runs `before(bytes)` ahead of every read: stages a failure at a chosen step
// of a direct all-reduce (its combining reads pieces of at most 64 KiB, its final copies read
// whole shares).
class HookedPeerMemory final : public hilo::PeerMemory {
 public:
  HookedPeerMemory(hilo::PeerMemory& real, std::function<void(std::size_t)> before)
      : real_(real), before_(std::move(before)) {}
  bool reachable(int rank) override { return real_.reachable(rank); }
  bool read(int rank, std::uintptr_t from, void* to, std::size_t bytes) override {
    before_(bytes);
    return real_.read(rank, from, to, bytes);
  }

 private:
  hilo::PeerMemory& real_;
  std::function<void(std::size_t)> before_;
};
}  // namespace

TEST_CASE("tcp world on one host: a rank whose peer left a direct all-reduce hears why") {
  // Rank 1 fails in the all-reduce, unmaps its vectors and ends its runtime with an exception,
  // as a rank does that lost a peer. Rank 0 then reads rank 1's vectors and finds them unmapped;
  // it must report rank 1 lost, as every other operation would, not a bad address of its own.
  // Both steps that read: combining (rank 1 fails before its "ready") and copying the finished
  // shares (after it). Rank 1's vectors are mapped by hand so that freeing them really unmaps
  // them (malloc may keep large blocks).
  const std::size_t n = 70000, share_bytes = n / 2 * sizeof(double);  // shares of several pieces
  const bool while_combining = GENERATE(true, false);
  auto in_step = [&](std::size_t bytes) { return (bytes < share_bytes) == while_combining; };
  INFO((while_combining ? "rank 1 fails while combining" : "rank 1 fails copying the shares"));
  auto engines = connect_all(plan_world(2, true));
  std::atomic<bool> rank1_unmapped{false};
  std::plus<> plus;
  auto rank0 = std::async(std::launch::async, [&]() -> std::string {
    auto world = world_of(engines[0]);
    direct_sum_once_agreed(*world, n, false);
    hilo::Transport& t = world->collective_channel();
    HookedPeerMemory memory(*t.peer_memory(), [&](std::size_t bytes) {
      if (!in_step(bytes)) return;
      for (int i = 0; i < 2000 && !rank1_unmapped; ++i) std::this_thread::sleep_for(1ms);
    });
    std::vector<double> in(n, 1.0), out(n);
    try {
      direct_all_reduce_of(t, memory, in.data(), out.data(), n, plus, hilo::Deadline::after(20s));
    } catch (const hilo::PeerLost& e) {
      return "PeerLost of rank " + std::to_string(e.rank()) + ": " + e.what();
    } catch (const hilo::Error& e) {
      return std::string("another error: ") + e.what();
    }
    return "no error";
  });
  {
    auto world = world_of(engines[1]);
    direct_sum_once_agreed(*world, n, false);
    hilo::Transport& t = world->collective_channel();
    HookedPeerMemory memory(*t.peer_memory(), [&](std::size_t bytes) {
      if (in_step(bytes)) throw std::runtime_error("rank 1 fails");
    });
    const std::size_t bytes = n * sizeof(double);
    void* in = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void* out = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(in != MAP_FAILED);
    REQUIRE(out != MAP_FAILED);
    CHECK_THROWS_AS(
        direct_all_reduce_of(t, memory, static_cast<double*>(in), static_cast<double*>(out), n,
                             plus, hilo::Deadline::after(20s)),
        std::runtime_error);
    ::munmap(in, bytes);
    ::munmap(out, bytes);
    rank1_unmapped = true;
  }
  engines[1]->abort(2s);
  const std::string heard = rank0.get();
  CHECK_THAT(heard, Catch::Matchers::StartsWith("PeerLost of rank 1"));
  CHECK_THAT(heard, Catch::Matchers::Contains("failed and left the job"));
  engines[0]->finish(5s);
}

TEST_CASE("tcp world on separate hosts: no peer memory") {
  auto engines = connect_all(plan_world(2));
  CHECK(world_of(engines[0])->peer_memory() == nullptr);
  for (auto& e : engines) e->finish(5s);
}
