#include "backends/tcp/engine.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <thread>

#include "backends/tcp/peer_connection.hpp"

namespace hilo::tcp {

using Clock = std::chrono::steady_clock;
using detail::Envelope;
using detail::Mailbox;

// ---- the progress thread

void Engine::handle_events(const epoll_event* events, int count) {
  for (int i = 0; i < count; ++i) {
    const std::uint64_t tag = events[i].data.u64;
    if (tag == wake_tag) {
      // Left readable on purpose: only stop_thread() writes it, and a user thread polling here
      // must not consume the wake-up the progress thread is waiting for.
    } else if (StrangerListener::owns(tag)) {
      strangers_.handle(tag);
    } else {
      // Events may be stale (another thread handled them first): every handler copes with
      // nothing to read, and a closed connection is skipped.
      Peer& peer = *peers_[static_cast<std::size_t>(tag)];
      if (!peer.socket) continue;
      if (peer.shm) {
        handle_ring_event(peer);
        continue;
      }
      if (events[i].events & EPOLLOUT) {
        std::lock_guard lock(peer.send_mutex);
        peer.flush_locked();
      }
      if (peer.socket && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) read_from(peer);
    }
  }
}

void Engine::poll_until(const detail::PendingReceive& receive, int world_source) {
  if (receive.done() || config_.spin_window.count() == 0) return;
  turn_.poller_enters();
  const auto started = Clock::now();
  auto give_up = started + config_.spin_window;
  Peer* awaited = world_source >= 0 && world_source != rank()
                      ? peers_[static_cast<std::size_t>(world_source)].get()
                      : nullptr;
  // A peer behind a ring: yield from the first round. Reading a ring costs no system call, so
  // the yield is the only one a round makes, and two ranks that the scheduler put on one core
  // (unbound, on a busy host) then take turns at once instead of after a hard spin each: 8 B
  // went from 12-38 us to 1-4 us that way (benchmarks/analysis.md, "Shared-memory rings between
  // ranks of one host").
  const auto stop_spinning_hard =
      started + (awaited != nullptr && awaited->shm ? std::chrono::microseconds(0) : hard_spin_);
  epoll_event events[64];
  for (unsigned round = 0; !receive.done() && !stopping_.load(std::memory_order_relaxed); ++round) {
    int ready = 0;
    bool bytes_came = false;
    if (progress_mutex_.try_lock()) {
      std::lock_guard lock(progress_mutex_, std::adopt_lock);
      const std::uint64_t read_before = bytes_read_;
      if (awaited != nullptr && awaited->socket && round % 8 != 7) {
        read_from(*awaited);  // one recv; nothing there costs one EAGAIN
      } else {
        ready = ::epoll_wait(epoll_.get(), events, 64, 0);
        if (ready > 0) handle_events(events, ready);
        poll_rings();
      }
      bytes_came = bytes_read_ != read_before;
    }
    if (receive.done()) break;
    // The window counts from the last bytes in: a large message streaming in (or other peers'
    // traffic, which the progress thread would otherwise wake up for) keeps this thread here.
    if (bytes_came) give_up = Clock::now() + config_.spin_window;
    if (ready <= 0) {
      const auto now = Clock::now();
      if (now >= give_up) break;
      // The first microseconds spin without yielding: a sched_yield is a system call as dear as
      // the recv above, and on an idle core the reply usually comes within them. After that,
      // yield each round so that ranks oversubscribing the cores still get theirs.
      if (now >= stop_spinning_hard) std::this_thread::yield();
    }
  }
  // Giving up without the message: the progress thread must take over now, since this thread
  // is about to sleep. Done: no wake-up (a syscall, and a thread competing for the CPU per
  // message); the caller will most likely poll again soon, and the progress thread looks again
  // within two ProgressTurn::recheck intervals anyway.
  turn_.poller_leaves(/*gave_up=*/!receive.done());
}

void Engine::progress_loop() {
  epoll_event events[64];
  auto last_activity = Clock::now();
  bool spinning = false;
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (!turn_.progress_is_mine()) {
      // A user thread drives the sockets now; waiting in epoll would only get this thread
      // woken for every message it then finds already handled.
      turn_.wait_for_turn(stopping_);
      continue;
    }
    int timeout = -1;
    if (spinning) {
      timeout = 0;
    } else {
      std::lock_guard lock(progress_mutex_);
      auto nearest = strangers_.next_wakeup();
      if (nearest) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*nearest - Clock::now());
        timeout = static_cast<int>(std::clamp<long>(wait.count() + 1, 0, 60000));
      }
      // Rings have no file descriptor: their writers ring the doorbell while this thread sleeps.
      if (rings_sleep()) timeout = 0;
    }
    int ready = ::epoll_wait(epoll_.get(), events, 64, timeout);
    const auto now = Clock::now();
    {
      std::lock_guard lock(progress_mutex_);
      if (!ring_peers_.empty()) {
        rings_awake();
        if (poll_rings()) last_activity = now;
      }
      if (ready > 0) {
        last_activity = now;
        handle_events(events, ready);
      }
      strangers_.expire(now);
    }
    spinning = config_.spin_window.count() > 0 && now - last_activity < config_.spin_window;
    if (spinning && ready <= 0) std::this_thread::yield();
  }
}

}  // namespace hilo::tcp
