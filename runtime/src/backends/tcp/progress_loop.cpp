#include "backends/tcp/progress_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/system_error.hpp"

namespace hilo::tcp {

ProgressLoop::ProgressLoop(SocketDriver& driver, std::chrono::microseconds spin_window,
                           std::chrono::microseconds hard_spin)
    : driver_(driver), spin_window_(spin_window), hard_spin_(hard_spin) {
  epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) common::throw_errno("hilo tcp: epoll_create1");
  wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) common::throw_errno("hilo tcp: eventfd");
  watch(wake_.get(), wake_tag);
}

ProgressLoop::~ProgressLoop() {
  stop();
}

void ProgressLoop::watch(int fd, std::uint64_t tag) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
    common::throw_errno("hilo tcp: epoll_ctl");
}

void ProgressLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void ProgressLoop::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void ProgressLoop::handle_events(const epoll_event* events, int count) {
  for (int i = 0; i < count; ++i) {
    const std::uint64_t tag = events[i].data.u64;
    // The wake-up is left readable on purpose: only stop() writes it, and a user thread polling
    // here must not consume the wake-up the progress thread is waiting for.
    if (tag != wake_tag) driver_.handle_event(tag, events[i].events);
  }
}

void ProgressLoop::poll_until(const detail::PendingReceive& receive, int awaited,
                              bool yield_at_once) {
  if (receive.done() || spin_window_.count() == 0) return;
  turn_.poller_enters();
  const auto started = Clock::now();
  auto give_up = started + spin_window_;
  // A ring's writer on this very core (ranks the scheduler put on one core, unbound on a busy
  // host): yield from the first round, so that the two take turns at once instead of after a
  // hard spin each (8 B went from 12-38 us to 1-4 us that way). A ring's writer on another core
  // is spun for like a socket (benchmarks/analysis.md, "Shared-memory rings between ranks of one
  // host").
  const auto stop_spinning_hard =
      started + (yield_at_once ? std::chrono::microseconds(0) : hard_spin_);
  epoll_event events[64];
  for (unsigned round = 0; !receive.done() && !stopping_.load(std::memory_order_relaxed); ++round) {
    int ready = 0;
    bool bytes_came = false;
    if (mutex_.try_lock()) {
      std::lock_guard lock(mutex_, std::adopt_lock);
      const std::uint64_t read_before = bytes_read_;
      // One recv; nothing there costs one EAGAIN. A closed connection: poll them all.
      if (awaited < 0 || round % 8 == 7 || !driver_.read_peer(awaited)) {
        ready = ::epoll_wait(epoll_.get(), events, 64, 0);
        if (ready > 0) handle_events(events, ready);
        driver_.poll_rings();
      }
      bytes_came = bytes_read_ != read_before;
    }
    if (receive.done()) break;
    // The window counts from the last bytes in: a large message streaming in (or other peers'
    // traffic, which the progress thread would otherwise wake up for) keeps this thread here.
    if (bytes_came) give_up = Clock::now() + spin_window_;
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

void ProgressLoop::run() {
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
      std::lock_guard lock(mutex_);
      auto nearest = driver_.next_wakeup();
      if (nearest) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*nearest - Clock::now());
        timeout = static_cast<int>(std::clamp<long>(wait.count() + 1, 0, 60000));
      }
      // Rings have no file descriptor: their writers ring the doorbell while this thread sleeps.
      if (driver_.rings_sleep()) timeout = 0;
    }
    int ready = ::epoll_wait(epoll_.get(), events, 64, timeout);
    const auto now = Clock::now();
    {
      std::lock_guard lock(mutex_);
      driver_.rings_awake();
      if (driver_.poll_rings()) last_activity = now;
      if (ready > 0) {
        last_activity = now;
        handle_events(events, ready);
      }
      driver_.expire(now);
    }
    spinning = spin_window_.count() > 0 && now - last_activity < spin_window_;
    if (spinning && ready <= 0) std::this_thread::yield();
  }
}

}  // namespace hilo::tcp
