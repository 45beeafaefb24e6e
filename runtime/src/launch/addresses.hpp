// Host names and addresses as hilorun needs them: which hosts are this machine, which IPv4
// address a host name stands for, and which local address faces a remote host.
#pragma once

#include <string>

namespace hilo::launch {

// "localhost", "127.0.0.1", "::1", this machine's hostname and its short form. Any other name
// (even another 127.x address) is a remote host reached through the launch agent.
bool is_local_host(const std::string& host);

// The first IPv4 address `host` resolves to (getaddrinfo); a hilo::Error naming the host if none.
std::string resolve_ipv4(const std::string& host);

// The local IPv4 address the kernel would use to reach `remote_ip` (a UDP connect, which sends
// no packet, then getsockname).
std::string local_address_towards(const std::string& remote_ip);

// Splits "ip:port", "host:port" or "[v6]:port"; a hilo::Error quoting `text` if malformed.
struct HostPort {
  std::string host;
  unsigned short port = 0;
};
HostPort split_host_port(const std::string& text);

}  // namespace hilo::launch
