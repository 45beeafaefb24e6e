// The collectives' algorithm overrides (HILO_ALLREDUCE, HILO_ALLTOALL, HILO_REDUCE,
// HILO_ALLGATHER, HILO_SCAN): a variable that names one of an enumeration's algorithms, read the
// same way for every collective.
#pragma once

#include <array>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

// The algorithm `variable` names among `all` (each spelled as name_of(algorithm) says), all[0]
// (automatic) when it is unset or empty; hilo::Error for any other value, listing the names.
template <class Algorithm, std::size_t N>
Algorithm algorithm_from_environment(const char* variable, const char* collective,
                                     const std::array<Algorithm, N>& all) {
  const char* text = std::getenv(variable);
  if (text == nullptr || *text == '\0') return all[0];
  std::string names;
  for (Algorithm algorithm : all) {
    if (name_of(algorithm) == text) return algorithm;
    names.append(names.empty() ? "" : ", ").append(name_of(algorithm));
  }
  const bool vowel = std::string_view("aeiou").find(collective[0]) != std::string_view::npos;
  throw_error<Error>("hilo: ", variable, "='", text, "' is not ", vowel ? "an " : "a ", collective,
                     " algorithm; use one of ", names);
}

}  // namespace hilo::detail
