// The engine's listener once the mesh is up (engine.hpp): it stays open so that a late or
// stray connection is accepted, held as a stranger (stranger_pool.hpp) until its hello can be
// judged, then refused and logged, never trusted. Gloo's tcp/listener.h is the model.
//
// Locking contract: not thread-safe. Its owner calls it only from whoever drives the sockets,
// i.e. with the engine's progress mutex held; it shares the owner's epoll set.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "backends/tcp/socket.hpp"
#include "backends/tcp/stranger_pool.hpp"

namespace hilo::tcp {

class StrangerListener {
 public:
  using Clock = std::chrono::steady_clock;

  // `token` and `job_size` judge a stranger's hello (to log what was wrong with it); `log` is
  // where refusals are reported (a default one when null).
  StrangerListener(Listener listener, std::unique_ptr<RejectionLog> log, std::string token,
                   int job_size);

  // Watches the listener (if it is open) in `epoll_fd`, and from then on every stranger it
  // accepts, under epoll tags of its own (owns()).
  void watch_with(int epoll_fd);

  // Whether an epoll event with this tag is the listener's or a stranger's: pass it to handle().
  static bool owns(std::uint64_t tag);
  void handle(std::uint64_t tag);

  // When the owner must look again (a stranger's window ends, or the listener's rest), if ever.
  std::optional<Clock::time_point> next_wakeup() const;
  // Closes strangers whose window has passed and polls the listener again once its rest is over.
  void expire(Clock::time_point now);

 private:
  void accept_strangers();
  void read_stranger(int fd);
  void wake_listener_if_rested(Clock::time_point now);

  static constexpr std::uint64_t listener_tag = std::uint64_t{1} << 32;
  static constexpr std::uint64_t stranger_tag = std::uint64_t{3} << 32;

  Listener listener_;
  std::unique_ptr<RejectionLog> log_;
  StrangerPool strangers_;  // reports to *log_
  std::string token_;
  int job_size_;
  int epoll_fd_ = -1;  // the owner's (not owned)
  // While accept() finds no fd, the listener is left out of epoll until then (else it would
  // report readable again at once, and the progress thread would spin).
  std::optional<Clock::time_point> listener_rests_until_;
};

}  // namespace hilo::tcp
