#include "common/system_error.hpp"

#include <cerrno>
#include <cstring>

#include "hilo/errors.hpp"

namespace hilo::common {

std::string errno_message(const std::string& what, int err) {
  char buffer[256];
  // GNU strerror_r returns the message (maybe not in buffer); it is thread-safe, strerror is not.
  const char* text = ::strerror_r(err, buffer, sizeof buffer);
  return what + ": " + text;
}

void throw_errno(const std::string& what) {
  throw Error(errno_message(what, errno));
}

}  // namespace hilo::common
