// HILO_TCP_IF and HILO_TCP_PORTS (runtime/src/backends/tcp/network_choice.hpp), over a made-up
// list of interfaces so the test does not depend on this machine's network.
#include "backends/tcp/network_choice.hpp"

#include "catch.hpp"
#include "hilo/errors.hpp"

using namespace hilo::tcp;

namespace {

const std::vector<InterfaceAddress> machine = {
    {"lo", "127.0.0.1", true},
    {"docker0", "172.17.0.1", false},
    {"eth0", "10.1.2.3", false},
    {"ib0", "192.168.50.7", false},
};

std::string choose(const std::string& value) {
  return choose_address(value, parse_interface_rules(value), machine);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const hilo::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("HILO_TCP_IF: by interface name") {
  CHECK(choose("eth0") == "10.1.2.3");
  CHECK(choose("ib0") == "192.168.50.7");
  CHECK(choose("lo") == "127.0.0.1");
  CHECK(choose("ib0,eth0") == "10.1.2.3");  // kernel order, not the order written
}

TEST_CASE("HILO_TCP_IF: by network") {
  CHECK(choose("192.168.0.0/16") == "192.168.50.7");
  CHECK(choose("10.1.2.3/32") == "10.1.2.3");
  CHECK(choose("10.0.0.0/8") == "10.1.2.3");
  CHECK(choose("0.0.0.0/0") == "127.0.0.1");
}

TEST_CASE("HILO_TCP_IF: exclusions, and loopback only as a last resort") {
  CHECK(choose("^docker0") == "10.1.2.3");
  CHECK(choose("^docker0,^eth0") == "192.168.50.7");
  CHECK(choose("^docker0,^eth0,^ib0") == "127.0.0.1");
  CHECK(choose("^172.16.0.0/12,^10.0.0.0/8") == "192.168.50.7");
  CHECK(choose("0.0.0.0/0,^lo,^docker0") == "10.1.2.3");
}

TEST_CASE("HILO_TCP_IF: a value that selects nothing names itself and the interfaces") {
  auto e = error_of([] { choose("wlan0"); });
  CHECK_THAT(e, Catch::Matchers::StartsWith("hilo: HILO_TCP_IF='wlan0' matches no IPv4 address"));
  CHECK_THAT(e, Catch::Matchers::Contains("eth0 (10.1.2.3)"));
  CHECK_THAT(error_of([] { choose("^lo,^docker0,^eth0,^ib0"); }),
             Catch::Matchers::Contains("matches no IPv4 address"));
  CHECK_THAT(error_of([] { choose("eth0,^eth0"); }), Catch::Matchers::Contains("matches no"));
}

TEST_CASE("HILO_TCP_IF: malformed items are errors quoting the value") {
  for (const char* bad : {"", "eth0,", "^", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8x", "300.1.1.1/8",
                          "10.1.2.3", "a:b", "averyveryverylonginterfacename"}) {
    INFO(bad);
    auto e = error_of([&] { parse_interface_rules(bad); });
    CHECK_THAT(e, Catch::Matchers::StartsWith("hilo: HILO_TCP_IF='" + std::string(bad) + "'"));
  }
}

TEST_CASE("HILO_TCP_IF: this machine's own interfaces include loopback") {
  auto interfaces = local_interfaces();
  bool has_loopback = false;
  for (const auto& i : interfaces)
    has_loopback = has_loopback || (i.loopback && i.ip == "127.0.0.1");
  CHECK(has_loopback);
  CHECK(choose_address("lo", parse_interface_rules("lo"), interfaces) == "127.0.0.1");
}

TEST_CASE("HILO_TCP_PORTS: ranges and single ports") {
  PortRange r = parse_port_range("40000-40100");
  CHECK(r.first == 40000);
  CHECK(r.last == 40100);
  r = parse_port_range("5000");
  CHECK(r.first == 5000);
  CHECK(r.last == 5000);
  CHECK(PortRange{}.ephemeral());
}

TEST_CASE("HILO_TCP_PORTS: bad ranges are errors quoting the value") {
  for (const char* bad : {"", "0-10", "10-5", "1-70000", "a-b", "100-", "-100", "1-2-3"}) {
    INFO(bad);
    CHECK_THAT(error_of([&] { parse_port_range(bad); }),
               Catch::Matchers::StartsWith("hilo: HILO_TCP_PORTS='" + std::string(bad) + "'"));
  }
}
