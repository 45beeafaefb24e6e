// Strangers: connections a rank's listener accepted that have not yet proven, by a hello with
// the job's token, to come from a rank of this job. During connection setup (mesh_setup.hpp) the
// lower ranks arrive among them; after it (engine.hpp) every one is refused. Both use this one
// policy, so that idle or hostile connections can never hold the file descriptors a rank needs
// for its peers, nor keep a peer's connection waiting behind them:
//
//   - At most `capacity` strangers are held at once. A connection that arrives at the cap is
//     still accepted and the OLDEST stranger is closed to make room: a rank sends its hello as
//     soon as its connect completes, so the oldest stranger is the one least likely to be a
//     peer, and a peer behind any number of idle connections still gets in.
//   - A stranger that has not completed a hello within `window` is closed.
//   - accept() failing for want of fds (EMFILE, ENFILE) closes the oldest stranger and tries
//     again. With no stranger left to close the listener must rest (it stays readable, so
//     polling it again at once would spin): accept_from() says so and the caller retries later.
//   - One call accepts at most `capacity` connections, so connections accepted earlier get read
//     between calls rather than being pushed out unread by a flood behind them.
//
// Every stranger closed is reported through the RejectionLog (once per remote address). Nothing
// is ever sent to a stranger. Not thread-safe: it has one owner (the setup loop, or the engine
// under its progress mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backends/tcp/handshake.hpp"
#include "backends/tcp/socket.hpp"

namespace hilo::tcp {

class StrangerPool {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t default_capacity = 64;
  // A real rank's hello follows its connect at once; this only bounds how long an idle
  // connection holds a slot, and is well below any sensible HILO_TIMEOUT.
  static constexpr std::chrono::seconds default_window{5};
  // How long a listener rests after accept_from() reported out_of_fds, before it is polled again.
  static constexpr std::chrono::milliseconds listener_rest{20};

  explicit StrangerPool(RejectionLog& log, std::size_t capacity = default_capacity,
                        Clock::duration window = default_window);

  struct Accepted {
    std::vector<int> fds;     // the strangers this call added, to watch for reading
    bool out_of_fds = false;  // accept() lacked an fd and no stranger was left to close
  };
  // Accepts what waits on the nonblocking `listener_fd`, at most `capacity` connections.
  Accepted accept_from(int listener_fd, Clock::time_point now);

  // Adds a connection accepted elsewhere (closing the oldest stranger when at the cap).
  void admit(common::UniqueFd fd, std::string remote_ip, Clock::time_point now);

  // Reads what stranger `fd` has sent of its hello, never past the hello's end. A connection
  // that closed, failed or sent a malformed hello is closed and logged here (closed). A complete
  // hello is returned for the caller to judge (take() the connection, or refuse() it).
  struct Reading {
    enum class State { waiting, closed, hello } state = State::waiting;
    Hello hello;  // when state == hello
  };
  Reading read(int fd);

  // Called with each stranger's fd just before the pool closes it (an epoll owner unregisters
  // it there: a closed fd leaves an epoll set only once no duplicate of it is left open).
  void call_before_closing(std::function<void(int)> hook) { before_closing_ = std::move(hook); }

  common::UniqueFd take(int fd);                // it is a peer: leaves the pool, unlogged
  void refuse(int fd, const std::string& why);  // closes it, logging why

  // Closes the oldest stranger, to free its fd for a connection of the owner's own (a peer
  // comes before any stranger); false when no stranger is held.
  bool make_room();

  // Closes every stranger whose window has passed by `now`.
  void expire(Clock::time_point now);
  // When the next window ends, if any stranger is held.
  std::optional<Clock::time_point> next_expiry() const;

  bool contains(int fd) const { return strangers_.count(fd) != 0; }
  std::size_t size() const { return strangers_.size(); }
  std::vector<int> fds() const;
  Clock::duration window() const { return window_; }

 private:
  struct Stranger {
    common::UniqueFd fd;
    std::string remote_ip;
    std::string received;  // the hello so far
    Clock::time_point give_up_at;
    std::uint64_t serial = 0;  // order of arrival: the smallest is the oldest
  };
  // Closes the oldest stranger; false when there is none.
  bool evict_oldest(const std::string& why);

  RejectionLog& log_;
  std::size_t capacity_;
  Clock::duration window_;
  std::uint64_t next_serial_ = 0;
  std::map<int, Stranger> strangers_;  // by fd
  std::function<void(int)> before_closing_;
};

}  // namespace hilo::tcp
