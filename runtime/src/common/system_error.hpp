// Turning errno into a hilo::Error whose message says which call failed and on what.
#pragma once

#include <string>

namespace hilo::common {

// "what: strerror(err)"; `err` is an errno value.
std::string errno_message(const std::string& what, int err);

// Throws hilo::Error(errno_message(what, errno)).
[[noreturn]] void throw_errno(const std::string& what);

}  // namespace hilo::common
