#include "common/system_error.hpp"

#include <cerrno>
#include <system_error>

#include "hilo/errors.hpp"

namespace hilo::common {

// std::system_category().message is thread-safe (strerror is not).
std::string errno_text(int err) {
  return std::system_category().message(err) + " (errno " + std::to_string(err) + ")";
}

std::string errno_message(const std::string& what, int err) {
  return what + ": " + errno_text(err);
}

void throw_errno(const std::string& what) {
  throw Error(errno_message(what, errno));
}

}  // namespace hilo::common
