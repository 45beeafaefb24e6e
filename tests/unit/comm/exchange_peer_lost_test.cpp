// A rank that dies in the middle of an exchange, prefix or nonblocking collective: on the local
// backend (a rank's thread that throws) every other rank gets hilo::PeerLost instead of hanging.
// tests/integration/tcp (kill_during_alltoall) kills a process under the tcp backend.
#include <hilo/comm/communicator.hpp>
#include <hilo/runtime.hpp>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"

namespace {

// Runs `collective` on 4 ranks after rank 2 has died (thrown); every other rank must raise
// hilo::PeerLost naming rank 2 or a rank that gave up because of it.
void survivors_get_peer_lost(const std::function<void(hilo::Communicator&)>& collective) {
  std::atomic<int> peer_lost{0};
  try {
    hilo::run_local(4, [&](hilo::Communicator& c) {
      if (c.rank() == 2) throw std::runtime_error("rank two died");
      try {
        collective(c);
      } catch (const hilo::PeerLost&) {
        ++peer_lost;
        throw;
      }
    });
    FAIL("run_local returned normally");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "rank two died");
  }
  CHECK(peer_lost == 3);
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
    survivors_get_peer_lost([](hilo::Communicator& c) { c.scan(1, std::plus<>{}); });
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
