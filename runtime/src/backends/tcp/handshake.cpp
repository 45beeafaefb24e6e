#include "backends/tcp/handshake.hpp"

#include <algorithm>

#include "backends/tcp/frame.hpp"

namespace hilo::tcp {

namespace {

void put(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

std::uint64_t get(const char* at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(at[i])) << (8 * i);
  return value;
}

// Compares without stopping at the first difference, so timing does not leak the token.
bool same_token(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

}  // namespace

std::string encode_hello(std::string_view token, int rank, int size) {
  std::string out;
  put(out, hello_magic, 4);
  put(out, protocol_version, 2);
  put(out, token.size(), 2);
  out.append(token);
  put(out, static_cast<std::uint32_t>(rank), 4);
  put(out, static_cast<std::uint32_t>(size), 4);
  return out;
}

HelloParse parse_hello(const char* bytes, std::size_t available) {
  HelloParse p;
  auto malformed = [&](std::string why) {
    p.result = HelloParse::Result::malformed;
    p.why = std::move(why);
    return p;
  };
  // Check each field as soon as its bytes are in, so garbage is rejected without waiting.
  if (available >= 4 && get(bytes, 4) != hello_magic)
    return malformed("it does not start with a hilo handshake (garbage, or not a hilo rank)");
  if (available < 8) return p;
  p.hello.version = static_cast<std::uint16_t>(get(bytes + 4, 2));
  if (p.hello.version != protocol_version)
    return malformed("protocol version " + std::to_string(p.hello.version) +
                     ", this hilo speaks " + std::to_string(protocol_version));
  std::size_t token_length = get(bytes + 6, 2);
  if (token_length == 0 || token_length > max_token_length)
    return malformed("a token length of " + std::to_string(token_length) + " bytes");
  std::size_t total = 8 + token_length + 8;
  if (available < total) return p;
  p.hello.token.assign(bytes + 8, token_length);
  p.hello.rank = static_cast<std::int32_t>(get(bytes + 8 + token_length, 4));
  p.hello.size = static_cast<std::int32_t>(get(bytes + 12 + token_length, 4));
  p.consumed = total;
  p.result = HelloParse::Result::complete;
  return p;
}

std::size_t hello_bytes_missing(const char* bytes, std::size_t available) {
  if (available < 8) return 8 - available;
  std::size_t total = 8 + std::min<std::size_t>(get(bytes + 6, 2), max_token_length) + 8;
  return total > available ? total - available : 0;
}

std::optional<std::string> hello_problem(const Hello& hello, std::string_view token, int size) {
  if (!same_token(hello.token, token)) return "a wrong job token (another job, or not hilo)";
  if (hello.size != size)
    return "a job of " + std::to_string(hello.size) + " ranks, this job has " +
           std::to_string(size);
  if (hello.rank < 0 || hello.rank >= size)
    return "rank " + std::to_string(hello.rank) + ", out of range 0.." + std::to_string(size - 1);
  return std::nullopt;
}

}  // namespace hilo::tcp
