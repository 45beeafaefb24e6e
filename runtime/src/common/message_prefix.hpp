// A hilo message quoted inside another one, or printed under another program's own prefix
// ("hilorun: "), without the "hilo: " it starts with (errors.hpp: every hilo message starts so).
#pragma once

#include <string_view>

namespace hilo::common {

inline std::string_view without_hilo_prefix(std::string_view message) {
  constexpr std::string_view ours = "hilo: ";
  if (message.starts_with(ours)) message.remove_prefix(ours.size());
  return message;
}

}  // namespace hilo::common
