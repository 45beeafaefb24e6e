#include "backends/tcp/progress_turn.hpp"

namespace hilo::tcp {

using Clock = std::chrono::steady_clock;

void ProgressTurn::poller_leaves(bool gave_up) {
  if (!gave_up) last_poll_done_.store(Clock::now().time_since_epoch().count());
  if (pollers_.fetch_sub(1) == 1 && gave_up) {
    takeover_.store(true);
    std::lock_guard lock(wake_mutex_);
    turn_changed_.notify_all();
  }
}

void ProgressTurn::hand_over() {
  takeover_.store(true);
  std::lock_guard lock(wake_mutex_);
  turn_changed_.notify_all();
}

bool ProgressTurn::progress_is_mine() {
  if (pollers_.load() > 0) return false;
  if (takeover_.exchange(false)) return true;
  const auto since = Clock::now().time_since_epoch() - Clock::duration(last_poll_done_.load());
  return since >= recheck;
}

void ProgressTurn::wait_for_turn(const std::atomic<bool>& stopping) {
  std::unique_lock lock(wake_mutex_);
  turn_changed_.wait_for(lock, recheck, [&] { return stopping.load() || progress_is_mine(); });
}

}  // namespace hilo::tcp
