// A rank that dies in the middle of an exchange, prefix or nonblocking collective: on the local
// backend (a rank's thread that throws) every other rank gets hilo::PeerLost instead of hanging.
// tests/integration/tcp (kill_during_alltoall) kills a process under the tcp backend.
#include <hilo/comm/communicator.hpp>
#include <hilo/runtime.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"

namespace {

// Runs `collective` on 4 ranks after rank 2 has died (thrown) and returns which of the others
// raised hilo::PeerLost; every one that did not returned normally (run_local waits for all).
std::array<bool, 4> ranks_that_got_peer_lost(
    const std::function<void(hilo::Communicator&)>& collective) {
  std::array<std::atomic<bool>, 4> lost{};
  try {
    hilo::run_local(4, [&](hilo::Communicator& c) {
      if (c.rank() == 2) throw std::runtime_error("rank two died");
      try {
        collective(c);
      } catch (const hilo::PeerLost&) {
        lost[c.rank()] = true;
        throw;
      }
    });
    FAIL("run_local returned normally");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "rank two died");
  }
  return {lost[0].load(), lost[1].load(), lost[2].load(), lost[3].load()};
}

// Every rank but the dead one must raise hilo::PeerLost, naming rank 2 or a rank that gave up
// because of it.
void survivors_get_peer_lost(const std::function<void(hilo::Communicator&)>& collective) {
  const std::array<bool, 4> lost = ranks_that_got_peer_lost(collective);
  CHECK(lost[0]);
  CHECK(lost[1]);
  CHECK(lost[3]);
}

}  // namespace

TEST_CASE("a rank dying during an exchange or prefix collective: the others get PeerLost") {
  SECTION("all_to_all") {
    survivors_get_peer_lost([](hilo::Communicator& c) { c.all_to_all(std::vector<int>(4, 1)); });
  }
  SECTION("all_to_all of strings") {
    survivors_get_peer_lost(
        [](hilo::Communicator& c) { c.all_to_all(std::vector<std::string>(4, "x")); });
  }
  SECTION("all_to_all_v") {
    survivors_get_peer_lost([](hilo::Communicator& c) {
      std::vector<int> data(4), counts(4, 1);
      c.all_to_all_v(data, counts, data, counts);
    });
  }
  SECTION("all_gather_v") {
    survivors_get_peer_lost([](hilo::Communicator& c) { c.all_gather_v(std::vector<int>(3)); });
  }
  SECTION("scan") {
    // Rank r's prefix needs ranks 0..r only: a rank after the dead one must get PeerLost, the
    // ones before it may finish (the chain's do: rank 0 only sends to rank 1).
    const std::array<bool, 4> lost =
        ranks_that_got_peer_lost([](hilo::Communicator& c) { c.scan(1, std::plus<>{}); });
    CHECK(lost[3]);
    const std::array<bool, 4> lost_exclusive =
        ranks_that_got_peer_lost([](hilo::Communicator& c) { c.exscan(1, std::plus<>{}); });
    CHECK(lost_exclusive[3]);
  }
  SECTION("reduce_scatter") {
    survivors_get_peer_lost(
        [](hilo::Communicator& c) { c.reduce_scatter(std::vector<int>(4, 1), std::plus<>{}); });
  }
  SECTION("sendrecv with the dead rank") {
    survivors_get_peer_lost([](hilo::Communicator& c) { c.sendrecv(2, 1, 1, 2, 1); });
  }
  SECTION("iall_to_all, in the request's wait") {
    survivors_get_peer_lost([](hilo::Communicator& c) {
      const std::vector<int> values(4, 1);
      std::vector<int> result;
      c.iall_to_all(values, result).wait();
    });
  }
  SECTION("ibarrier, in the request's wait") {
    survivors_get_peer_lost([](hilo::Communicator& c) { c.ibarrier().wait(); });
  }
}
