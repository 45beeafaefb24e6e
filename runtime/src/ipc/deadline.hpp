// Private helper for the ipc layer: absolute CLOCK_MONOTONIC deadlines for the *_clock* calls.
#pragma once

#include <ctime>

namespace hilo::ipc::detail {

// Now + `nanoseconds` on CLOCK_MONOTONIC, so that a change of the wall clock neither shortens
// nor stretches a timed wait. Very long waits are capped at about a century.
inline timespec monotonic_deadline_after(long long nanoseconds) {
  constexpr long long kBillion = 1'000'000'000;
  constexpr long long kCenturyInSeconds = 100LL * 365 * 24 * 3600;
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  long long seconds = nanoseconds / kBillion;
  if (seconds > kCenturyInSeconds) seconds = kCenturyInSeconds;
  long long fraction = deadline.tv_nsec + nanoseconds % kBillion;
  deadline.tv_sec += static_cast<time_t>(seconds + fraction / kBillion);
  deadline.tv_nsec = static_cast<long>(fraction % kBillion);
  return deadline;
}

}  // namespace hilo::ipc::detail
