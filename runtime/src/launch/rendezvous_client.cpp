#include "launch/rendezvous.hpp"

#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>

#include "common/system_error.hpp"
#include "common/unique_fd.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"
#include "launch/addresses.hpp"
#include "launch/rendezvous_wire.hpp"

// The rank's end of the rendezvous (rendezvous.hpp): register_with_coordinator.
namespace hilo::launch {

using namespace rendezvous_wire;
using detail::throw_error;

namespace {

// A connected socket to the coordinator, or nothing if it refused / is not up yet.
UniqueFd try_connect(const addrinfo& target, Clock::time_point deadline, int& last_error) {
  UniqueFd fd(::socket(target.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  if (::connect(fd.get(), target.ai_addr, target.ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) {
    last_error = errno;
    return {};
  }
  pollfd p{fd.get(), POLLOUT, 0};
  int ready = ::poll(&p, 1, poll_timeout(deadline));
  if (ready <= 0) {
    last_error = ready == 0 ? ETIMEDOUT : errno;
    return {};
  }
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) {
    last_error = error;
    return {};
  }
  return fd;
}

class CoordinatorConnection {
 public:
  CoordinatorConnection(UniqueFd fd, std::string coord, Clock::time_point deadline,
                        std::chrono::milliseconds timeout)
      : fd_(std::move(fd)), coord_(std::move(coord)), deadline_(deadline), timeout_(timeout) {}

  void send_all(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      wait_for(POLLOUT, "sending the registration");
      ssize_t n = ::send(fd_.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        throw_errno(
            detail::make_message("sending the registration to the coordinator at ", coord_));
      }
      sent += static_cast<std::size_t>(n);
    }
  }

  UniqueFd release() { return std::move(fd_); }

  // Reads exactly n bytes (n is always small and bounded by the caller).
  std::string receive(std::size_t n) {
    std::string bytes(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      wait_for(POLLIN, "waiting for the table (have all ranks started?)");
      ssize_t r = ::recv(fd_.get(), bytes.data() + got, n - got, 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r == 0) {
        throw_error<Error>("the rendezvous coordinator at ", coord_,
                           " closed the connection without answering: the job token "
                           "(HILO_JOB_TOKEN), rank or protocol version was refused; see the "
                           "coordinator's stderr");
      }
      if (r < 0) throw_errno(detail::make_message("receiving the table from ", coord_));
      got += static_cast<std::size_t>(r);
    }
    return bytes;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(receive(1)[0]); }
  std::uint16_t u16() {
    std::uint16_t v = 0;
    ByteReader(receive(2)).u16(v);
    return v;
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    ByteReader(receive(4)).u32(v);
    return v;
  }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::string str16(std::size_t limit, const char* what) {
    std::uint16_t length = u16();
    if (length > limit) malformed(std::string(what) + " length " + std::to_string(length));
    return receive(length);
  }
  [[noreturn]] void malformed(const std::string& why) {
    throw_error<Error>("malformed reply from the rendezvous coordinator at ", coord_, ": ", why,
                       " (is HILO_COORD pointing at a hilo coordinator?)");
  }

 private:
  void wait_for(short event, const char* doing) {
    pollfd p{fd_.get(), event, 0};
    while (true) {
      int ready = ::poll(&p, 1, poll_timeout(deadline_));
      if (ready > 0) return;
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw_errno("poll");
      throw_error<Timeout>("rendezvous with the coordinator at ", coord_, " timed out after ",
                           timeout_.count(), " ms ", doing);
    }
  }

  UniqueFd fd_;
  std::string coord_;
  Clock::time_point deadline_;
  std::chrono::milliseconds timeout_;
};

// register_with_coordinator once its arguments are checked.
std::vector<PeerAddress> exchange_with_coordinator(const std::string& coord,
                                                   const std::string& token, const PeerAddress& me,
                                                   int size, std::chrono::milliseconds timeout,
                                                   UniqueFd* keep_connection,
                                                   const detail::Log& log) {
  const Clock::time_point deadline = deadline_after(timeout);
  HostPort target = split_host_port(coord);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &found);
  if (rc != 0) {
    throw_error<Error>("cannot resolve the rendezvous coordinator '", coord,
                       "': ", gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);

  // The coordinator may not listen yet (rank 0 under srun starts with the others): retry with a
  // growing pause until the deadline.
  UniqueFd fd;
  int last_error = 0;
  auto pause = std::chrono::milliseconds(20);
  while (true) {
    fd = try_connect(*found, deadline, last_error);
    if (fd) break;
    auto now = Clock::now();
    if (now >= deadline) {
      throw_error<Timeout>("cannot reach the rendezvous coordinator at ", coord, " within ",
                           timeout.count(), " ms: ", common::errno_text(last_error),
                           " (is hilorun, or rank 0, running? is HILO_COORD right?)");
    }
    if (log.enabled(detail::LogLevel::debug))
      log.write(detail::LogLevel::debug, "rendezvous", "the coordinator at ", coord,
                " does not answer yet (", common::errno_text(last_error), "): retrying");
    if (deadline - now < pause) {
      std::this_thread::sleep_until(deadline);
    } else {
      std::this_thread::sleep_for(pause);
    }
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  CoordinatorConnection connection(std::move(fd), coord, deadline, timeout);
  connection.send_all(encode_registration(token, me, size));
  if (connection.u32() != magic) connection.malformed("bad magic");
  if (std::uint16_t v = connection.u16(); v != version) {
    connection.malformed("protocol version " + std::to_string(v));
  }
  auto status = static_cast<ReplyStatus>(connection.u8());
  if (status != ReplyStatus::ok) {
    int rank = connection.i32();
    std::string host = connection.str16(max_host, "host");
    std::string message = connection.str16(max_message, "message");
    if (status == ReplyStatus::timeout) throw Timeout(message);
    if (status == ReplyStatus::peer_lost) throw PeerLost(message, rank, host);
    if (status == ReplyStatus::error) throw Error(message);
    connection.malformed("unknown status " + std::to_string(static_cast<int>(status)));
  }
  std::uint32_t count = connection.u32();
  if (count != static_cast<std::uint32_t>(size)) {
    connection.malformed("a table of " + std::to_string(count) + " ranks for a job of " +
                         std::to_string(size));
  }
  std::vector<PeerAddress> table;
  table.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    PeerAddress peer;
    peer.rank = connection.i32();
    if (peer.rank != static_cast<int>(i)) {
      connection.malformed("entry " + std::to_string(i) + " is rank " + std::to_string(peer.rank));
    }
    peer.host = connection.str16(max_host, "host");
    peer.ip = connection.str16(max_ip, "ip");
    peer.port = connection.u16();
    table.push_back(std::move(peer));
  }
  if (keep_connection) *keep_connection = connection.release();
  return table;
}

}  // namespace

std::vector<PeerAddress> register_with_coordinator(const std::string& coord,
                                                   const std::string& token, const PeerAddress& me,
                                                   int size, std::chrono::milliseconds timeout,
                                                   UniqueFd* keep_connection,
                                                   const detail::Log& log) {
  if (size < 1 || size > rendezvous_max_ranks)
    throw_error<std::invalid_argument>("hilo: register_with_coordinator: size ", size,
                                       " is out of range 1..", rendezvous_max_ranks);
  if (me.rank < 0 || me.rank >= size)
    throw_error<std::invalid_argument>("hilo: register_with_coordinator: rank ", me.rank,
                                       " is not in 0..", size - 1);
  if (token.empty() || token.size() > max_token || me.host.size() > max_host || me.ip.empty() ||
      me.ip.size() > max_ip)
    throw_error<std::invalid_argument>(
        "hilo: register_with_coordinator: token (1..256), host (..255) or ip (1..64) has a bad "
        "length");
  try {
    return exchange_with_coordinator(coord, token, me, size, timeout, keep_connection, log);
  } catch (...) {
    // Every failure names the step and this rank: "hilo: rendezvous on rank 3: ...".
    detail::rethrow_on_rank(detail::OnRank{"rendezvous", me.rank});
  }
}

}  // namespace hilo::launch
