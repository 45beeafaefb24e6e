// The stranger pool (runtime/src/backends/tcp/stranger_pool.hpp): the cap closes the oldest,
// the window closes the silent, a hello is handed to the caller and garbage is closed at once.
#include "backends/tcp/stranger_pool.hpp"

#include <sys/socket.h>

#include <chrono>
#include <vector>

#include "backends/tcp/handshake.hpp"
#include "catch.hpp"
#include "loopback_client.hpp"

using namespace std::chrono_literals;
using namespace hilo::tcp;
using Clock = StrangerPool::Clock;

namespace {

const std::string token(64, 's');

// One end of a connected pair goes into the pool; the test keeps the other to talk on it and
// to see whether the pool closed its end.
struct Pair {
  UniqueFd mine;
  UniqueFd pooled;
};
Pair make_pair() {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Whether the far end of `fd` has been closed (recv sees end of file), without waiting.
bool closed_by_pool(const UniqueFd& fd) {
  char byte;
  return ::recv(fd.get(), &byte, 1, MSG_DONTWAIT) == 0;
}

}  // namespace

TEST_CASE("stranger pool: at the cap a new connection closes the oldest stranger") {
  RejectionLog log("test", {});
  StrangerPool pool(log, 3, 5s);
  const auto t0 = Clock::now();
  std::vector<Pair> pairs;
  for (int i = 0; i < 5; ++i) {
    pairs.push_back(make_pair());
    pool.admit(std::move(pairs.back().pooled), "10.0.0.1", t0 + std::chrono::milliseconds(i));
    CHECK(pool.size() == std::min(i + 1, 3));
  }
  CHECK(closed_by_pool(pairs[0].mine));
  CHECK(closed_by_pool(pairs[1].mine));
  for (int i = 2; i < 5; ++i) CHECK_FALSE(closed_by_pool(pairs[static_cast<std::size_t>(i)].mine));
}

TEST_CASE("stranger pool: a silent stranger is closed when its window ends, not before") {
  RejectionLog log("test", {});
  StrangerPool pool(log, 64, 5s);
  const auto t0 = Clock::now();
  Pair silent = make_pair();
  pool.admit(std::move(silent.pooled), "10.0.0.2", t0);
  REQUIRE(pool.next_expiry().has_value());
  CHECK(*pool.next_expiry() == t0 + 5s);
  pool.expire(t0 + 5s - 1ms);
  CHECK(pool.size() == 1);
  CHECK_FALSE(closed_by_pool(silent.mine));
  pool.expire(t0 + 5s);
  CHECK(pool.size() == 0);
  CHECK(closed_by_pool(silent.mine));
  CHECK_FALSE(pool.next_expiry().has_value());
}

TEST_CASE("stranger pool: a hello is handed over whole; garbage and hang-ups are closed") {
  RejectionLog log("test", {});
  StrangerPool pool(log);
  const auto now = Clock::now();

  Pair peer = make_pair();
  const int peer_fd = peer.pooled.get();
  pool.admit(std::move(peer.pooled), "10.0.0.3", now);
  const std::string hello = encode_hello(token, 2, 4);
  CHECK(pool.read(peer_fd).state == StrangerPool::Reading::State::waiting);  // nothing yet
  ::send(peer.mine.get(), hello.data(), 5, 0);
  CHECK(pool.read(peer_fd).state == StrangerPool::Reading::State::waiting);
  const std::string rest = hello.substr(5) + "first frame";  // must stay unread for the peer
  ::send(peer.mine.get(), rest.data(), rest.size(), 0);
  StrangerPool::Reading reading = pool.read(peer_fd);
  REQUIRE(reading.state == StrangerPool::Reading::State::hello);
  CHECK(reading.hello.token == token);
  CHECK(reading.hello.rank == 2);
  UniqueFd taken = pool.take(peer_fd);
  CHECK(pool.size() == 0);
  char after[32] = {};
  CHECK(::recv(taken.get(), after, sizeof after, MSG_DONTWAIT) == 11);
  CHECK(std::string(after) == "first frame");

  Pair garbage = make_pair();
  const int garbage_fd = garbage.pooled.get();
  pool.admit(std::move(garbage.pooled), "10.0.0.4", now);
  ::send(garbage.mine.get(), "GET / HTTP/1.1\r\n", 16, 0);
  CHECK(pool.read(garbage_fd).state == StrangerPool::Reading::State::closed);
  CHECK(closed_by_pool(garbage.mine));

  Pair quitter = make_pair();
  const int quitter_fd = quitter.pooled.get();
  pool.admit(std::move(quitter.pooled), "10.0.0.5", now);
  quitter.mine.reset();
  CHECK(pool.read(quitter_fd).state == StrangerPool::Reading::State::closed);
  CHECK(pool.size() == 0);
}

TEST_CASE("stranger pool: accepting a flood keeps to the cap and takes at most a cap per call") {
  RejectionLog log("test", {});
  Listener listener = listen_on("127.0.0.1", {});
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 10; ++i) clients.push_back(raw_connect(listener.port));
  StrangerPool pool(log, 4, 5s);
  StrangerPool::Accepted first = pool.accept_from(listener.fd.get(), Clock::now());
  CHECK(first.fds.size() == 4);
  CHECK_FALSE(first.out_of_fds);
  StrangerPool::Accepted second = pool.accept_from(listener.fd.get(), Clock::now());
  CHECK(second.fds.size() == 4);
  CHECK(pool.size() == 4);
  // Accepted in arrival order: the second call closed the first four to make room.
  for (std::size_t i = 0; i < 4; ++i) CHECK(closed_by_pool(clients[i]));
  for (std::size_t i = 4; i < 8; ++i) CHECK_FALSE(closed_by_pool(clients[i]));
  StrangerPool::Accepted third = pool.accept_from(listener.fd.get(), Clock::now());
  CHECK(third.fds.size() == 2);
  CHECK(pool.size() == 4);
}
