#include "backends/tcp/mesh_setup.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>

#include "backends/tcp/handshake.hpp"
#include "backends/tcp/stranger_pool.hpp"
#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A refused connect to a rank that registered (so its listener was up) means it has gone; a few
// retries cover a listener whose accept queue was momentarily full. A connection the peer closes
// before answering the hello is retried the same way: the peer may have had to close it to make
// room among strangers (stranger_pool.hpp); one that holds the wrong token closes it every time.
constexpr auto connect_retry_interval = 20ms;
constexpr int connect_refusals_before_lost = 50;  // ~1 s

struct Outgoing {
  int peer = 0;
  common::UniqueFd fd;
  enum class Phase { waiting_to_retry, connecting, awaiting_hello, done } phase = Phase::connecting;
  Clock::time_point retry_at{};
  int refusals = 0;
  std::string received;
};

// Small hellos go out in one call on a fresh socket; a short write there means the socket is
// already broken.
bool send_hello(int fd, const std::string& hello) {
  ssize_t sent = ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return sent == static_cast<ssize_t>(hello.size());
}

// Reads what is available of the hello, never past its end; returns false on EOF or error.
bool read_some(int fd, std::string& into) {
  char buffer[max_hello_size];
  std::size_t want = hello_bytes_missing(into.data(), into.size());
  if (want == 0) return true;
  ssize_t got = ::recv(fd, buffer, want, MSG_DONTWAIT);
  if (got > 0) {
    into.append(buffer, static_cast<std::size_t>(got));
    return true;
  }
  return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

}  // namespace

std::string describe_peer(const launch::PeerAddress& peer) {
  return "rank " + std::to_string(peer.rank) + " (host " + peer.host + ", " + peer.ip + ":" +
         std::to_string(peer.port) + ")";
}

std::vector<common::UniqueFd> connect_mesh(const Listener& listener, const MeshPlan& plan,
                                           RejectionLog& log) {
  const int size = static_cast<int>(plan.table.size());
  const int me = plan.rank;
  const std::string my_hello = encode_hello(plan.token, me, size);
  std::vector<common::UniqueFd> connected(static_cast<std::size_t>(size));
  int missing = size - 1;

  // Every error of this function starts "hilo: connection setup on rank R: ".
  const detail::OnRank here{"connection setup", me};
  auto lost = [&](int peer, const std::string& what) {
    const auto& address = plan.table[static_cast<std::size_t>(peer)];
    return PeerLost(detail::make_message(here, describe_peer(address), " ", what), peer,
                    address.host);
  };

  std::vector<Outgoing> outgoing;
  for (int peer = me + 1; peer < size; ++peer) {
    Outgoing o;
    o.peer = peer;
    outgoing.push_back(std::move(o));
  }
  // Incoming connections are strangers until their hello proves them a lower rank of this job.
  StrangerPool strangers(log);
  auto start = [&](Outgoing& o) {
    const auto& address = plan.table[static_cast<std::size_t>(o.peer)];
    o.fd = start_connect(address.ip, address.port);
    // Out of fds: a connection to a peer comes before any stranger.
    while (!o.fd && strangers.make_room()) o.fd = start_connect(address.ip, address.port);
    if (!o.fd)
      detail::throw_error<Error>(here, "no file descriptor left to connect to ",
                                 describe_peer(address), " (raise `ulimit -n`)");
    o.phase = Outgoing::Phase::connecting;
    o.received.clear();
  };
  for (auto& o : outgoing) start(o);
  auto retry_later = [&](Outgoing& o, const char* what) {
    if (++o.refusals >= connect_refusals_before_lost) throw lost(o.peer, what);
    // The first retry is worth a warning (a registered peer should be reachable); the rest of a
    // peer's retries only at debug, so that a slow peer does not flood the terminal.
    if (const auto level = o.refusals == 1 ? detail::LogLevel::warn : detail::LogLevel::debug;
        plan.log.enabled(level))
      plan.log.write(level, "tcp", "retrying the connection to ",
                     describe_peer(plan.table[static_cast<std::size_t>(o.peer)]), " (retry ",
                     o.refusals, " of ", connect_refusals_before_lost - 1, "), which ", what);
    o.fd.reset();
    o.phase = Outgoing::Phase::waiting_to_retry;
    o.retry_at = Clock::now() + connect_retry_interval;
  };

  Clock::time_point listener_rests_until{};
  bool ran_out_of_fds = false;
  auto judge_stranger = [&](int fd) {
    StrangerPool::Reading reading = strangers.read(fd);
    if (reading.state != StrangerPool::Reading::State::hello) return;
    const int peer = reading.hello.rank;
    std::string why;
    if (auto problem = hello_problem(reading.hello, plan.token, size))
      why = *problem;
    else if (peer >= me)
      why = "rank " + std::to_string(peer) + " must not connect to rank " + std::to_string(me) +
            " (lower ranks connect to higher ones)";
    else if (connected[static_cast<std::size_t>(peer)])
      why = "rank " + std::to_string(peer) + " is already connected (a duplicate rank)";
    if (!why.empty()) return strangers.refuse(fd, why);
    common::UniqueFd socket = strangers.take(fd);
    tune_peer_socket(socket.get());
    // If it went away, the peer sees the connection close unanswered and connects again.
    if (!send_hello(socket.get(), my_hello)) return;
    connected[static_cast<std::size_t>(peer)] = std::move(socket);
    --missing;
    if (plan.log.enabled(detail::LogLevel::debug))
      plan.log.write(detail::LogLevel::debug, "tcp", "accepted ",
                     describe_peer(plan.table[static_cast<std::size_t>(peer)]));
  };

  std::vector<pollfd> polled;
  std::vector<std::function<void(short)>> handlers;
  while (missing > 0) {
    const auto now = Clock::now();
    if (!plan.deadline.is_never() && now >= plan.deadline.at) {
      std::string names;
      for (int peer = 0; peer < size; ++peer)
        if (peer != me && !connected[static_cast<std::size_t>(peer)])
          names += (names.empty() ? "" : ", ") +
                   describe_peer(plan.table[static_cast<std::size_t>(peer)]);
      detail::throw_error<Timeout>(
          here, "could not connect to every rank in time; still missing: ", names,
          ran_out_of_fds ? " (this rank ran out of file descriptors accepting connections: "
                           "raise `ulimit -n`)"
                         : " (are they running? is HILO_TIMEOUT long enough?)");
    }
    polled.clear();
    handlers.clear();
    auto next_wake = plan.deadline.is_never() ? now + 1s : std::min(plan.deadline.at, now + 1s);

    for (auto& o : outgoing) {
      if (o.phase == Outgoing::Phase::done) continue;
      if (o.phase == Outgoing::Phase::waiting_to_retry) {
        if (now >= o.retry_at) {
          start(o);
        } else {
          next_wake = std::min(next_wake, o.retry_at);
          continue;
        }
      }
      short events = o.phase == Outgoing::Phase::connecting ? POLLOUT : POLLIN;
      polled.push_back({o.fd.get(), events, 0});
      handlers.emplace_back([&, &o = o](short) {
        const auto& address = plan.table[static_cast<std::size_t>(o.peer)];
        if (o.phase == Outgoing::Phase::connecting) {
          int error = 0;
          socklen_t length = sizeof error;
          ::getsockopt(o.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
          if (error == ECONNREFUSED || error == ETIMEDOUT || error == EHOSTUNREACH)
            return retry_later(o, "refuses connections although it registered: it has exited");
          if (error != 0)
            detail::throw_error<Error>(here, "connecting to ", describe_peer(address), ": ",
                                       common::errno_text(error));
          tune_peer_socket(o.fd.get());
          if (!send_hello(o.fd.get(), my_hello))
            return retry_later(o, "keeps dropping the connection before the handshake");
          o.phase = Outgoing::Phase::awaiting_hello;
          return;
        }
        if (!read_some(o.fd.get(), o.received))
          return retry_later(o,
                             "closed the connection during the handshake (it exited, or it "
                             "does not hold this job's token)");
        HelloParse parse = parse_hello(o.received.data(), o.received.size());
        if (parse.result == HelloParse::Result::need_more) return;
        std::string why = parse.why;
        if (parse.result == HelloParse::Result::complete) {
          if (auto problem = hello_problem(parse.hello, plan.token, size))
            why = *problem;
          else if (parse.hello.rank != o.peer)
            why = "it says it is rank " + std::to_string(parse.hello.rank);
        }
        if (!why.empty())
          detail::throw_error<Error>(here, "the process at ", address.ip, ":", address.port,
                                     ", where ", describe_peer(address),
                                     " should listen, failed the handshake: ", why,
                                     " (another job on a reused port?)");
        connected[static_cast<std::size_t>(o.peer)] = std::move(o.fd);
        o.phase = Outgoing::Phase::done;
        --missing;
        if (plan.log.enabled(detail::LogLevel::debug))
          plan.log.write(detail::LogLevel::debug, "tcp", "connected to ", describe_peer(address));
      });
    }

    if (auto expiry = strangers.next_expiry()) next_wake = std::min(next_wake, *expiry);
    for (int fd : strangers.fds()) {
      polled.push_back({fd, POLLIN, 0});
      handlers.emplace_back([&, fd](short) { judge_stranger(fd); });
    }

    // The listener comes last: accepting may close strangers polled above to make room, and
    // their handlers have run by then. Each newly accepted connection is read at once, so a
    // peer whose hello is already in is taken before more arrivals can push it out.
    if (now >= listener_rests_until) {
      polled.push_back({listener.fd.get(), POLLIN, 0});
      handlers.emplace_back([&](short) {
        StrangerPool::Accepted accepted = strangers.accept_from(listener.fd.get(), Clock::now());
        if (accepted.out_of_fds) {
          ran_out_of_fds = true;
          listener_rests_until = Clock::now() + StrangerPool::listener_rest;
        }
        for (int fd : accepted.fds) judge_stranger(fd);
      });
    } else {
      next_wake = std::min(next_wake, listener_rests_until);
    }

    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_wake - now).count();
    int ready = ::poll(polled.data(), polled.size(), static_cast<int>(std::max<long>(wait, 0) + 1));
    if (ready < 0 && errno != EINTR)
      detail::throw_error<Error>(here, "poll failed: ", common::errno_text(errno));
    for (std::size_t i = 0; i < polled.size() && ready > 0; ++i)
      if (polled[i].revents != 0) handlers[i](polled[i].revents);
    strangers.expire(Clock::now());
  }
  return connected;
}

}  // namespace hilo::tcp
