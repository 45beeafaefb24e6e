/// \file
/// The one way hilo builds an error message and throws it (errors.hpp says which exception a
/// failure raises). Internal: used by every layer, and by the public headers' templates.
#pragma once

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>

namespace hilo::detail {

/// The start of a message about an operation on a rank: "hilo: <operation> on rank <rank>: ".
/// Every error raised by a communication call begins so, which tells the user at once which call
/// on which rank failed (several ranks often write to one terminal).
struct OnRank {
  std::string_view operation;
  int rank;
};

// Appends one part of a message. Text goes as it is, numbers in decimal (a char is a character,
// a bool "true"/"false"). Plain appends, not an ostringstream: <sstream> would be compiled into
// every file that includes communicator.hpp, for messages that are only built when a call fails.
inline void append_part(std::string& message, std::string_view text) {
  message += text;
}
// Without this a string literal would pick the bool overload (a standard conversion beats the
// user-defined one to string_view).
inline void append_part(std::string& message, const char* text) {
  message += text;
}
inline void append_part(std::string& message, char c) {
  message += c;
}
inline void append_part(std::string& message, bool b) {
  message += b ? "true" : "false";
}
template <class Number>
requires(std::integral<Number> || std::floating_point<Number>) &&
    (!std::same_as<Number, char> &&
     !std::same_as<Number, bool>)void append_part(std::string& message, Number n) {
  message += std::to_string(n);
}
inline void append_part(std::string& message, const OnRank& where) {
  message += "hilo: ";
  message += where.operation;
  message += " on rank ";
  message += std::to_string(where.rank);
  message += ": ";
}

/// The parts (text, numbers, an OnRank) joined into one message, in order.
template <class... Parts>
std::string make_message(const Parts&... parts) {
  std::string message;
  (append_part(message, parts), ...);
  return message;
}

/// Throws an `E` (std::invalid_argument, hilo::Error, hilo::Timeout...) whose message is
/// make_message(parts...). Out of line from the caller's point of view: the check stays a compare
/// and a call, the message is built only when it fails.
template <class E, class... Parts>
[[noreturn]] void throw_error(const Parts&... parts) {
  throw E(make_message(parts...));
}

/// Called in a catch block: rethrows the exception being handled, a hilo::Error, as the same
/// class (PeerLost keeps its rank and host) with its message starting "hilo: <operation> on rank
/// <rank>: " (the inner message's own "hilo: " dropped). A message that already starts so is
/// rethrown as it is; anything that is not a hilo::Error (std::invalid_argument, bad_alloc)
/// passes unchanged. This is how a call names itself in the errors of the layers below it.
[[noreturn]] void rethrow_on_rank(const OnRank& where);

}  // namespace hilo::detail
