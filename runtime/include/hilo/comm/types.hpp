// The small value types of the communication API: wildcards, Status, element types, time limits.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace hilo {

// Wildcards for receives and probes, as MPI_ANY_SOURCE / MPI_ANY_TAG. User tags are >= 0;
// any_tag matches every user tag and never hilo's internal traffic.
inline constexpr int any_source = -1;
inline constexpr int any_tag = -1;

// What a completed receive or a probe found.
struct Status {
  int source = -1;
  int tag = -1;
  std::size_t bytes = 0;  // payload size on the wire
};

// What the bytes of a message are. Built-in arithmetic types travel as themselves (the MPI
// backend maps them to MPI datatypes so plain MPI programs can receive them); any other trivially
// copyable type travels as its bytes; everything else travels as one serialized archive. The
// local and tcp backends carry this in the frame and reject a receive that expects another type.
struct DataType {
  enum class Kind : std::uint8_t {
    bytes,
    signed_int,
    unsigned_int,
    floating,
    character,
    boolean,
    serialized
  };
  Kind kind = Kind::bytes;
  std::uint32_t size = 1;  // bytes per element

  friend bool operator==(const DataType&, const DataType&) = default;
  std::string name() const;  // "int32", "float64", "24-byte struct", "serialized archive", ...
};

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

inline constexpr DataType serialized_type{DataType::Kind::serialized, 1};

// A point in time after which a blocking call gives up with hilo::Timeout.
struct Deadline {
  using Clock = std::chrono::steady_clock;
  Clock::time_point at = Clock::time_point::max();

  static Deadline never() { return {}; }
  static Deadline after(std::chrono::nanoseconds d) { return after(Clock::now(), d); }
  static Deadline after(Clock::time_point start, std::chrono::nanoseconds d) {
    // Saturate: a huge limit means "never", not an overflowed time in the past.
    if (d >= Clock::time_point::max() - start) return never();
    return {start + d};
  }
  bool is_never() const { return at == Clock::time_point::max(); }
  bool expired() const { return !is_never() && Clock::now() >= at; }
};

// A time limit passed as the last argument of a blocking call: world.recv<int>(0, 7, within(2s)).
// A default-constructed TimeLimit (negative duration) means "the communicator's default".
struct TimeLimit {
  std::chrono::nanoseconds duration{-1};
};
template <class Rep, class Period>
TimeLimit within(std::chrono::duration<Rep, Period> d) {
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(d)};
}

}  // namespace hilo
