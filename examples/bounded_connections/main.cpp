// bounded_connections: the seed's service that must limit how many users it serves at once,
// across processes and hosts. Rank 0 runs a real TCP service; clients on every rank (threads,
// many at once) connect to it, say "hello NAME" and wait for "welcome NAME ...". The service
// admits at most K connections at a time with a hilo::BoundedSemaphore and records the most it
// ever had inside at once. Like the seed's server it prints every request it received; like the
// seed's client, a client may just send "hello" and close (the name and the newline are optional).
//
//   bounded_connections                  K = 3: max_concurrent never passes 3 (exit 1 if it does)
//   bounded_connections --no-limit       no semaphore: max_concurrent climbs past K
//   bounded_connections --external 2     also wait for 2 outside clients (python3 client.py)
//
// The service's address is rank 0's host's (127.0.0.1 when every rank runs on that host), sent
// to the other ranks with broadcast; --bind ADDRESS chooses it. A client that sends garbage gets
// an error reply, one that goes silent, or resets its connection before its request ends, is
// dropped after at most request_timeout: either way only its own connection is lost. When every
// rank's clients are done (the ranks tell rank 0 through gather), the service stops and rank 0
// prints
//   bounded_connections: OK max_concurrent=3 limit=3 served=96 requests=96 rejected=0 ...
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <hilo/hilo.hpp>

#include "example_support.hpp"

namespace {

using namespace std::chrono_literals;

// How long the service waits for a connection's request line before dropping it.
constexpr auto request_timeout = 2s;
// How long a client waits to connect, and then for its reply (admission may take a while).
constexpr auto connect_timeout = 10s;
constexpr auto reply_timeout = 30s;
// How long the ranks wait for each other, and rank 0 for the outside clients.
constexpr auto rank_timeout = 120s;
constexpr std::size_t longest_request = 128;

struct Options {
  int limit = 3;          // K: connections admitted at once
  bool no_limit = false;  // no semaphore at all
  int clients = 8;        // client threads per rank, connecting at the same time
  int requests = 3;       // connections each client thread makes, one after the other
  int workers = 16;       // service threads on rank 0: with --no-limit, the most inside at once
  int work_ms = 20;       // how long the service keeps an admitted connection
  int external = 0;       // outside clients to serve before stopping
  std::string bind;       // the service's IPv4 address; empty: chosen (see service_address)
};

constexpr const char* usage =
    "usage: bounded_connections [--limit K] [--no-limit] [--clients C] [--requests R] [--workers "
    "W]\n"
    "          [--work-ms MS] [--external N] [--bind ADDRESS]\n"
    "  --limit K      connections served at once (1 to 1000, default 3)\n"
    "  --no-limit     no semaphore: see how many end up inside at once\n"
    "  --clients C    client threads per rank, all at once (1 to 256, default 8)\n"
    "  --requests R   connections per client thread (1 to 1000, default 3)\n"
    "  --workers W    service threads on rank 0 (1 to 256, default 16)\n"
    "  --work-ms MS   how long each admitted connection is served (0 to 10000, "
    "default 20)\n"
    "  --external N   also serve N outside clients (client.py) before stopping (0 to 1000)\n"
    "  --bind ADDR    the service's IPv4 address (default: rank 0's host's)\n";

// Throws std::invalid_argument saying what is wrong.
Options parse(int argc, char** argv) {
  using hilo_examples::option_value;
  using hilo_examples::parse_count;
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto count = [&](std::uint64_t min, std::uint64_t max) {
      return static_cast<int>(parse_count(arg, option_value(argc, argv, i), min, max));
    };
    if (arg == "--limit") {
      options.limit = count(1, 1000);
    } else if (arg == "--no-limit") {
      options.no_limit = true;
    } else if (arg == "--clients") {
      options.clients = count(1, 256);
    } else if (arg == "--requests") {
      options.requests = count(1, 1000);
    } else if (arg == "--workers") {
      options.workers = count(1, 256);
    } else if (arg == "--work-ms") {
      options.work_ms = count(0, 10000);
    } else if (arg == "--external") {
      options.external = count(0, 1000);
    } else if (arg == "--bind") {
      options.bind = option_value(argc, argv, i);
      in_addr unused{};
      if (inet_pton(AF_INET, options.bind.c_str(), &unused) != 1)
        throw std::invalid_argument("--bind needs an IPv4 address, not '" + options.bind + "'");
    } else {
      throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
    }
  }
  return options;
}

// ---- sockets

// A failed system call, as a hilo::Error naming it and errno's reason.
[[noreturn]] void throw_errno(const std::string& what) {
  throw hilo::Error(what + ": " + std::strerror(errno));
}

// A socket that closes itself.
class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in socket_address(const std::string& ip, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1)
    throw hilo::Error("'" + ip + "' is not an IPv4 address");
  return address;
}

// Every blocking call on `socket` gives up after these (connect counts as a send on Linux).
void set_timeouts(const Socket& socket, std::chrono::milliseconds receive,
                  std::chrono::milliseconds send) {
  auto as_timeval = [](std::chrono::milliseconds ms) {
    return timeval{static_cast<time_t>(ms.count() / 1000),
                   static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
  };
  const timeval receive_limit = as_timeval(receive);
  const timeval send_limit = as_timeval(send);
  if (setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &receive_limit, sizeof receive_limit) != 0 ||
      setsockopt(socket.fd(), SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof send_limit) != 0)
    throw_errno("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)");
}

// False if the peer went away or the send timed out.
bool send_all(const Socket& socket, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(socket.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

// Sends `last_words`, then reads and discards what the peer still sends (until it closes, or
// the socket's receive timeout) before the socket is closed: closing with unread input would
// reset the connection and could destroy the reply before the peer reads it.
void reply_and_close(const Socket& socket, std::string_view last_words) {
  if (!send_all(socket, last_words)) return;
  ::shutdown(socket.fd(), SHUT_WR);
  char discard[4096];
  for (int i = 0; i < 16; ++i) {
    if (::recv(socket.fd(), discard, sizeof discard, 0) <= 0) return;
  }
}

// complete: a '\n' ended the line. end_of_stream: the peer ended its stream in order (FIN)
// first, as the seed's client does after send(b'hello'); `line` holds what it sent. cut_off: the
// connection failed (reset). timed_out: the peer sent nothing for the socket's receive timeout.
enum class LineRead { complete, end_of_stream, cut_off, timed_out, too_long };

// Reads up to and without '\n', at most `longest` bytes.
LineRead read_line(const Socket& socket, std::string& line, std::size_t longest) {
  line.clear();
  char byte = 0;
  while (line.size() < longest) {
    const ssize_t got = ::recv(socket.fd(), &byte, 1, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return LineRead::timed_out;
    if (got == 0) return LineRead::end_of_stream;
    if (got < 0) return LineRead::cut_off;
    if (byte == '\n') return LineRead::complete;
    line += byte;
  }
  return LineRead::too_long;
}

// `bytes` as one printable line: C escapes for quotes, backslashes and what is not printable.
std::string escaped(std::string_view bytes) {
  std::string text;
  for (const char c : bytes) {
    if (c == '"' || c == '\\') {
      text += '\\';
      text += c;
    } else if (c >= ' ' && c <= '~') {
      text += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      text += hex;
    }
  }
  return text;
}

// The name of a request "hello" or "hello NAME" (a trailing '\r' ignored, as telnet sends it):
// "" for plain "hello", nullopt for anything else. NAME must be printable ASCII.
std::optional<std::string> name_in_greeting(std::string_view request) {
  if (request.ends_with('\r')) request.remove_suffix(1);
  constexpr std::string_view hello = "hello";
  if (!request.starts_with(hello)) return std::nullopt;
  request.remove_prefix(hello.size());
  if (request.empty()) return std::string();
  if (request.front() != ' ') return std::nullopt;  // "hellothere" is not a greeting
  request.remove_prefix(1);
  if (!std::all_of(request.begin(), request.end(), [](char c) { return c >= ' ' && c <= '~'; }))
    return std::nullopt;
  return std::string(request);
}

// ---- where the service listens

bool is_loopback(const std::string& ip) {
  return ip.starts_with("127.");
}

// The IPv4 address `host` resolves to, or "" if it does not.
std::string resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return "";
  std::string ip(INET_ADDRSTRLEN, '\0');
  const auto* address = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  inet_ntop(AF_INET, &address->sin_addr, ip.data(), INET_ADDRSTRLEN);
  freeaddrinfo(found);
  return ip.c_str();
}

// The first IPv4 address of an interface that is up and not loopback, or "".
std::string first_network_address() {
  ifaddrs* interfaces = nullptr;
  if (getifaddrs(&interfaces) != 0) return "";
  std::string ip;
  for (const ifaddrs* i = interfaces; i != nullptr && ip.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, text,
              sizeof text);
    ip = text;
  }
  freeifaddrs(interfaces);
  return ip;
}

// Where rank 0 listens: --bind if given; 127.0.0.1 if every rank runs on rank 0's host (no
// client needs more); otherwise the address rank 0's host name resolves to, as the other hosts
// look it up, or failing that (a name that resolves to loopback) its first network address.
std::string service_address(const Options& options, const std::vector<std::string>& host_of_rank) {
  if (!options.bind.empty()) return options.bind;
  if (hilo_examples::each_host_once(host_of_rank).size() == 1) return "127.0.0.1";
  const std::string by_name = resolve(host_of_rank.front());
  if (!by_name.empty() && !is_loopback(by_name)) return by_name;
  const std::string by_interface = first_network_address();
  if (!by_interface.empty()) return by_interface;
  throw hilo::Error("found no address of " + host_of_rank.front() +
                    " that other hosts can reach; pass --bind ADDRESS");
}

// ---- the service, on rank 0

class Service {
 public:
  // Listens on ip (port chosen by the kernel) and starts accepting. Throws hilo::Error.
  Service(const Options& options, const std::string& ip)
      : options_(options), ip_(ip), admission_(options.limit), handlers_(options.workers) {
    listener_ = Socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (listener_.fd() < 0) throw_errno("socket");
    const sockaddr_in address = socket_address(ip, 0);
    if (::bind(listener_.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
      throw_errno("bind " + ip);
    if (::listen(listener_.fd(), SOMAXCONN) != 0) throw_errno("listen on " + ip);
    sockaddr_in bound{};
    socklen_t length = sizeof bound;
    if (getsockname(listener_.fd(), reinterpret_cast<sockaddr*>(&bound), &length) != 0)
      throw_errno("getsockname");
    port_ = ntohs(bound.sin_port);
    acceptor_ = std::jthread([this](std::stop_token stop) { accept_until(stop); });
  }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  ~Service() { stop(); }

  std::string endpoint() const { return ip_ + ":" + std::to_string(port_); }

  // Stops accepting, then lets the handlers finish what they hold (each within its timeouts).
  void stop() {
    acceptor_.request_stop();
    if (acceptor_.joinable()) acceptor_.join();
    handlers_.reset();  // the pool's destructor runs every queued handler, then joins
  }

  int served() const { return served_.load(); }
  int rejected() const { return rejected_.load(); }
  int dropped() const { return dropped_.load(); }
  int max_concurrent() const { return max_inside_.load(); }

 private:
  // Polls so that it notices stop() within a tick; every accepted connection goes to a handler.
  void accept_until(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      pollfd ready{listener_.fd(), POLLIN, 0};
      if (::poll(&ready, 1, 100) <= 0) continue;
      Socket connection(::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC));
      if (connection.fd() < 0) continue;  // the client gave up already, or out of descriptors
      try {
        set_timeouts(connection, request_timeout, request_timeout);
        handlers_->submit([this, c = std::move(connection)] { handle(c); });
      } catch (const std::exception& error) {
        std::fprintf(stderr, "bounded_connections: service: %s\n", error.what());
      }
    }
  }

  // One connection: read the request, print it, wait for admission, serve, reply. A request
  // ends at a newline or where the client ends its stream (the seed's client sends "hello"
  // and closes); a client that says nothing, or whose connection fails first, is dropped.
  void handle(const Socket& connection) {
    std::string request;
    const LineRead read = read_line(connection, request, longest_request);
    const bool said_something = read == LineRead::complete || read == LineRead::too_long ||
                                (read == LineRead::end_of_stream && !request.empty());
    if (!said_something) {
      dropped_.fetch_add(1);  // never said anything, went silent, or its connection failed
      return;
    }
    // As the seed's server prints the data it received (one printf: lines never mix), and at
    // once, not when the buffer of a piped stdout fills.
    std::printf("bounded_connections: received \"%s\"%s\n", escaped(request).c_str(),
                read == LineRead::too_long ? "... (too long)" : "");
    std::fflush(stdout);
    const std::optional<std::string> name =
        read == LineRead::too_long ? std::nullopt : name_in_greeting(request);
    if (!name) {
      rejected_.fetch_add(1);
      reply_and_close(connection, "error: say 'hello NAME' in one line of at most 128 bytes\n");
      return;
    }

    int inside = 0;
    {
      std::optional<hilo::SemaphoreGuard<hilo::BoundedSemaphore>> admitted;
      if (!options_.no_limit) admitted.emplace(admission_);  // at most K get past here
      inside = inside_.fetch_add(1) + 1;
      int most = max_inside_.load();
      while (inside > most && !max_inside_.compare_exchange_weak(most, inside)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.work_ms));  // the service
      inside_.fetch_sub(1);
    }  // the next one is admitted here
    const std::string limit = options_.no_limit ? "none" : std::to_string(options_.limit);
    const std::string welcome = name->empty() ? "welcome" : "welcome " + *name;
    const bool replied = send_all(connection, welcome + ": " + std::to_string(inside) +
                                                  " inside with you (limit " + limit + ")\n");
    // A client that ended its stream with its request asked for no reply (the seed's client
    // closes at once): it was served all the same. One waiting at a newline must get the reply.
    (replied || read == LineRead::end_of_stream ? served_ : dropped_).fetch_add(1);
  }

  const Options& options_;
  std::string ip_;
  int port_ = 0;
  Socket listener_;
  hilo::BoundedSemaphore admission_;
  std::atomic<int> inside_{0};
  std::atomic<int> max_inside_{0};
  std::atomic<int> served_{0};
  std::atomic<int> rejected_{0};
  std::atomic<int> dropped_{0};
  std::optional<hilo::ThreadPool> handlers_;
  std::jthread acceptor_;  // last: it uses everything above
};

// ---- the clients, on every rank

struct ClientCounts {
  int requests = 0;
  int welcomed = 0;
};

// One connection: say hello as `name`; true if the reply is the welcome.
bool say_hello(const sockaddr_in& service, const std::string& name, std::string& problem) {
  Socket connection(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connection.fd() < 0) {
    problem = std::string("socket: ") + std::strerror(errno);  // out of descriptors, say
    return false;
  }
  set_timeouts(connection, reply_timeout, connect_timeout);
  if (::connect(connection.fd(), reinterpret_cast<const sockaddr*>(&service), sizeof service) !=
      0) {
    problem = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  std::string reply;
  if (!send_all(connection, "hello " + name + "\n") ||
      read_line(connection, reply, 256) != LineRead::complete) {
    problem = "no reply to 'hello " + name + "'";
    return false;
  }
  if (!reply.starts_with("welcome " + name + ":")) {
    problem = "unexpected reply '" + reply + "'";
    return false;
  }
  return true;
}

// options.clients threads, released together, each connecting options.requests times.
ClientCounts run_clients(const Options& options, const std::string& endpoint, int rank) {
  const std::size_t colon = endpoint.rfind(':');
  const sockaddr_in service =
      socket_address(endpoint.substr(0, colon), std::stoi(endpoint.substr(colon + 1)));
  std::atomic<int> welcomed{0};
  std::latch start(options.clients);
  {
    std::vector<std::jthread> clients;
    for (int c = 0; c < options.clients; ++c) {
      clients.emplace_back([&, c] {
        start.arrive_and_wait();
        for (int r = 0; r < options.requests; ++r) {
          const std::string name = "rank" + std::to_string(rank) + "-client" + std::to_string(c) +
                                   "-request" + std::to_string(r);
          std::string problem;
          bool welcome = false;
          try {
            welcome = say_hello(service, name, problem);
          } catch (const std::exception& error) {  // nothing may escape a thread
            problem = error.what();
          }
          if (welcome) {
            welcomed.fetch_add(1);
          } else {
            std::fprintf(stderr, "bounded_connections: %s: %s\n", name.c_str(), problem.c_str());
          }
        }
      });
    }
  }  // the jthreads join here
  return {options.clients * options.requests, welcomed.load()};
}

}  // namespace

int main(int argc, char** argv) {
  int rank = 0;
  try {
    hilo::Runtime runtime(argc, argv);
    hilo::Communicator& world = runtime.world();
    rank = world.rank();

    const std::optional<Options> options =
        hilo_examples::parse_options(parse, argc, argv, world, "bounded_connections", usage);
    if (!options) return 2;

    const auto timeout = hilo::within(rank_timeout);
    const std::vector<std::string> host_of_rank =
        world.gather(hilo_examples::this_host(), 0, timeout);

    // Rank 0 starts the service and tells everyone where it is, or that it could not start.
    std::optional<Service> service;
    std::string endpoint;
    if (rank == 0) {
      try {
        service.emplace(*options, service_address(*options, host_of_rank));
        endpoint = service->endpoint();
        std::printf("bounded_connections: service on %s, at most %s at once, %d workers\n",
                    endpoint.c_str(),
                    options->no_limit ? "any number" : std::to_string(options->limit).c_str(),
                    options->workers);
        std::fflush(stdout);  // a script (or you) may be waiting for this line
      } catch (const hilo::Error& error) {
        endpoint = "error: " + std::string(error.what());
      }
    }
    world.broadcast(endpoint, 0, timeout);
    constexpr std::string_view error_mark = "error: ";
    if (endpoint.starts_with(error_mark)) {
      if (rank == 0)
        std::printf("bounded_connections: FAILED: rank 0 could not start the service: %s\n",
                    endpoint.substr(error_mark.size()).c_str());
      return 1;
    }

    world.barrier(timeout);  // every rank's clients set off together, so that they compete
    const ClientCounts mine = run_clients(*options, endpoint, rank);
    // Telling rank 0 how it went is also how the ranks tell it they are done.
    const std::vector<ClientCounts> counts = world.gather(mine, 0, timeout);
    if (rank != 0) return mine.welcomed == mine.requests ? 0 : 1;

    int requests = 0;
    int welcomed = 0;
    for (const ClientCounts& c : counts) {
      requests += c.requests;
      welcomed += c.welcomed;
    }
    // Outside clients (client.py): wait until that many more were served, for a bounded time.
    const auto give_up = std::chrono::steady_clock::now() + rank_timeout;
    while (service->served() < welcomed + options->external &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(50ms);
    }
    service->stop();

    const int served = service->served();
    const int outside = served - welcomed;
    const bool all_welcomed = welcomed == requests && outside >= options->external;
    const bool within_limit = options->no_limit || service->max_concurrent() <= options->limit;
    const bool ok = all_welcomed && within_limit;
    const char* verdict = !ok ? "FAILED" : options->no_limit ? "NO LIMIT" : "OK";
    std::printf(
        "bounded_connections: %s max_concurrent=%d limit=%s served=%d requests=%d "
        "outside=%d rejected=%d dropped=%d ranks=%d hosts=%s\n",
        verdict, service->max_concurrent(),
        options->no_limit ? "none" : std::to_string(options->limit).c_str(), served, requests,
        outside, service->rejected(), service->dropped(), world.size(),
        hilo_examples::host_list(host_of_rank).c_str());
    if (!within_limit)
      std::printf("bounded_connections: the semaphore let %d in at once, more than %d\n",
                  service->max_concurrent(), options->limit);
    if (!all_welcomed)
      std::printf(
          "bounded_connections: %d of %d client requests welcomed, %d of %d outside "
          "clients served\n",
          welcomed, requests, std::max(outside, 0), options->external);
    return ok ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bounded_connections: FAILED on rank %d: %s\n", rank, error.what());
    return 1;
  }
}
