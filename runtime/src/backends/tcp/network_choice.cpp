#include "backends/tcp/network_choice.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <charconv>
#include <memory>

#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

namespace {

std::optional<std::uint32_t> parse_ipv4(const std::string& text) {
  in_addr address{};
  if (::inet_pton(AF_INET, text.c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

std::string describe_interfaces(const std::vector<InterfaceAddress>& interfaces) {
  if (interfaces.empty()) return "this machine has no IPv4 interface that is up";
  std::string text = "interfaces here:";
  for (const auto& i : interfaces) text += " " + i.name + " (" + i.ip + ")";
  return text;
}

}  // namespace

std::vector<InterfaceAddress> local_interfaces() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) common::throw_errno("hilo: tcp: listing network interfaces");
  std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> owner(list, &::freeifaddrs);
  std::vector<InterfaceAddress> result;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_UP) == 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    auto* address = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    ::inet_ntop(AF_INET, &address->sin_addr, text, sizeof text);
    result.push_back({i->ifa_name, text, (i->ifa_flags & IFF_LOOPBACK) != 0});
  }
  return result;
}

bool InterfaceRule::matches(const InterfaceAddress& address) const {
  if (prefix_length < 0) return address.name == name;
  auto ip = parse_ipv4(address.ip);
  if (!ip) return false;
  std::uint32_t mask = prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_length);
  return (*ip & mask) == (network & mask);
}

std::vector<InterfaceRule> parse_interface_rules(const std::string& value) {
  auto bad = [&](const std::string& item, const auto&... why) {
    return Error(detail::make_message(
        "hilo: HILO_TCP_IF='", value, "': '", item, "' ", why...,
        "; use interface names or IPv4 networks, comma-separated, '^' to exclude (e.g. "
        "HILO_TCP_IF=eth0 or 10.1.0.0/16 or ^docker0)"));
  };
  std::vector<InterfaceRule> rules;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(start, comma - start);
    start = comma + 1;
    InterfaceRule rule;
    std::string body = item;
    if (!body.empty() && body.front() == '^') {
      rule.exclude = true;
      body.erase(0, 1);
    }
    if (body.empty()) throw bad(item, "is empty");
    if (auto slash = body.find('/'); slash != std::string::npos) {
      auto ip = parse_ipv4(body.substr(0, slash));
      if (!ip) throw bad(item, "does not start with an IPv4 address");
      int prefix = -1;
      const char* first = body.data() + slash + 1;
      const char* last = body.data() + body.size();
      auto [end, error] = std::from_chars(first, last, prefix);
      if (error != std::errc{} || end != last || first == last || prefix < 0 || prefix > 32)
        throw bad(item, "has a prefix length that is not a number from 0 to 32");
      rule.network = *ip;
      rule.prefix_length = prefix;
    } else {
      if (parse_ipv4(body))
        throw bad(item, "is an address, not a network (write it as ", body, "/32)");
      if (body.size() >= IFNAMSIZ) throw bad(item, "is too long for an interface name");
      for (char c : body)
        if (c == ' ' || c == '\t' || c == ':' || c == '/')
          throw bad(item, "is not an interface name");
      rule.name = body;
    }
    rules.push_back(std::move(rule));
    if (comma == value.size()) break;
  }
  return rules;
}

std::string choose_address(const std::string& value, const std::vector<InterfaceRule>& rules,
                           const std::vector<InterfaceAddress>& interfaces) {
  bool any_include = false;
  for (const auto& r : rules) any_include = any_include || !r.exclude;
  auto allowed = [&](const InterfaceAddress& a) {
    bool included = !any_include;
    for (const auto& r : rules) {
      if (!r.matches(a)) continue;
      if (r.exclude) return false;
      included = true;
    }
    return included;
  };
  // With only exclusions, a real network beats loopback; an explicit inclusion is taken as given.
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& a : interfaces)
      if ((any_include || a.loopback == (pass == 1)) && allowed(a)) return a.ip;
  detail::throw_error<Error>("hilo: HILO_TCP_IF='", value,
                             "' matches no IPv4 address of this machine (",
                             describe_interfaces(interfaces), "); fix HILO_TCP_IF or unset it");
}

PortRange parse_port_range(const std::string& value) {
  auto bad = [&] {
    return Error(detail::make_message("hilo: HILO_TCP_PORTS='", value,
                                      "' is not a port range; use min-max with 1 <= min <= max "
                                      "<= 65535 (e.g. HILO_TCP_PORTS=40000-40100)"));
  };
  auto number = [&](const std::string& text) {
    unsigned port = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size() || port == 0 ||
        port > 65535)
      throw bad();
    return static_cast<std::uint16_t>(port);
  };
  auto dash = value.find('-');
  PortRange range;
  range.first = number(value.substr(0, dash));
  range.last = dash == std::string::npos ? range.first : number(value.substr(dash + 1));
  if (range.last < range.first) throw bad();
  return range;
}

}  // namespace hilo::tcp
