#include <stdexcept>

#include "hilo/detail/error_message.hpp"
#include "hilo/testing.hpp"

namespace hilo::testing {

FaultPlan& FaultPlan::kill(int rank, std::uint64_t nth_call) {
  if (rank < 0)
    detail::throw_error<std::invalid_argument>("hilo: FaultPlan::kill: rank ", rank,
                                               " is negative; ranks are >= 0");
  if (nth_call < 1)
    detail::throw_error<std::invalid_argument>(
        "hilo: FaultPlan::kill: nth_call is 0; calls are counted from 1 (the first call is 1)");
  kills_[rank] = nth_call;
  return *this;
}

FaultPlan& FaultPlan::delay(std::chrono::nanoseconds max) {
  if (max.count() < 0)
    detail::throw_error<std::invalid_argument>("hilo: FaultPlan::delay: the largest delay is ",
                                               max.count(), " ns; give one >= 0");
  max_delay_ = max;
  return *this;
}

FaultPlan& FaultPlan::reorder(bool on) {
  reorder_ = on;
  return *this;
}

FaultPlan& FaultPlan::seed(std::uint64_t n) {
  seed_ = n;
  return *this;
}

}  // namespace hilo::testing
