// Which address a rank listens on, and on which ports: HILO_TCP_IF and HILO_TCP_PORTS.
//
//   HILO_TCP_IF=eth0                 the first IPv4 address of interface eth0
//   HILO_TCP_IF=10.1.0.0/16          the first interface address inside that network
//   HILO_TCP_IF=^docker0,^lo         any interface but those (names or CIDRs), first one wins
//   HILO_TCP_IF=eth0,ib0,^10.9.0.0/16  items separated by commas; '^' excludes
// With at least one inclusion, an address must match an inclusion and no exclusion; with only
// exclusions, any address that matches none qualifies, loopback last (so "^docker0" on a cluster
// node picks the real network, not 127.0.0.1). Interfaces are taken in the kernel's order. A
// malformed item, or a choice that matches no address, is a hilo::Error naming the value and
// listing the interfaces that exist.
//
//   HILO_TCP_PORTS=40000-40100       listen on the first free port of that range (firewalls)
// Unset: an ephemeral port chosen by the kernel. The listener never binds 0.0.0.0 by default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hilo::tcp {

struct InterfaceAddress {
  std::string name;  // "eth0"
  std::string ip;    // "10.0.0.5" (IPv4 only: the rendezvous table carries IPv4)
  bool loopback = false;
};

// The IPv4 addresses of this machine's interfaces that are up (getifaddrs), in kernel order.
std::vector<InterfaceAddress> local_interfaces();

// One HILO_TCP_IF item: an interface name or an IPv4 network, included or excluded.
struct InterfaceRule {
  bool exclude = false;
  std::string name;                // set for a name rule
  std::uint32_t network = 0;       // host byte order, for a CIDR rule
  int prefix_length = -1;          // -1: a name rule
  bool matches(const InterfaceAddress& address) const;
};

// Parses the whole HILO_TCP_IF value; std::invalid_argument-free: a bad value is a hilo::Error
// that quotes it (it comes from the environment, not from a call site).
std::vector<InterfaceRule> parse_interface_rules(const std::string& value);

// The address `rules` select among `interfaces`; hilo::Error naming `value` if none.
std::string choose_address(const std::string& value, const std::vector<InterfaceRule>& rules,
                           const std::vector<InterfaceAddress>& interfaces);

struct PortRange {
  std::uint16_t first = 0;  // 0..0: an ephemeral port
  std::uint16_t last = 0;
  bool ephemeral() const { return first == 0; }
};

// "min-max" (1 <= min <= max <= 65535) or a single port; hilo::Error quoting a bad value.
PortRange parse_port_range(const std::string& value);

}  // namespace hilo::tcp
