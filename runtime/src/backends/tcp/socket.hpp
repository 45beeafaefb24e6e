// Sockets for the TCP backend: the listener and the per-peer socket options, each fd owned by a
// common::UniqueFd so nothing leaks on an early return or an exception.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "backends/tcp/network_choice.hpp"
#include "common/unique_fd.hpp"
#include "hilo/detail/log.hpp"

namespace hilo::tcp {

using common::UniqueFd;

// A nonblocking listening socket on one address. Binding 0.0.0.0 is refused: a rank listens on
// the address it was told to use, so it is not reachable from networks it was not meant for.
struct Listener {
  common::UniqueFd fd;
  std::string ip;
  std::uint16_t port = 0;
};
// Throws hilo::Error for a malformed or wildcard ip (it comes from HILO_HOST_ADDR, HILO_TCP_IF or
// the host's name: the environment, not the calling code), and when no port of `ports` can be
// bound (naming the address and the range).
Listener listen_on(const std::string& ip, PortRange ports);

// The options every rank-to-rank connection gets: nonblocking, close-on-exec, TCP_NODELAY (a
// small message leaves at once), keepalive probes and TCP_USER_TIMEOUT (a peer host that
// vanishes without a FIN or RST is noticed within about a minute instead of hours).
void tune_peer_socket(int fd);

// Starts a nonblocking connect to ip:port; the caller polls for POLLOUT and checks SO_ERROR.
// Returns an invalid fd when this process has no file descriptor left (EMFILE, ENFILE), so the
// caller may free one and try again; throws hilo::Error on any other failure.
common::UniqueFd start_connect(const std::string& ip, std::uint16_t port);

// The IP of the far end of a connected socket ("?" if unknown), for log lines.
std::string remote_ip_of(int fd);

// Logs a refused connection (HILO_LOG level warn, so seen by default) at most once per remote
// address, so a port scanner or a misconfigured job cannot flood the output, and one bad client
// is still visible.
class RejectionLog {
 public:
  // `who` says which listener refused, after the log's own rank prefix ("listening on
  // 10.0.0.3:40001"); the lines go to `log`.
  RejectionLog(std::string who, detail::Log log) : who_(std::move(who)), log_(std::move(log)) {}
  void reject(const std::string& remote_ip, const std::string& why);

 private:
  std::string who_;
  detail::Log log_;
  std::set<std::string> logged_;
};

}  // namespace hilo::tcp
