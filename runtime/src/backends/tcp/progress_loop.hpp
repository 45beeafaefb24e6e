// Who drives one rank's connections, and when (engine.hpp has the whole engine): the progress
// thread, the epoll set with its wake-up eventfd, the progress mutex that whoever drives the
// sockets holds, and a user thread's polling for its own receive. What is driven (reading a
// connection, the rings, the strangers) is the SocketDriver's (the engine); this class decides
// who does it and for how long.
//
// Latency. Waking a thread blocked in the kernel costs more than a whole small message should,
// and handing a message from the progress thread to the receiving thread costs more again
// (benchmarks/analysis.md, "The TCP engine's latency choices"). So a thread waiting for a receive
// first drives the sockets itself for a short window (HILO_TCP_SPIN_US, default 500 us, counted
// from the last bytes that arrived, so a large message streaming in keeps it polling): it takes the
// progress mutex, reads the awaited peer's connection directly (every socket through epoll every
// few rounds, and always for any_source) and delivers what arrived, its own message included, with
// no thread switch. While a user thread polls, and for a while after one left with its message
// (the gap between two receives of a loop), the progress thread stands aside (ProgressTurn; it
// does not even wait in epoll, so the kernel does not wake it per message). Once the window passes
// the waiter sleeps and the progress thread takes over; it too keeps polling for the same window
// after any traffic before it blocks in the kernel. Every polling loop yields the CPU between
// rounds, so ranks oversubscribed on few cores still let each other run.
//
// Locking contract: mutex() is held by whoever drives the sockets, the progress thread or one
// polling user thread (try_lock: a poller never waits for it), and by nobody else for long. It
// guards what the SocketDriver touches (every connection's receive side, the stranger listener;
// see peer_connection.hpp and engine.hpp) and bytes_read_: every SocketDriver function is called
// with it held. Lock order: this mutex before a connection's send_mutex (peer_connection.hpp).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "backends/tcp/progress_turn.hpp"
#include "backends/tcp/socket.hpp"
#include "comm/mailbox.hpp"
#include "common/thread_annotations.hpp"

namespace hilo::tcp {

// What a ProgressLoop drives. Every function is called with ProgressLoop::mutex() held.
class SocketDriver {
 public:
  using Clock = std::chrono::steady_clock;

  // epoll reported `events` for the file descriptor watched with `tag` (ProgressLoop::watch).
  // Events may be stale (another thread handled them first): a handler copes with nothing there.
  virtual void handle_event(std::uint64_t tag, std::uint32_t events) = 0;
  // Reads what `world_rank`'s connection has now, without asking epoll first; false if that
  // connection is closed (then nothing was read).
  virtual bool read_peer(int world_rank) = 0;
  // Reads every shared-memory ring that has bytes; true if any had (rings have no descriptor).
  virtual bool poll_rings() = 0;
  // The progress thread is about to sleep in epoll: asks every ring's writer to ring the
  // doorbell; true if a ring has bytes already (then it must not sleep).
  virtual bool rings_sleep() = 0;
  // It woke up: the writers need not ring any more.
  virtual void rings_awake() = 0;
  // The latest time the progress thread must look again (a timer), if any.
  virtual std::optional<Clock::time_point> next_wakeup() = 0;
  // Called after each wait of the progress thread: timers due at `now` fire.
  virtual void expire(Clock::time_point now) = 0;

 protected:
  ~SocketDriver() = default;
};

class ProgressLoop {
 public:
  using Clock = std::chrono::steady_clock;

  // `spin_window`: how long a thread keeps polling after the last bytes came (0: never polls).
  // `hard_spin`: how long of that a polling user thread spins without yielding the core.
  ProgressLoop(SocketDriver& driver, std::chrono::microseconds spin_window,
               std::chrono::microseconds hard_spin);
  ProgressLoop(const ProgressLoop&) = delete;
  ProgressLoop& operator=(const ProgressLoop&) = delete;
  ~ProgressLoop();  // stops the thread

  // The epoll set every connection is watched in (owned; outlives the thread).
  int epoll_fd() const { return epoll_.get(); }
  // Watches `fd` for input; its events reach SocketDriver::handle_event with `tag`.
  void watch(int fd, std::uint64_t tag);
  // The epoll tag of the wake-up eventfd, which no SocketDriver tag may equal.
  static constexpr std::uint64_t wake_tag = std::uint64_t{2} << 32;

  // Starts the progress thread. Once: the SocketDriver must be ready for it.
  void start();
  // Stops the progress thread and waits for it (the connections are no longer driven). Once it
  // returns, nothing of the SocketDriver is called by this loop. Idempotent.
  void stop();

  // Held by whoever drives the sockets (see the top of this file).
  std::mutex& mutex() { return mutex_; }
  // Bytes read from every connection, ever: the driver adds what it reads, so a polling thread
  // sees that traffic came.
  std::uint64_t& bytes_read() HILO_REQUIRES(mutex_) { return bytes_read_; }

  // Drives the connections from the calling thread until `receive` is done or the spin window
  // passes (then the caller sleeps in the Mailbox and the progress thread carries on).
  // `awaited` is the world rank of the peer the receive waits for (-1: any): its connection is
  // read directly, every few rounds all are polled. `yield_at_once`: that peer writes through a
  // shared-memory ring and last wrote from this thread's CPU, so spinning without yielding the
  // core would only keep it off.
  void poll_until(const detail::PendingReceive& receive, int awaited, bool yield_at_once)
      HILO_EXCLUDES(mutex_);

  // Lets the progress thread stop standing aside now (ProgressTurn::hand_over).
  void hand_over() { turn_.hand_over(); }

 private:
  void run() HILO_EXCLUDES(mutex_);  // the progress thread
  void handle_events(const epoll_event* events, int count) HILO_REQUIRES(mutex_);

  SocketDriver& driver_;
  const std::chrono::microseconds spin_window_;
  const std::chrono::microseconds hard_spin_;
  common::UniqueFd epoll_;
  common::UniqueFd wake_;  // eventfd: stop() ends the thread's wait in epoll through it
  std::mutex mutex_;
  std::uint64_t bytes_read_ HILO_GUARDED_BY(mutex_) = 0;
  ProgressTurn turn_;  // whether a user thread or the progress thread drives the sockets
  // Set once by stop(); read relaxed by the polling loops, which the wake_ eventfd or
  // ProgressTurn::recheck brings round to look.
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace hilo::tcp
