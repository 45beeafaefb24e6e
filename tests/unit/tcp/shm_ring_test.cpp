// The shared-memory ring of a same-host pair (runtime/src/backends/tcp/shm_ring.hpp) and the
// set-up of a pair's channel (shm_channel.hpp): bytes come out in order across the wrap and
// across the pieces a write publishes one by one, a full ring takes what fits, a sleeping side is
// always told to wake, the consumer knows whether the producer last wrote from its own CPU, and
// the set-up maps one segment per pair that nobody else can find by name afterwards.
#include "backends/tcp/shm_ring.hpp"

#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include "backends/tcp/shm_channel.hpp"
#include "catch.hpp"
#include "hilo/errors.hpp"

using namespace hilo::tcp;

namespace {

constexpr std::size_t capacity = 64;

struct LocalRing {
  std::vector<std::byte> memory = std::vector<std::byte>(ShmRing::footprint(capacity) + 64);
  // 64-byte aligned inside `memory`, as in a segment.
  std::byte* base() {
    auto at = reinterpret_cast<std::uintptr_t>(memory.data());
    return memory.data() + ((64 - at % 64) % 64);
  }
};

std::size_t write_bytes(ShmRing& ring, const std::vector<std::byte>& bytes) {
  iovec piece{const_cast<std::byte*>(bytes.data()), bytes.size()};
  return ring.write(&piece, 1);
}

std::vector<std::byte> counting(std::size_t n, int from) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>(from + static_cast<int>(i));
  return out;
}

}  // namespace

TEST_CASE("shm ring: bytes come out in order across the wrap, and a full ring takes what fits") {
  LocalRing memory;
  ShmRing producer(memory.base(), capacity);
  ShmRing consumer(memory.base(), capacity);
  CHECK_FALSE(consumer.readable());
  int next = 0;
  for (int round = 0; round < 10; ++round) {  // 10 x 40 bytes through 64: wraps several times
    const auto sent = counting(40, next);
    REQUIRE(write_bytes(producer, sent) == 40);
    CHECK(consumer.readable());
    std::vector<std::byte> got(40);
    REQUIRE(consumer.read(got.data(), 25) == 25);  // in two pieces
    REQUIRE(consumer.read(got.data() + 25, 100) == 15);
    CHECK(got == sent);
    CHECK_FALSE(consumer.readable());
    next += 40;
  }
  // Full: 64 of 100 bytes go, the rest waits for room.
  const auto big = counting(100, 7);
  CHECK(write_bytes(producer, big) == capacity);
  CHECK(write_bytes(producer, big) == 0);
  CHECK_FALSE(producer.wait_for_room());
  std::vector<std::byte> got(capacity);
  CHECK(consumer.read(got.data(), got.size()) == capacity);
  CHECK(std::equal(got.begin(), got.end(), big.begin()));
  CHECK(consumer.producer_needs_wake());        // the producer asked for room
  CHECK_FALSE(consumer.producer_needs_wake());  // and is told once
  CHECK(producer.wait_for_room());              // room now: write instead of waiting
}

TEST_CASE("shm ring: a sleeping consumer is woken by every write until it says it is awake") {
  LocalRing memory;
  ShmRing producer(memory.base(), capacity);
  ShmRing consumer(memory.base(), capacity);
  const auto one = counting(1, 0);
  REQUIRE(write_bytes(producer, one) == 1);
  CHECK_FALSE(producer.consumer_needs_wake());  // awake: no doorbell
  CHECK(consumer.consumer_sleeps());            // bytes are there: it must not sleep
  std::byte sink[8];
  consumer.read(sink, sizeof sink);
  CHECK_FALSE(consumer.consumer_sleeps());  // empty: it may sleep
  REQUIRE(write_bytes(producer, one) == 1);
  CHECK(producer.consumer_needs_wake());
  // Another thread of the consumer may have taken that doorbell and the bytes: the sleeper is
  // still asleep, so the next write must ring again.
  consumer.read(sink, sizeof sink);
  REQUIRE(write_bytes(producer, one) == 1);
  CHECK(producer.consumer_needs_wake());
  consumer.consumer_awake();
  REQUIRE(write_bytes(producer, one) == 1);
  CHECK_FALSE(producer.consumer_needs_wake());
}

TEST_CASE("shm ring: a producer and a consumer thread stream a megabyte intact") {
  // The producer publishes what it copied every `publish_every` bytes (pipelining): pieces that
  // are not a multiple of it, nor of the iovecs, nor aligned with the wrap, keep every byte.
  const std::size_t publish_every =
      GENERATE(as<std::size_t>{}, ShmRing::default_publish_every, 16, 5);
  CAPTURE(publish_every);
  LocalRing memory;
  ShmRing producer(memory.base(), capacity, publish_every);
  ShmRing consumer(memory.base(), capacity);
  const std::size_t total = 1 << 20;
  std::vector<std::byte> sent(total);
  for (std::size_t i = 0; i < total; ++i) sent[i] = static_cast<std::byte>((i * 131) >> 3);
  std::thread writer([&] {
    std::size_t at = 0;
    while (at < total) {
      // Odd-sized pieces, two iovecs at a time, so pieces straddle the wrap.
      const std::size_t a = std::min<std::size_t>(13, total - at);
      const std::size_t b = std::min<std::size_t>(29, total - at - a);
      iovec pieces[2] = {{sent.data() + at, a}, {sent.data() + at + a, b}};
      const std::size_t n = producer.write(pieces, b > 0 ? 2 : 1);
      at += n;
      if (n == 0) std::this_thread::yield();
    }
  });
  std::vector<std::byte> got(total);
  std::size_t at = 0;
  while (at < total) {
    const std::size_t n = consumer.read(got.data() + at, std::min<std::size_t>(37, total - at));
    at += n;
    if (n == 0) std::this_thread::yield();
  }
  writer.join();
  CHECK(got == sent);
}

TEST_CASE("shm ring: a publishing interval of 0 is a hilo::Error") {
  LocalRing memory;
  CHECK_THROWS_AS(ShmRing(memory.base(), capacity, 0), hilo::Error);
}

TEST_CASE("shm ring: the consumer tells whether the producer last wrote from its own CPU") {
  LocalRing memory;
  ShmRing producer(memory.base(), capacity);
  ShmRing consumer(memory.base(), capacity);
  cpu_set_t usable;
  REQUIRE(::sched_getaffinity(0, sizeof usable, &usable) == 0);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &usable)) cpus.push_back(cpu);
  // Each step runs on a thread of its own pinned to one CPU (the test's own thread keeps its
  // affinity).
  auto on_cpu = [](int cpu, auto&& step) {
    std::thread pinned([&] {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      REQUIRE(::sched_setaffinity(0, sizeof one, &one) == 0);
      step();
    });
    pinned.join();
  };
  bool before_any_write = false;
  on_cpu(cpus[0], [&] { before_any_write = consumer.producer_on_this_cpu(); });
  CHECK(before_any_write);  // nothing known: the consumer yields, which is always safe
  std::byte sink[8];
  on_cpu(cpus[0], [&] { write_bytes(producer, counting(1, 0)); });
  bool same = false;
  on_cpu(cpus[0], [&] { same = consumer.producer_on_this_cpu(); });
  CHECK(same);
  consumer.read(sink, sizeof sink);
  if (cpus.size() < 2) {
    WARN("one usable CPU: the producer on another CPU cannot be shown here");
    return;
  }
  bool other = true;
  on_cpu(cpus[1], [&] { other = consumer.producer_on_this_cpu(); });
  CHECK_FALSE(other);
  on_cpu(cpus[1], [&] { write_bytes(producer, counting(1, 0)); });  // the producer moved
  on_cpu(cpus[1], [&] { other = consumer.producer_on_this_cpu(); });
  CHECK(other);
}

namespace {

std::vector<hilo::launch::PeerAddress> table_of(std::vector<std::string> hosts) {
  std::vector<hilo::launch::PeerAddress> table;
  for (std::size_t r = 0; r < hosts.size(); ++r)
    table.push_back({static_cast<int>(r), hosts[r], "127.0.0.1", 0});
  return table;
}

// Runs the set-up between two "ranks" (threads) joined by a socket pair.
std::pair<std::unique_ptr<ShmChannel>, std::unique_ptr<ShmChannel>> set_up(
    const std::vector<hilo::launch::PeerAddress>& table, bool wanted0, bool wanted1) {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  std::vector<hilo::common::UniqueFd> sockets0(2), sockets1(2);
  sockets0[1] = hilo::common::UniqueFd(fds[0]);
  sockets1[0] = hilo::common::UniqueFd(fds[1]);
  const auto deadline = hilo::Deadline::after(std::chrono::seconds(10));
  std::vector<std::unique_ptr<ShmChannel>> channels1;
  std::thread higher([&] {
    channels1 = connect_shared_memory(1, "unit-token", table, sockets1, wanted1, deadline);
  });
  auto channels0 = connect_shared_memory(0, "unit-token", table, sockets0, wanted0, deadline);
  higher.join();
  return {std::move(channels0[1]), std::move(channels1[0])};
}

}  // namespace

TEST_CASE("shm channel: two ranks of one host share a segment whose name is gone at once") {
  auto [lower, higher] = set_up(table_of({"n1", "n1"}), true, true);
  REQUIRE(lower);
  REQUIRE(higher);
  CHECK_FALSE(std::filesystem::exists("/dev/shm/" + lower->name()));
  // The lower rank's outgoing ring is the higher rank's incoming one, and back.
  const auto hello = counting(5, 1);
  iovec piece{const_cast<std::byte*>(hello.data()), hello.size()};
  REQUIRE(lower->outgoing().write(&piece, 1) == 5);
  std::vector<std::byte> got(5);
  REQUIRE(higher->incoming().read(got.data(), got.size()) == 5);
  CHECK(got == hello);
  REQUIRE(higher->outgoing().write(&piece, 1) == 5);
  REQUIRE(lower->incoming().read(got.data(), got.size()) == 5);
  CHECK(got == hello);
}

TEST_CASE("shm channel: either side off, or other hosts, and the pair keeps its socket") {
  auto [lower_off, higher_on] = set_up(table_of({"n1", "n1"}), false, true);
  CHECK_FALSE(lower_off);
  CHECK_FALSE(higher_on);
  auto [lower_on, higher_off] = set_up(table_of({"n1", "n1"}), true, false);
  CHECK_FALSE(lower_on);
  CHECK_FALSE(higher_off);
  auto [lower_apart, higher_apart] = set_up(table_of({"n1", "n2"}), true, true);
  CHECK_FALSE(lower_apart);
  CHECK_FALSE(higher_apart);
}

TEST_CASE("shm channel: rings shrink as ranks crowd a host, within the host's budget") {
  CHECK(shm_ring_capacity(2) == std::size_t{512} << 10);
  CHECK(shm_ring_capacity(8) == std::size_t{512} << 10);
  CHECK(shm_ring_capacity(64) == std::size_t{64} << 10);
  CHECK(shm_ring_capacity(1000) == std::size_t{64} << 10);  // the floor
  for (int ranks = 2; ranks <= 64; ++ranks) {
    const std::size_t pairs = static_cast<std::size_t>(ranks * (ranks - 1) / 2);
    CHECK(2 * pairs * shm_ring_capacity(ranks) <= std::size_t{256} << 20);
  }
}

TEST_CASE("shm ring: a capacity that is not a power of two is a hilo::Error naming it") {
  LocalRing local;
  CHECK_THROWS_AS(ShmRing(local.base(), 48), hilo::Error);
  CHECK_THROWS_WITH(ShmRing(local.base(), 48),
                    "hilo: tcp: a ring of 48 bytes (its capacity must be a power of two)");
}
