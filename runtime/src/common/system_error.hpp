// The text of an errno value for error messages, and a hilo::Error built from it. Every layer
// (ipc, launch, the tcp backend, hilorun) words a failed system call the same way.
#pragma once

#include <string>

namespace hilo::common {

// "No such file or directory (errno 2)": the words for the user, the number for searching.
std::string errno_text(int err);

// "what: errno_text(err)"; `err` is an errno value.
std::string errno_message(const std::string& what, int err);

// Throws hilo::Error(errno_message(what, errno)).
[[noreturn]] void throw_errno(const std::string& what);

}  // namespace hilo::common
