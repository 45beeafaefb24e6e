// The tcp backend's listening socket (runtime/src/backends/tcp/socket.hpp): the addresses it
// refuses come from the environment (HILO_HOST_ADDR, HILO_TCP_IF), so they are hilo::Errors.
#include "backends/tcp/socket.hpp"

#include <string>

#include "catch.hpp"
#include "hilo/errors.hpp"

using hilo::tcp::listen_on;

TEST_CASE("listen_on refuses the wildcard address with a hilo::Error saying what to set") {
  CHECK_THROWS_AS(listen_on("0.0.0.0", {}), hilo::Error);
  CHECK_THROWS_WITH(listen_on("0.0.0.0", {}),
                    Catch::StartsWith("hilo: tcp: refusing to listen on 0.0.0.0") &&
                        Catch::Contains("HILO_HOST_ADDR or HILO_TCP_IF"));
}

TEST_CASE("listen_on refuses a malformed address with a hilo::Error quoting it") {
  CHECK_THROWS_AS(listen_on("10.0.0", {}), hilo::Error);
  CHECK_THROWS_WITH(listen_on("10.0.0", {}), "hilo: tcp: '10.0.0' is not an IPv4 address");
}

TEST_CASE("listen_on names the address when it cannot listen there") {
  // 192.0.2.1 (TEST-NET-1, RFC 5737) is no address of this machine: bind fails.
  CHECK_THROWS_AS(listen_on("192.0.2.1", {}), hilo::Error);
  CHECK_THROWS_WITH(listen_on("192.0.2.1", {}),
                    Catch::StartsWith("hilo: tcp: cannot listen on 192.0.2.1 (any port)"));
}

TEST_CASE("listen_on binds a loopback address on an ephemeral port") {
  hilo::tcp::Listener listener = listen_on("127.0.0.1", {});
  CHECK(listener.fd.get() >= 0);
  CHECK(listener.port != 0);
}
