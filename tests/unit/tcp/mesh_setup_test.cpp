// Connection setup (runtime/src/backends/tcp/mesh_setup.hpp) under pressure from strangers:
// connections to a rank's listener that never send a hello must not keep its peers out.
#include "backends/tcp/mesh_setup.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <vector>

#include "../ipc/fork_helpers.hpp"
#include "backends/tcp/socket.hpp"
#include "catch.hpp"
#include "loopback_client.hpp"

using namespace std::chrono_literals;
using namespace hilo::tcp;

namespace {
const std::string token(64, 'm');
}

TEST_CASE("mesh setup: idle connections beyond the rank's fd limit do not keep a peer out") {
  // 300 idle connections wait in rank 1's accept queue ahead of rank 0's. Both ranks then run
  // in a child process allowed 48 fds, fewer than the strangers and than the stranger cap: rank
  // 1 runs out of fds while the strangers are still queued and must make room for rank 0.
  Listener listener0 = listen_on("127.0.0.1", {});
  Listener listener1 = listen_on("127.0.0.1", {});
  const std::vector<hilo::launch::PeerAddress> table{{0, "host0", "127.0.0.1", listener0.port},
                                                     {1, "host1", "127.0.0.1", listener1.port}};
  std::vector<UniqueFd> idle;  // held open by this process until the child is done
  for (int i = 0; i < 300; ++i) idle.push_back(raw_connect(listener1.port));

  const int code = hilo_test::wait_child(
      hilo_test::fork_child([&] {
        idle.clear();  // only the child's copies: the connections stay open in the parent
        const rlimit limit{48, 48};
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return 3;
        const auto deadline = hilo::Deadline::after(5s);
        try {
          auto zero = std::async(std::launch::async, [&] {
            RejectionLog log("rank 0");
            return connect_mesh(listener0, MeshPlan{0, token, table, deadline}, log);
          });
          RejectionLog log("rank 1");
          auto one = connect_mesh(listener1, MeshPlan{1, token, table, deadline}, log);
          auto zeros = zero.get();
          return one[0] && zeros[1] ? 0 : 1;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "mesh setup failed: %s\n", e.what());
          return 2;
        }
      }),
      30s);
  CHECK(code == 0);
}
