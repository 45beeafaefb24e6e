// Comparing a secret (the job token) with what a peer sent, for the rendezvous and the tcp
// handshake alike.
#pragma once

#include <cstddef>
#include <string_view>

namespace hilo::common {

// Compares without stopping at the first difference, so the time taken does not tell a guesser
// how much of the token was right. (The length is not secret: every job token has the same.)
inline bool same_token(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

}  // namespace hilo::common
