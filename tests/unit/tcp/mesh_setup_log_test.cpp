// What connection setup (runtime/src/backends/tcp/mesh_setup.hpp) writes to the rank's log
// (hilo/detail/log.hpp) when a peer that registered refuses its connections.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/tcp/mesh_setup.hpp"
#include "backends/tcp/socket.hpp"
#include "captured_stderr.hpp"
#include "catch.hpp"
#include "hilo/errors.hpp"

using namespace std::chrono_literals;
using hilo::detail::Log;
using hilo::detail::LogLevel;
using namespace hilo::tcp;

namespace {

const std::string token(64, 'l');

// Runs rank 0's connection setup towards a rank 1 whose port has nothing listening, as if it
// had registered and then died, and returns the log lines it wrote at `level`.
std::vector<std::string> lines_of_refused_setup(LogLevel level, std::string& peer) {
  Listener listener0 = listen_on("127.0.0.1", {});
  std::uint16_t closed_port = 0;
  {
    const Listener gone = listen_on("127.0.0.1", {});
    closed_port = gone.port;
  }
  const std::vector<hilo::launch::PeerAddress> table{{0, "host0", "127.0.0.1", listener0.port},
                                                     {1, "host1", "127.0.0.1", closed_port}};
  peer = describe_peer(table[1]);
  hilo_test::CapturedStderr captured;
  RejectionLog rejections("rank 0", {});
  const MeshPlan plan{0, token, table, hilo::Deadline::after(30s), Log(level, "rank 0 on host0")};
  CHECK_THROWS_AS(connect_mesh(listener0, plan, rejections), hilo::PeerLost);
  return captured.lines();
}

std::string retry_line(const char* level, const std::string& peer, int retry) {
  return std::string("hilo[rank 0 on host0]: ") + level + ": tcp: retrying the connection to " +
         peer + " (retry " + std::to_string(retry) +
         " of 49), which refuses connections although it registered: it has exited";
}

}  // namespace

TEST_CASE("mesh setup: a refused connection is retried with one warning, each retry at debug") {
  std::string peer;
  SECTION("warn: the first retry only") {
    const auto lines = lines_of_refused_setup(LogLevel::warn, peer);
    CHECK(lines == std::vector<std::string>{retry_line("warn", peer, 1)});
  }
  SECTION("debug: every retry") {
    const auto lines = lines_of_refused_setup(LogLevel::debug, peer);
    REQUIRE(lines.size() == 49);
    CHECK(lines[0] == retry_line("warn", peer, 1));
    for (int retry = 2; retry <= 49; ++retry)
      CHECK(lines[static_cast<std::size_t>(retry - 1)] == retry_line("debug", peer, retry));
  }
  SECTION("error: none") {
    CHECK(lines_of_refused_setup(LogLevel::error, peer).empty());
  }
}
