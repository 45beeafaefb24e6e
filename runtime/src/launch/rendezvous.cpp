#include "launch/rendezvous.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "common/deadline.hpp"
#include "common/same_token.hpp"
#include "common/system_error.hpp"
#include "hilo/errors.hpp"
#include "launch/addresses.hpp"
#include "launch/wire.hpp"

namespace hilo::launch {

// Helpers from common/, used unqualified throughout this file.
using common::deadline_after;
using common::errno_message;
using common::errno_text;
using common::poll_timeout;
using common::same_token;
using common::throw_errno;
using common::UniqueFd;
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t magic = 0x484c5256;  // "HLRV"
constexpr std::uint16_t version = 1;
constexpr std::size_t max_token = 256;
constexpr std::size_t max_host = 255;
constexpr std::size_t max_ip = 64;
constexpr std::size_t max_message = 4096;
// The largest well-formed registration: a client that sends more before its answer is wrong.
constexpr std::size_t max_registration =
    4 + 2 + 2 + max_token + 4 + 4 + 2 + max_host + 2 + max_ip + 2;
// Unregistered connections kept open at once; more are closed at once (a flood, not a job).
constexpr std::size_t max_pending_connections = 1024;

enum class ReplyStatus : std::uint8_t { ok = 0, error = 1, peer_lost = 2, timeout = 3 };

// A protocol violation by the peer: the connection is dropped and the reason logged.
struct Malformed {
  std::string why;
};

struct Registration {
  std::string token;
  std::int32_t size = 0;
  PeerAddress address;
};

// Parses a registration from the start of `bytes`: nullopt if incomplete so far, Malformed if
// what is there can never become a valid registration (checked as early as possible, so garbage
// is dropped at its first bytes).
std::optional<Registration> parse_registration(std::string_view bytes) {
  ByteReader in(bytes);
  std::uint32_t got_magic = 0;
  std::uint16_t got_version = 0, length = 0, port = 0;
  if (!in.u32(got_magic)) return std::nullopt;
  if (got_magic != magic) throw Malformed{"not a hilo rendezvous registration (bad magic)"};
  if (!in.u16(got_version)) return std::nullopt;
  if (got_version != version) {
    throw Malformed{"protocol version " + std::to_string(got_version) + ", expected " +
                    std::to_string(version)};
  }
  Registration r;
  if (!in.u16(length)) return std::nullopt;
  if (length == 0 || length > max_token) {
    throw Malformed{"token length " + std::to_string(length) + " out of range"};
  }
  if (!in.bytes(length, r.token)) return std::nullopt;
  if (!in.i32(r.address.rank) || !in.i32(r.size)) return std::nullopt;
  if (!in.u16(length)) return std::nullopt;
  if (length > max_host) throw Malformed{"host length " + std::to_string(length) + " too long"};
  if (!in.bytes(length, r.address.host)) return std::nullopt;
  if (!in.u16(length)) return std::nullopt;
  if (length == 0 || length > max_ip) {
    throw Malformed{"ip length " + std::to_string(length) + " out of range"};
  }
  if (!in.bytes(length, r.address.ip)) return std::nullopt;
  if (!in.u16(port)) return std::nullopt;
  r.address.port = port;
  if (in.consumed() != bytes.size()) throw Malformed{"bytes after the registration"};
  return r;
}

void put_reply_header(ByteWriter& out, ReplyStatus status) {
  out.u32(magic);
  out.u16(version);
  out.u8(static_cast<std::uint8_t>(status));
}

std::string encode_table(const std::vector<PeerAddress>& table) {
  ByteWriter out;
  put_reply_header(out, ReplyStatus::ok);
  out.u32(static_cast<std::uint32_t>(table.size()));
  for (const PeerAddress& peer : table) {
    out.i32(peer.rank);
    out.str16(peer.host);
    out.str16(peer.ip);
    out.u16(peer.port);
  }
  return out.take();
}

std::string encode_failure(ReplyStatus status, int rank, const std::string& host,
                           const std::string& message) {
  ByteWriter out;
  put_reply_header(out, status);
  out.i32(rank);
  out.str16(host.substr(0, max_host));
  out.str16(message.substr(0, max_message));
  return out.take();
}

// ---- time and sockets -------------------------------------------------------------------------

std::string peer_ip_of(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
  char host[NI_MAXHOST] = {};
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&address), length, host, sizeof host, nullptr, 0,
                    NI_NUMERICHOST) != 0) {
    return "?";
  }
  return host;
}

std::string describe(const std::vector<int>& ranks) {
  std::string text;
  for (std::size_t i = 0; i < ranks.size() && i < 16; ++i) {
    text += (i ? ", " : "") + std::to_string(ranks[i]);
  }
  if (ranks.size() > 16) text += ", ... (" + std::to_string(ranks.size()) + " in all)";
  return text;
}

}  // namespace

// ---- server -----------------------------------------------------------------------------------

struct RendezvousServer::Connection {
  UniqueFd fd;
  std::string peer_ip;
  std::string received;
  Clock::time_point registration_deadline;
  int rank = -1;  // >= 0 once registered
  std::string pending_output;
  std::size_t sent = 0;
};

RendezvousServer::RendezvousServer(const std::string& bind_ip, std::uint16_t port, int size,
                                   std::string token)
    : bind_ip_(bind_ip), size_(size), token_(std::move(token)) {
  if (size < 1 || size > rendezvous_max_ranks) {
    throw std::invalid_argument("RendezvousServer: size must be from 1 to " +
                                std::to_string(rendezvous_max_ranks) + ", not " +
                                std::to_string(size));
  }
  if (token_.empty() || token_.size() > max_token) {
    throw std::invalid_argument("RendezvousServer: the job token must have 1 to 256 characters");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, bind_ip.c_str(), &address.sin_addr) != 1) {
    throw std::invalid_argument("RendezvousServer: '" + bind_ip + "' is not an IPv4 address");
  }
  listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener_) throw_errno("rendezvous: socket");
  int one = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw_errno("rendezvous: cannot bind " + bind_ip + ":" + std::to_string(port));
  }
  if (::listen(listener_.get(), SOMAXCONN) != 0) throw_errno("rendezvous: listen");
  socklen_t length = sizeof address;
  if (::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw_errno("rendezvous: getsockname");
  }
  port_ = ntohs(address.sin_port);
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) throw_errno("rendezvous: eventfd");
}

void RendezvousServer::stop() {
  std::uint64_t one = 1;
  // The eventfd counter cannot overflow from a handful of stops; a failure here has no remedy.
  [[maybe_unused]] ssize_t written = ::write(wake_.get(), &one, sizeof one);
}

void RendezvousServer::log_rejection_once(const std::string& peer_ip, const std::string& why) {
  if (!logged_peers_.insert(peer_ip).second) return;
  std::string line = "hilo rendezvous on " + bind_ip_ + ":" + std::to_string(port_) +
                     ": rejected a connection from " + peer_ip + ": " + why +
                     " (further rejections from this address are not logged)\n";
  // One write, so the line is not interleaved with other output.
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
}

std::vector<RendezvousServer::RankConnection> RendezvousServer::take_kept_connections() {
  return std::exchange(kept_, {});
}

std::vector<PeerAddress> RendezvousServer::serve(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = deadline_after(timeout);
  // The rendezvous happens once: however serve() ends, later connections are refused rather
  // than left waiting in the listen queue for an answer that will never come.
  struct CloseListener {
    UniqueFd& listener;
    ~CloseListener() { listener.reset(); }
  } close_listener{listener_};
  if (!listener_) throw Error("rendezvous: serve() was already called on this server");
  std::vector<Connection> connections;
  std::vector<std::optional<PeerAddress>> table(static_cast<std::size_t>(size_));
  int registered = 0;

  // Ends the rendezvous: every registered rank, and `culprit` if given, is told why (best effort,
  // one non-blocking send of a short message), then the matching exception is thrown here.
  auto fail = [&](ReplyStatus status, int rank, const std::string& host, const std::string& message,
                  const Connection* culprit = nullptr) {
    std::string reply = encode_failure(status, rank, host, message);
    for (Connection& c : connections) {
      if (c.rank >= 0 || &c == culprit) {
        ::send(c.fd.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
      }
    }
    connections.clear();
    if (status == ReplyStatus::timeout) throw Timeout(message);
    if (status == ReplyStatus::peer_lost) throw PeerLost(message, rank, host);
    throw Error(message);
  };
  auto reject = [&](std::size_t index, const std::string& why) {
    log_rejection_once(connections[index].peer_ip, why);
    connections[index].fd.reset();  // removed from the list after this round of poll results
  };

  std::vector<pollfd> polled;
  while (registered < size_) {
    auto now = Clock::now();
    if (now >= deadline) {
      std::vector<int> missing;
      for (int r = 0; r < size_; ++r) {
        if (!table[static_cast<std::size_t>(r)]) missing.push_back(r);
      }
      fail(ReplyStatus::timeout, -1, "",
           "rendezvous timed out after " + std::to_string(timeout.count()) + " ms: rank(s) " +
               describe(missing) + " of " + std::to_string(size_) +
               " never registered (did they start? raise HILO_TIMEOUT if they are slow)");
    }
    Clock::time_point wake_at = deadline;
    polled.clear();
    polled.push_back({wake_.get(), POLLIN, 0});
    polled.push_back({listener_.get(), POLLIN, 0});
    for (const Connection& c : connections) {
      polled.push_back({c.fd.get(), POLLIN, 0});
      if (c.rank < 0) wake_at = std::min(wake_at, c.registration_deadline);
    }
    if (::poll(polled.data(), polled.size(), poll_timeout(wake_at)) < 0) {
      if (errno == EINTR) continue;
      throw_errno("rendezvous: poll");
    }
    now = Clock::now();
    if (polled[0].revents != 0) {
      fail(ReplyStatus::error, -1, "", "rendezvous stopped before every rank registered");
    }

    for (std::size_t i = 0; i < connections.size(); ++i) {
      Connection& c = connections[i];
      short events = polled[i + 2].revents;
      if (events == 0) {
        if (c.rank < 0 && now >= c.registration_deadline) {
          reject(i, "no complete registration within " + std::to_string(client_window_.count()) +
                        " ms");
        }
        continue;
      }
      char buffer[1024];
      std::size_t room = c.rank < 0 ? max_registration + 1 - c.received.size() : sizeof buffer;
      ssize_t got = ::recv(c.fd.get(), buffer, std::min(room, sizeof buffer), 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (c.rank >= 0) {
        // A registered rank has nothing more to say: a close means it died, bytes mean it is
        // broken. Either way the job cannot get its table to every rank.
        const PeerAddress& who = *table[static_cast<std::size_t>(c.rank)];
        fail(ReplyStatus::peer_lost, who.rank, who.host,
             "rank " + std::to_string(who.rank) + " on host " + who.host +
                 " went away during rendezvous, before every rank had registered");
      }
      if (got <= 0) {
        reject(i, got == 0 ? "closed before completing its registration"
                           : "connection error before completing its registration");
        continue;
      }
      c.received.append(buffer, static_cast<std::size_t>(got));
      std::optional<Registration> registration;
      try {
        registration = parse_registration(c.received);
      } catch (const Malformed& bad) {
        reject(i, bad.why);
        continue;
      }
      if (!registration) continue;
      if (!same_token(registration->token, token_)) {
        reject(i, "wrong job token");
        continue;
      }
      PeerAddress& me = registration->address;
      if (registration->size != size_) {
        fail(ReplyStatus::error, me.rank, me.host,
             "rank " + std::to_string(me.rank) + " on host " + me.host +
                 " registered for a job of " + std::to_string(registration->size) +
                 " ranks, but the coordinator expects " + std::to_string(size_) +
                 ": the ranks do not agree on the job size",
             &c);
      }
      if (me.rank < 0 || me.rank >= size_) {
        reject(i,
               "rank " + std::to_string(me.rank) + " out of range 0.." + std::to_string(size_ - 1));
        continue;
      }
      if (table[static_cast<std::size_t>(me.rank)]) {
        reject(i, "rank " + std::to_string(me.rank) + " registered twice (duplicate ignored)");
        continue;
      }
      c.rank = me.rank;
      table[static_cast<std::size_t>(me.rank)] = std::move(me);
      ++registered;
    }
    std::erase_if(connections, [](const Connection& c) { return !c.fd; });

    if (polled[1].revents != 0) {
      while (true) {
        UniqueFd accepted(
            ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!accepted) {
          // Out of descriptors: the connection stays queued and poll() would wake at once,
          // forever; the job cannot be served, so say why.
          if (errno == EMFILE || errno == ENFILE) {
            fail(ReplyStatus::error, -1, "",
                 "rendezvous: out of file descriptors with " + std::to_string(connections.size()) +
                     " connections open; raise the limit (ulimit -n) for " + std::to_string(size_) +
                     " ranks");
          }
          break;  // EAGAIN: none left; other errors: that client is gone already
        }
        std::string peer = peer_ip_of(accepted.get());
        std::size_t pending =
            static_cast<std::size_t>(std::count_if(connections.begin(), connections.end(),
                                                   [](const Connection& c) { return c.rank < 0; }));
        if (pending >= max_pending_connections) {
          log_rejection_once(peer, "too many unregistered connections at once");
          continue;
        }
        connections.push_back(
            {std::move(accepted), std::move(peer), {}, now + client_window_, -1, {}, 0});
      }
    }
  }

  all_registered_ = true;
  // Everyone registered: send each the table. A rank that dies now is the backend's business
  // (its peers will find it gone), so a failed send only drops that connection.
  std::vector<PeerAddress> result;
  result.reserve(table.size());
  for (auto& entry : table) result.push_back(std::move(*entry));
  const std::string reply = encode_table(result);
  const Clock::time_point send_deadline =
      std::max(deadline, deadline_after(std::chrono::seconds(10)));
  for (Connection& c : connections) c.pending_output = reply;
  while (!connections.empty() && Clock::now() < send_deadline) {
    polled.clear();
    for (const Connection& c : connections) polled.push_back({c.fd.get(), POLLOUT, 0});
    if (::poll(polled.data(), polled.size(), poll_timeout(send_deadline)) < 0) {
      if (errno == EINTR) continue;
      throw_errno("rendezvous: poll");
    }
    for (std::size_t i = 0; i < connections.size(); ++i) {
      Connection& c = connections[i];
      if (polled[i].revents == 0) continue;
      ssize_t sent = ::send(c.fd.get(), c.pending_output.data() + c.sent,
                            c.pending_output.size() - c.sent, MSG_NOSIGNAL);
      if (sent < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (sent < 0) {
        c.fd.reset();
      } else {
        c.sent += static_cast<std::size_t>(sent);
        if (c.sent == c.pending_output.size()) {
          if (keep_connections_) kept_.push_back({c.rank, std::move(c.fd)});
          c.fd.reset();
        }
      }
    }
    std::erase_if(connections, [](const Connection& c) { return !c.fd; });
  }
  return result;
}

// ---- client -----------------------------------------------------------------------------------

namespace {

// A connected socket to the coordinator, or nothing if it refused / is not up yet.
UniqueFd try_connect(const addrinfo& target, Clock::time_point deadline, int& last_error) {
  UniqueFd fd(::socket(target.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("rendezvous: socket");
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
        throw_errno("rendezvous: sending the registration to the coordinator at " + coord_);
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
        throw Error("the rendezvous coordinator at " + coord_ +
                    " closed the connection without answering: the job token (HILO_JOB_TOKEN),"
                    " rank or protocol version was refused; see the coordinator's stderr");
      }
      if (r < 0) throw_errno("rendezvous: receiving the table from " + coord_);
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
    throw Error("malformed reply from the rendezvous coordinator at " + coord_ + ": " + why +
                " (is HILO_COORD pointing at a hilo coordinator?)");
  }

 private:
  void wait_for(short event, const char* doing) {
    pollfd p{fd_.get(), event, 0};
    while (true) {
      int ready = ::poll(&p, 1, poll_timeout(deadline_));
      if (ready > 0) return;
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw_errno("rendezvous: poll");
      throw Timeout("rendezvous with the coordinator at " + coord_ + " timed out after " +
                    std::to_string(timeout_.count()) + " ms " + doing);
    }
  }

  UniqueFd fd_;
  std::string coord_;
  Clock::time_point deadline_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::string encode_registration(const std::string& token, const PeerAddress& me, int size) {
  ByteWriter out;
  out.u32(magic);
  out.u16(version);
  out.str16(token);
  out.i32(me.rank);
  out.i32(size);
  out.str16(me.host);
  out.str16(me.ip);
  out.u16(me.port);
  return out.take();
}

std::vector<PeerAddress> register_with_coordinator(const std::string& coord,
                                                   const std::string& token, const PeerAddress& me,
                                                   int size, std::chrono::milliseconds timeout,
                                                   UniqueFd* keep_connection) {
  if (size < 1 || size > rendezvous_max_ranks) {
    throw std::invalid_argument("register_with_coordinator: size " + std::to_string(size) +
                                " out of range");
  }
  if (me.rank < 0 || me.rank >= size) {
    throw std::invalid_argument("register_with_coordinator: rank " + std::to_string(me.rank) +
                                " is not in 0.." + std::to_string(size - 1));
  }
  if (token.empty() || token.size() > max_token || me.host.size() > max_host || me.ip.empty() ||
      me.ip.size() > max_ip) {
    throw std::invalid_argument(
        "register_with_coordinator: token (1..256), host (..255) or ip (1..64) has a bad length");
  }
  const Clock::time_point deadline = deadline_after(timeout);
  HostPort target = split_host_port(coord);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &found);
  if (rc != 0) {
    throw Error("cannot resolve the rendezvous coordinator '" + coord + "': " + gai_strerror(rc));
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
      throw Timeout("cannot reach the rendezvous coordinator at " + coord + " within " +
                    std::to_string(timeout.count()) + " ms: " + errno_text(last_error) +
                    " (is hilorun, or rank 0, running? is HILO_COORD right?)");
    }
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

}  // namespace hilo::launch
