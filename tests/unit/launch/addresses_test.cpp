// Host names and addresses as hilorun uses them (runtime/src/launch/addresses.hpp).
#include "launch/addresses.hpp"

#include <unistd.h>

#include <climits>
#include <string>

#include "catch.hpp"
#include "hilo/errors.hpp"

using namespace hilo::launch;

TEST_CASE("addresses: which hosts are this machine") {
  CHECK(is_local_host("localhost"));
  CHECK(is_local_host("127.0.0.1"));
  CHECK(is_local_host("::1"));
  CHECK(is_local_host("someone@localhost"));
  char name[HOST_NAME_MAX + 1] = {};
  REQUIRE(::gethostname(name, sizeof name - 1) == 0);
  CHECK(is_local_host(name));
  CHECK_FALSE(is_local_host("127.0.0.2"));
  CHECK_FALSE(is_local_host("node-that-is-not-here"));
}

TEST_CASE("addresses: resolving host names to IPv4") {
  CHECK(resolve_ipv4("localhost") == "127.0.0.1");
  CHECK(resolve_ipv4("user@127.0.0.5") == "127.0.0.5");
  try {
    resolve_ipv4("no-such-host.invalid");
    FAIL("resolved a host that does not exist");
  } catch (const hilo::Error& e) {
    CHECK(std::string(e.what()).starts_with("hilo: cannot resolve host 'no-such-host.invalid'"));
    CHECK(std::string(e.what()).find("HILO_TCP_IF") != std::string::npos);
  }
}

TEST_CASE("addresses: the local address facing a host") {
  CHECK(local_address_towards("127.0.0.1") == "127.0.0.1");
  CHECK_THROWS_AS(local_address_towards("not-an-ip"), hilo::Error);
  CHECK_THROWS_WITH(local_address_towards("not-an-ip"), "hilo: 'not-an-ip' is not an IPv4 address");
}

TEST_CASE("addresses: ip:port") {
  auto parsed = split_host_port("10.0.0.7:4242");
  CHECK(parsed.host == "10.0.0.7");
  CHECK(parsed.port == 4242);
  parsed = split_host_port("[::1]:80");
  CHECK(parsed.host == "::1");
  CHECK(parsed.port == 80);
  for (const char* bad : {"10.0.0.7", "10.0.0.7:", ":80", "h:0", "h:65536", "h:8x"}) {
    INFO(bad);
    CHECK_THROWS_AS(split_host_port(bad), hilo::Error);
    CHECK_THROWS_WITH(split_host_port(bad), Catch::StartsWith("hilo: '" + std::string(bad) + "'"));
  }
}
