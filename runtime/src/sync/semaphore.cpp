// The argument checks and error messages of hilo::Semaphore and hilo::BoundedSemaphore; the
// acquire and release paths themselves are inline in the header.
#include "hilo/sync/semaphore.hpp"

#include <stdexcept>
#include <string>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

std::uint32_t checked_initial_count(const char* who, std::ptrdiff_t initial,
                                    std::ptrdiff_t minimum) {
  if (initial < minimum || initial > SemaphoreBase::max()) {
    throw_error<std::invalid_argument>("hilo: ", who, ": initial count ", initial,
                                       " is out of range; it must be between ", minimum, " and ",
                                       SemaphoreBase::max());
  }
  return static_cast<std::uint32_t>(initial);
}

void throw_invalid_update(const char* who, std::ptrdiff_t update) {
  throw_error<std::invalid_argument>("hilo: ", who, "::release: release(", update,
                                     ") is invalid; release at least 1 unit and at most ",
                                     SemaphoreBase::max());
}

// A hilo::Error, not std::invalid_argument: the update is fine on its own, it is the count it
// meets that makes it too large (as for BoundedSemaphore's limit below).
void throw_past_maximum(std::ptrdiff_t update, std::uint32_t before) {
  throw_error<Error>("hilo: Semaphore::release: release(", update, ") would raise the count from ",
                     before, " past the maximum ", SemaphoreBase::max(), "; nothing was released");
}

void throw_above_initial(std::ptrdiff_t update, std::uint32_t before, std::uint32_t initial) {
  throw_error<Error>("hilo: BoundedSemaphore::release: release(", update,
                     ") would raise the count to ", before + update, ", above its initial value ",
                     initial, "; was it released more times than acquired? Nothing was released");
}

}  // namespace hilo::detail
