// Private helper for the ipc layer: the text of an errno value for error messages.
#pragma once

#include <string>
#include <system_error>

namespace hilo::ipc::detail {

// "No such file or directory (errno 2)": the words for the user, the number for searching.
inline std::string errno_text(int error_number) {
  return std::system_category().message(error_number) + " (errno " + std::to_string(error_number) +
         ")";
}

}  // namespace hilo::ipc::detail
