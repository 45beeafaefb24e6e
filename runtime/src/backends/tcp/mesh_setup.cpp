#include "backends/tcp/mesh_setup.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>

#include "backends/tcp/handshake.hpp"
#include "hilo/errors.hpp"
#include "launch/system_error.hpp"

namespace hilo::tcp {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A refused connect to a rank that registered (so its listener was up) means it has gone; a few
// retries cover a listener whose accept queue was momentarily full.
constexpr auto connect_retry_interval = 20ms;
constexpr int connect_refusals_before_lost = 50;  // ~1 s
// An incoming connection must deliver its hello within this window or it is dropped.
constexpr auto incoming_window = 10s;

struct Outgoing {
  int peer = 0;
  UniqueFd fd;
  enum class Phase { waiting_to_retry, connecting, awaiting_hello, done } phase = Phase::connecting;
  Clock::time_point retry_at{};
  int refusals = 0;
  std::string received;
};

struct Incoming {
  UniqueFd fd;
  std::string remote_ip;
  std::string received;
  Clock::time_point give_up_at{};
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

std::vector<UniqueFd> connect_mesh(const Listener& listener, const MeshPlan& plan,
                                   RejectionLog& log) {
  const int size = static_cast<int>(plan.table.size());
  const int me = plan.rank;
  const std::string my_hello = encode_hello(plan.token, me, size);
  std::vector<UniqueFd> connected(static_cast<std::size_t>(size));
  int missing = size - 1;

  auto lost = [&](int peer, const std::string& what) {
    const auto& address = plan.table[static_cast<std::size_t>(peer)];
    return PeerLost("hilo tcp: rank " + std::to_string(me) + " setting up connections: " +
                        describe_peer(address) + " " + what,
                    peer, address.host);
  };

  std::vector<Outgoing> outgoing;
  for (int peer = me + 1; peer < size; ++peer) {
    Outgoing o;
    o.peer = peer;
    outgoing.push_back(std::move(o));
  }
  auto start = [&](Outgoing& o) {
    const auto& address = plan.table[static_cast<std::size_t>(o.peer)];
    o.fd = start_connect(address.ip, address.port);
    o.phase = Outgoing::Phase::connecting;
    o.received.clear();
  };
  for (auto& o : outgoing) start(o);
  std::vector<Incoming> incoming;
  std::vector<Incoming> accepted;  // joins `incoming` after a round, whose handlers refer into it

  std::vector<pollfd> polled;
  std::vector<std::function<void(short)>> handlers;
  while (missing > 0) {
    const auto now = Clock::now();
    if (!plan.deadline.is_never() && now >= plan.deadline.at) {
      std::string names;
      for (int peer = 0; peer < size; ++peer)
        if (peer != me && !connected[static_cast<std::size_t>(peer)])
          names += (names.empty() ? "" : ", ") + describe_peer(plan.table[static_cast<std::size_t>(peer)]);
      throw Timeout("hilo tcp: rank " + std::to_string(me) +
                    " could not connect to every rank in time; still missing: " + names +
                    " (are they running? is HILO_TIMEOUT long enough?)");
    }
    polled.clear();
    handlers.clear();
    auto next_wake = plan.deadline.is_never() ? now + 1s : std::min(plan.deadline.at, now + 1s);

    polled.push_back({listener.fd.get(), POLLIN, 0});
    handlers.emplace_back([&](short) {
      for (;;) {
        int fd = ::accept4(listener.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        Incoming in{UniqueFd(fd), remote_ip_of(fd), {}, Clock::now() + incoming_window};
        accepted.push_back(std::move(in));
      }
    });

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
      handlers.emplace_back([&, &o = o](short revents) {
        const auto& address = plan.table[static_cast<std::size_t>(o.peer)];
        if (o.phase == Outgoing::Phase::connecting) {
          int error = 0;
          socklen_t length = sizeof error;
          ::getsockopt(o.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
          if (error == ECONNREFUSED || error == ETIMEDOUT || error == EHOSTUNREACH) {
            if (++o.refusals >= connect_refusals_before_lost)
              throw lost(o.peer, "refuses connections although it registered: it has exited");
            o.fd.reset();
            o.phase = Outgoing::Phase::waiting_to_retry;
            o.retry_at = Clock::now() + connect_retry_interval;
            return;
          }
          if (error != 0)
            throw Error(launch::errno_message(
                "hilo tcp: rank " + std::to_string(me) + " connecting to " + describe_peer(address),
                error));
          tune_peer_socket(o.fd.get());
          if (!send_hello(o.fd.get(), my_hello))
            throw lost(o.peer, "dropped the connection before the handshake");
          o.phase = Outgoing::Phase::awaiting_hello;
          return;
        }
        (void)revents;
        if (!read_some(o.fd.get(), o.received))
          throw lost(o.peer, "closed the connection during the handshake (it exited, or it "
                             "does not hold this job's token)");
        HelloParse parse = parse_hello(o.received.data(), o.received.size());
        if (parse.result == HelloParse::Result::need_more) return;
        std::string why = parse.why;
        if (parse.result == HelloParse::Result::complete) {
          if (auto problem = hello_problem(parse.hello, plan.token, size)) why = *problem;
          else if (parse.hello.rank != o.peer)
            why = "it says it is rank " + std::to_string(parse.hello.rank);
        }
        if (!why.empty())
          throw Error("hilo tcp: rank " + std::to_string(me) + ": the process at " +
                      address.ip + ":" + std::to_string(address.port) + ", where " +
                      describe_peer(address) + " should listen, failed the handshake: " + why +
                      " (another job on a reused port?)");
        connected[static_cast<std::size_t>(o.peer)] = std::move(o.fd);
        o.phase = Outgoing::Phase::done;
        --missing;
      });
    }

    for (auto& in : incoming) {
      if (!in.fd) continue;
      next_wake = std::min(next_wake, in.give_up_at);
      polled.push_back({in.fd.get(), POLLIN, 0});
      handlers.emplace_back([&, &in = in](short) {
        if (!read_some(in.fd.get(), in.received)) {
          log.reject(in.remote_ip, "it closed the connection before completing a handshake");
          in.fd.reset();
          return;
        }
        HelloParse parse = parse_hello(in.received.data(), in.received.size());
        if (parse.result == HelloParse::Result::need_more) return;
        std::string why = parse.why;
        int peer = parse.hello.rank;
        if (parse.result == HelloParse::Result::complete) {
          if (auto problem = hello_problem(parse.hello, plan.token, size)) why = *problem;
          else if (peer >= me)
            why = "rank " + std::to_string(peer) + " must not connect to rank " +
                  std::to_string(me) + " (lower ranks connect to higher ones)";
          else if (connected[static_cast<std::size_t>(peer)])
            why = "rank " + std::to_string(peer) + " is already connected (a duplicate rank)";
        }
        if (!why.empty()) {
          log.reject(in.remote_ip, why);
          in.fd.reset();
          return;
        }
        tune_peer_socket(in.fd.get());
        if (!send_hello(in.fd.get(), my_hello)) {
          in.fd.reset();  // it went away; a real peer retries by failing loudly on its side
          return;
        }
        connected[static_cast<std::size_t>(peer)] = std::move(in.fd);
        --missing;
      });
    }

    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_wake - now).count();
    int ready = ::poll(polled.data(), polled.size(), static_cast<int>(std::max<long>(wait, 0) + 1));
    if (ready < 0 && errno != EINTR) launch::throw_errno("hilo tcp: poll during connection setup");
    for (std::size_t i = 0; i < polled.size() && ready > 0; ++i)
      if (polled[i].revents != 0) handlers[i](polled[i].revents);

    for (auto& in : accepted) incoming.push_back(std::move(in));
    accepted.clear();
    const auto after = Clock::now();
    for (auto& in : incoming)
      if (in.fd && after >= in.give_up_at) {
        log.reject(in.remote_ip, "no complete handshake within 10 s");
        in.fd.reset();
      }
    std::erase_if(incoming, [](const Incoming& in) { return !in.fd; });
  }
  return connected;
}

}  // namespace hilo::tcp
