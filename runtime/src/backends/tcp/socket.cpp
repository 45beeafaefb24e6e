#include "backends/tcp/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

namespace {

sockaddr_in ipv4_address(const std::string& ip, std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1)
    detail::throw_error<Error>("hilo: tcp: '", ip, "' is not an IPv4 address");
  return address;
}

void set_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
    common::throw_errno(detail::make_message("hilo: tcp: setting ", what));
}

}  // namespace

Listener listen_on(const std::string& ip, PortRange ports) {
  sockaddr_in address = ipv4_address(ip, 0);
  if (address.sin_addr.s_addr == htonl(INADDR_ANY))
    detail::throw_error<Error>(
        "hilo: tcp: refusing to listen on 0.0.0.0; give the address of one interface "
        "(HILO_HOST_ADDR or HILO_TCP_IF)");
  const unsigned first = ports.ephemeral() ? 0 : ports.first;
  const unsigned last = ports.ephemeral() ? 0 : ports.last;
  int last_error = 0;
  for (unsigned port = first; port <= last; ++port) {
    common::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) common::throw_errno("hilo: tcp: creating the listening socket");
    set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR on the listener");
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      last_error = errno;
      if (last_error == EADDRINUSE || last_error == EACCES) continue;
      break;
    }
    // With SO_REUSEADDR, ranks racing for the same port of a HILO_TCP_PORTS range can all bind
    // it; only one listen() wins and the others get EADDRINUSE here: try the next port too.
    if (::listen(fd.get(), SOMAXCONN) != 0) {
      last_error = errno;
      if (last_error == EADDRINUSE) continue;
      common::throw_errno(detail::make_message("hilo: tcp: listen on ", ip));
    }
    sockaddr_in bound{};
    socklen_t length = sizeof bound;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    return Listener{std::move(fd), ip, ntohs(bound.sin_port)};
  }
  std::string where = ports.ephemeral() ? ip + " (any port)"
                                        : ip + " ports " + std::to_string(first) + "-" +
                                              std::to_string(last) + " (HILO_TCP_PORTS)";
  detail::throw_error<Error>(
      "hilo: tcp: cannot listen on ", where,
      "; is the address one of this machine's, and a port free?: ", common::errno_text(last_error));
}

void tune_peer_socket(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    common::throw_errno("hilo: tcp: making a peer socket nonblocking");
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  set_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
  set_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
  set_option(fd, IPPROTO_TCP, TCP_KEEPIDLE, 20, "TCP_KEEPIDLE");
  set_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, 5, "TCP_KEEPINTVL");
  set_option(fd, IPPROTO_TCP, TCP_KEEPCNT, 6, "TCP_KEEPCNT");
  set_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 60000, "TCP_USER_TIMEOUT");
}

common::UniqueFd start_connect(const std::string& ip, std::uint16_t port) {
  sockaddr_in address = ipv4_address(ip, port);
  common::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd && (errno == EMFILE || errno == ENFILE)) return fd;
  if (!fd) common::throw_errno("hilo: tcp: creating a socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
      errno != EINPROGRESS)
    common::throw_errno(detail::make_message("hilo: tcp: connecting to ", ip, ":", port));
  return fd;
}

std::string remote_ip_of(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &address.sin_addr, text, sizeof text);
  return text;
}

void RejectionLog::reject(const std::string& remote_ip, const std::string& why) {
  if (!log_.enabled(detail::LogLevel::warn) || !logged_.insert(remote_ip).second) return;
  log_.write(detail::LogLevel::warn, "tcp", who_, ": refused a connection from ", remote_ip, ": ",
             why, " (further refusals from this address are not logged)");
}

}  // namespace hilo::tcp
