#include "launch/rendezvous.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "common/system_error.hpp"
#include "common/unique_fd.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"
#include "launch/addresses.hpp"
#include "launch/rendezvous_wire.hpp"
#include "launch/wire.hpp"

// The coordinator's end of the rendezvous (rendezvous.hpp): RendezvousServer.
namespace hilo::launch {

using namespace rendezvous_wire;

namespace {

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
    detail::throw_error<std::invalid_argument>("hilo: RendezvousServer: size must be from 1 to ",
                                               rendezvous_max_ranks, ", not ", size);
  }
  if (token_.empty() || token_.size() > max_token) {
    detail::throw_error<std::invalid_argument>(
        "hilo: RendezvousServer: the job token must have 1 to 256 characters");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, bind_ip.c_str(), &address.sin_addr) != 1) {
    detail::throw_error<std::invalid_argument>("hilo: RendezvousServer: '", bind_ip,
                                               "' is not an IPv4 address");
  }
  listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener_) throw_errno("hilo: rendezvous: socket");
  int one = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw_errno(detail::make_message("hilo: rendezvous: cannot bind ", bind_ip, ":", port));
  }
  if (::listen(listener_.get(), SOMAXCONN) != 0) throw_errno("hilo: rendezvous: listen");
  socklen_t length = sizeof address;
  if (::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw_errno("hilo: rendezvous: getsockname");
  }
  port_ = ntohs(address.sin_port);
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) throw_errno("hilo: rendezvous: eventfd");
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
  if (!listener_)
    detail::throw_error<Error>("hilo: rendezvous: serve() was already called on this server");
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
    if (status == ReplyStatus::timeout) detail::throw_error<Timeout>(message);
    if (status == ReplyStatus::peer_lost) throw PeerLost(message, rank, host);
    detail::throw_error<Error>(message);
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
      throw_errno("hilo: rendezvous: poll");
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
      throw_errno("hilo: rendezvous: poll");
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

}  // namespace hilo::launch
