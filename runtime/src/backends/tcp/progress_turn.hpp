// Whose turn it is to drive the sockets (progress_loop.hpp, "Latency"): a user thread polling for
// its own receive (ProgressLoop::poll_until), or the progress thread (ProgressLoop::run). It does
// not guard the sockets themselves (the progress mutex, ProgressLoop::mutex, does, whoever drives
// them); it only decides when the progress thread stands aside and when it takes over.
//
// The rule: the progress thread drives the sockets when no user thread is polling and none is
// between two polls of a send/receive loop (left with its message within `recheck`), unless one
// gave up or a transfer asked for it (hand_over). Without the second rule the progress thread,
// looking every `recheck`, often found a ping-pong between its polls, took the next message
// itself and handed it over across threads (a thread switch per message).
//
// Memory ordering: the counters are sequentially consistent atomics, read without a lock.
// wake_mutex_ only pairs wake-ups with the progress thread's wait, so a hand-over notified
// between its predicate check and its sleep is not lost.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "common/thread_annotations.hpp"

namespace hilo::tcp {

class ProgressTurn {
 public:
  // While user threads poll, the progress thread looks this often whether they still do, and
  // takes over once none has polled for this long (a thread that got its message and went on
  // computing does not wake it: queued sends and arrivals wait at most twice this long for it).
  static constexpr std::chrono::microseconds recheck{500};

  // A user thread starts polling for its receive.
  void poller_enters() { pollers_.fetch_add(1); }
  // It stops: with its message (`gave_up` false: no wake-up, since it will most likely poll again
  // soon), or without (the last poller to leave hands over to the progress thread at once, since
  // it is about to sleep).
  void poller_leaves(bool gave_up) HILO_EXCLUDES(wake_mutex_);
  // Lets the progress thread stop standing aside now. A sender of a single-copy message calls it:
  // its clear-to-send is read by whoever drives the sockets, and a user thread that polled for
  // its receive does not wake the progress thread when it stops, so that one would sit out
  // `recheck` first. One futex call per large message.
  void hand_over() HILO_EXCLUDES(wake_mutex_);

  // Whether the progress thread should drive the sockets now; consumes a hand-over.
  bool progress_is_mine();
  // The progress thread, when it is not its turn: sleeps until it is, `stopping` is set, or at
  // most `recheck` passed.
  void wait_for_turn(const std::atomic<bool>& stopping) HILO_EXCLUDES(wake_mutex_);

 private:
  std::atomic<int> pollers_{0};  // user threads inside poll_until
  // When a user thread last left poll_until with its message (steady clock, ns), and whether
  // one gave up or a transfer needs the progress thread now.
  std::atomic<std::int64_t> last_poll_done_{0};
  std::atomic<bool> takeover_{false};
  std::mutex wake_mutex_;
  std::condition_variable turn_changed_;
};

}  // namespace hilo::tcp
