// The argument checks and error messages of hilo::Semaphore and hilo::BoundedSemaphore; the
// acquire and release paths themselves are inline in the header.
#include "hilo/sync/semaphore.hpp"

#include <stdexcept>
#include <string>

#include "hilo/errors.hpp"

namespace hilo::detail {

std::uint32_t checked_initial_count(const char* who, std::ptrdiff_t initial,
                                    std::ptrdiff_t minimum) {
  if (initial < minimum || initial > SemaphoreBase::max()) {
    throw std::invalid_argument(std::string(who) + ": initial count " + std::to_string(initial) +
                                " is out of range; it must be between " + std::to_string(minimum) +
                                " and " + std::to_string(SemaphoreBase::max()));
  }
  return static_cast<std::uint32_t>(initial);
}

void throw_invalid_update(const char* who, std::ptrdiff_t update) {
  throw std::invalid_argument(std::string(who) + ": release(" + std::to_string(update) +
                              ") is invalid; release at least 1 unit and at most " +
                              std::to_string(SemaphoreBase::max()));
}

void throw_past_maximum(std::ptrdiff_t update, std::uint32_t before) {
  throw std::invalid_argument("hilo::Semaphore: release(" + std::to_string(update) +
                              ") would raise the count from " + std::to_string(before) +
                              " past the maximum " + std::to_string(SemaphoreBase::max()) +
                              "; nothing was released");
}

void throw_above_initial(std::ptrdiff_t update, std::uint32_t before, std::uint32_t initial) {
  throw Error("BoundedSemaphore: release(" + std::to_string(update) +
              ") would raise the count to " + std::to_string(before + update) +
              ", above its initial value " + std::to_string(initial) +
              "; was it released more times than acquired? Nothing was released");
}

}  // namespace hilo::detail
