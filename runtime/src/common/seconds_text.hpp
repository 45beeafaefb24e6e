// How error messages print a duration: "12.345 s" (seconds with millisecond precision), the same
// in every backend's timeout messages.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace hilo::common {

inline std::string seconds_text(std::chrono::duration<double> d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f s", d.count());
  return text;
}

}  // namespace hilo::common
