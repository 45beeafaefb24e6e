#include "launch/job_token.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>

#include "common/system_error.hpp"

namespace hilo::launch {

std::string make_job_token() {
  std::array<std::uint8_t, job_token_bytes> random{};
  std::size_t filled = 0;
  while (filled < random.size()) {
    ssize_t got = ::getrandom(random.data() + filled, random.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      common::throw_errno("hilo: getrandom (making the job token)");
    }
    filled += static_cast<std::size_t>(got);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string token;
  token.reserve(2 * random.size());
  for (std::uint8_t byte : random) {
    token.push_back(hex[byte >> 4]);
    token.push_back(hex[byte & 0xf]);
  }
  return token;
}

bool looks_like_job_token(const std::string& token) {
  if (token.size() != 2 * job_token_bytes) return false;
  for (char c : token) {
    bool is_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!is_hex) return false;
  }
  return true;
}

}  // namespace hilo::launch
