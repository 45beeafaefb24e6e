// Deadlines on the monotonic clock for code that waits in poll(): the launch layer, the tcp
// backend's setup and hilorun. A deadline of time_point::max() means "never".
#pragma once

#include <algorithm>
#include <chrono>
#include <climits>

namespace hilo::common {

using SteadyClock = std::chrono::steady_clock;

// Now + `timeout`; a timeout too long to represent saturates at time_point::max() (never),
// instead of overflowing into the past.
inline SteadyClock::time_point deadline_after(std::chrono::milliseconds timeout) {
  const auto now = SteadyClock::now();
  if (timeout >=
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::time_point::max() - now)) {
    return SteadyClock::time_point::max();
  }
  return now + timeout;
}

// The timeout argument of poll() for `deadline`: -1 (wait forever) for time_point::max(), 0 once
// it has passed, otherwise the milliseconds left rounded up (so poll does not wake just before
// the deadline and spin), capped so that it fits an int.
inline int poll_timeout(SteadyClock::time_point deadline) {
  if (deadline == SteadyClock::time_point::max()) return -1;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
}

}  // namespace hilo::common
