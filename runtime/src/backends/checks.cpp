#include "backends/checks.hpp"

#include <cstdlib>
#include <string_view>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

Checks checks_from_environment() {
  const char* text = std::getenv("HILO_CHECK");
  const std::string_view value = text ? text : "";
  Checks checks;
  if (value.empty() || value == "none") return checks;
  if (value == "collectives") {
    checks.collectives = true;
    return checks;
  }
  throw_error<Error>("hilo: HILO_CHECK is '", value,
                     "'; use collectives (or none, the default, for no check)");
}

}  // namespace hilo::detail
