// Connection setup (runtime/src/backends/tcp/mesh_setup.hpp) under pressure from strangers:
// connections to a rank's listener that never send a hello must not keep its peers out.
#include "backends/tcp/mesh_setup.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "../ipc/fork_helpers.hpp"
#include "backends/tcp/socket.hpp"
#include "catch.hpp"
#include "hilo/errors.hpp"
#include "loopback_client.hpp"

using namespace std::chrono_literals;
using namespace hilo::tcp;

namespace {
const std::string token(64, 'm');
}

TEST_CASE("mesh setup: idle connections beyond the rank's fd limit do not keep a peer out") {
  // 300 idle connections wait in rank 1's accept queue ahead of rank 0's. Rank 1 runs in a child
  // process allowed 48 fds, fewer than the strangers and than the stranger cap, so it runs out
  // of fds while strangers are still queued and must make room for rank 0 (run here, unlimited).
  Listener listener0 = listen_on("127.0.0.1", {});
  Listener listener1 = listen_on("127.0.0.1", {});
  const std::vector<hilo::launch::PeerAddress> table{{0, "host0", "127.0.0.1", listener0.port},
                                                     {1, "host1", "127.0.0.1", listener1.port}};
  std::vector<UniqueFd> idle;  // held open by this process until rank 1 is done
  for (int i = 0; i < 300; ++i) idle.push_back(raw_connect(listener1.port));
  const auto deadline = hilo::Deadline::after(5s);

  const pid_t rank1 = hilo_test::fork_child([&] {
    idle.clear();  // only the child's copies: the connections stay open in the parent
    listener0.fd.reset();
    const rlimit limit{48, 48};
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return 3;
    try {
      RejectionLog log("rank 1", {});
      return connect_mesh(listener1, MeshPlan{1, token, table, deadline}, log)[0] ? 0 : 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rank 1: %s\n", e.what());
      return 2;
    }
  });
  std::string rank0_failure;
  try {
    RejectionLog log("rank 0", {});
    CHECK(connect_mesh(listener0, MeshPlan{0, token, table, deadline}, log)[1]);
  } catch (const std::exception& e) {
    rank0_failure = e.what();
  }
  CHECK(hilo_test::wait_child(rank1, 30s) == 0);
  CHECK(rank0_failure == "");
}

TEST_CASE("mesh setup: a rank that never comes is a Timeout naming this rank and the missing one") {
  // Rank 1 of two waits for rank 0 to connect (lower ranks connect to higher ones); rank 0 never
  // runs, so the setup ends at its deadline.
  Listener listener0 = listen_on("127.0.0.1", {});
  Listener listener1 = listen_on("127.0.0.1", {});
  const std::vector<hilo::launch::PeerAddress> table{{0, "host0", "127.0.0.1", listener0.port},
                                                     {1, "host1", "127.0.0.1", listener1.port}};
  RejectionLog log("rank 1", {});
  const MeshPlan plan{1, token, table, hilo::Deadline::after(200ms)};
  try {
    connect_mesh(listener1, plan, log);
    FAIL("connect_mesh returned although rank 0 never connected");
  } catch (const hilo::Timeout& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::StartsWith("hilo: connection setup on rank 1: could not connect to "
                                       "every rank in time; still missing: rank 0 (host host0, "
                                       "127.0.0.1:" +
                                       std::to_string(listener0.port) + ")"));
  }
}
