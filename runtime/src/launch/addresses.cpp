#include "launch/addresses.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <memory>

#include "common/system_error.hpp"
#include "common/unique_fd.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::launch {

namespace {

// "user@node1" (a hostfile may name the login, as with Open MPI) is the machine "node1".
std::string machine_of(const std::string& host) {
  return host.substr(host.find('@') + 1);
}

}  // namespace

bool is_local_host(const std::string& written) {
  std::string host = machine_of(written);
  if (host == "localhost" || host == "127.0.0.1" || host == "::1") return true;
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return false;
  std::string full(name);
  return host == full || host == full.substr(0, full.find('.'));
}

std::string resolve_ipv4(const std::string& written) {
  std::string host = machine_of(written);
  if (host == "localhost") return "127.0.0.1";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    detail::throw_error<Error>(
        "hilo: cannot resolve host '", host, "' to an IPv4 address (", gai_strerror(rc),
        "): add it to /etc/hosts or DNS, or set HILO_TCP_IF to choose the interface");
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
  char text[INET_ADDRSTRLEN] = {};
  auto* address = reinterpret_cast<sockaddr_in*>(found->ai_addr);
  ::inet_ntop(AF_INET, &address->sin_addr, text, sizeof text);
  return text;
}

std::string local_address_towards(const std::string& remote_ip) {
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(9);  // any port: a UDP connect only picks a route
  if (::inet_pton(AF_INET, remote_ip.c_str(), &remote.sin_addr) != 1) {
    detail::throw_error<Error>("hilo: '", remote_ip, "' is not an IPv4 address");
  }
  common::UniqueFd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!probe)
    common::throw_errno(
        detail::make_message("hilo: socket (finding the local address towards ", remote_ip, ")"));
  if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    common::throw_errno(
        detail::make_message("hilo: no route to ", remote_ip, " (pass --coord-addr IP)"));
  }
  sockaddr_in local{};
  socklen_t length = sizeof local;
  if (::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    common::throw_errno(detail::make_message(
        "hilo: getsockname (finding the local address towards ", remote_ip, ")"));
  }
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
  return text;
}

HostPort split_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    detail::throw_error<Error>("hilo: '", text, "' is not of the form ip:port");
  }
  HostPort result;
  result.host = text.substr(0, colon);
  if (result.host.size() > 2 && result.host.front() == '[' && result.host.back() == ']') {
    result.host = result.host.substr(1, result.host.size() - 2);
  }
  unsigned port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, error] = std::from_chars(first, last, port);
  if (error != std::errc{} || end != last || port == 0 || port > 65535) {
    detail::throw_error<Error>("hilo: '", text, "': the port must be a number from 1 to 65535");
  }
  result.port = static_cast<unsigned short>(port);
  return result;
}

}  // namespace hilo::launch
