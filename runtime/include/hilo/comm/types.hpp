/// \file
/// The small value types of the communication API: wildcards, Status, element types, time limits.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <source_location>
#include <string>
#include <type_traits>

namespace hilo {

/// Wildcard source for receives and probes, as MPI_ANY_SOURCE: a message from any rank.
inline constexpr int any_source = -1;
/// Wildcard tag for receives and probes, as MPI_ANY_TAG. User tags are >= 0; any_tag matches
/// every user tag and never hilo's internal traffic.
inline constexpr int any_tag = -1;

/// What a completed receive or a probe found (MPI_Status).
struct Status {
  int source = -1;        ///< The rank the message came from (useful after any_source).
  int tag = -1;           ///< The message's tag (useful after any_tag).
  std::size_t bytes = 0;  ///< Payload size on the wire, in bytes.
};

/// What the bytes of a message are. Built-in arithmetic types travel as themselves (the MPI
/// backend maps them to MPI datatypes so plain MPI programs can receive them); any other trivially
/// copyable type travels as its bytes; everything else travels as one serialized archive. The
/// local and tcp backends carry this in the frame and reject a receive that expects another type.
struct DataType {
  /// The family of the element type.
  enum class Kind : std::uint8_t {
    bytes,         ///< Plain bytes: a trivially copyable type that is not a built-in number.
    signed_int,    ///< A signed integer type.
    unsigned_int,  ///< An unsigned integer type.
    floating,      ///< float, double or long double.
    character,     ///< char.
    boolean,       ///< bool.
    serialized     ///< One archive of a serialized value.
  };
  Kind kind = Kind::bytes;  ///< The family of the element type.
  std::uint32_t size = 1;   ///< Bytes per element.

  /// Same kind and size.
  friend bool operator==(const DataType&, const DataType&) = default;
  /// For error messages: "int32", "float64", "24-byte struct", "serialized archive", ...
  std::string name() const;
};

/// The DataType of one element of type T (bool, char, signed or unsigned integer, floating point,
/// or plain bytes for any other type). Never throws; evaluated at compile time.
template <class T>
constexpr DataType data_type_of() {
  using K = DataType::Kind;
  using U = std::remove_cv_t<T>;
  constexpr auto size = static_cast<std::uint32_t>(sizeof(U));
  if constexpr (std::is_same_v<U, bool>)
    return {K::boolean, size};
  else if constexpr (std::is_same_v<U, char>)
    return {K::character, size};
  else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>)
    return {K::signed_int, size};
  else if constexpr (std::is_integral_v<U>)
    return {K::unsigned_int, size};
  else if constexpr (std::is_floating_point_v<U>)
    return {K::floating, size};
  else
    return {K::bytes, size};
}

/// The DataType of a message that holds one serialized archive.
inline constexpr DataType serialized_type{DataType::Kind::serialized, 1};

/// A point in time after which a blocking call gives up with hilo::Timeout. Backends receive it;
/// users pass a TimeLimit (hilo::within) instead.
struct Deadline {
  using Clock = std::chrono::steady_clock;          ///< Deadlines are on the monotonic clock.
  Clock::time_point at = Clock::time_point::max();  ///< max() means never.

  /// A deadline that never passes.
  static Deadline never() { return {}; }
  /// `d` from now; a limit too large to represent means never.
  static Deadline after(std::chrono::nanoseconds d) { return after(Clock::now(), d); }
  /// `d` after `start`; a limit too large to represent means never.
  static Deadline after(Clock::time_point start, std::chrono::nanoseconds d) {
    // Saturate: a huge limit means "never", not an overflowed time in the past.
    if (d >= Clock::time_point::max() - start) return never();
    return {start + d};
  }
  /// True for Deadline::never().
  bool is_never() const { return at == Clock::time_point::max(); }
  /// True once the deadline has passed (reads the clock unless it is never).
  bool expired() const { return !is_never() && Clock::now() >= at; }
};

/// A time limit passed as the last argument of a blocking call:
/// `world.recv<int>(0, 7, hilo::within(2s))`. A default-constructed TimeLimit (negative duration)
/// means "the communicator's default" (HILO_TIMEOUT, or Communicator::set_default_timeout).
struct TimeLimit {
  std::chrono::nanoseconds duration{-1};  ///< The limit; negative means the default.
};
/// The TimeLimit of `d`, for the last argument of a blocking call: `world.barrier(within(5s))`.
/// A call that runs out throws hilo::Timeout.
template <class Rep, class Period>
TimeLimit within(std::chrono::duration<Rep, Period> d) {
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(d)};
}

/// Where a blocking call was made: the defaulted last parameter of every blocking call
/// (`CallSite where = CallSite::current()`), filled in by the compiler, so a report of a hang
/// (hilo::Timeout's message, hilorun's) names the line of the caller. Callers never pass it.
using CallSite = std::source_location;

}  // namespace hilo
