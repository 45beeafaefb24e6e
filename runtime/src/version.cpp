#include "hilo/version.hpp"

namespace hilo {

// Expanded when the library is compiled: this is the library's version, whatever headers the
// caller was compiled against.
std::string_view version() noexcept {
  return HILO_VERSION_STRING;
}

}  // namespace hilo
