#include "backends/tcp/handshake.hpp"

#include <algorithm>
#include <bit>

#include "backends/tcp/frame.hpp"
#include "common/byte_order.hpp"
#include "common/same_token.hpp"

namespace hilo::tcp {

namespace {

constexpr auto order = std::endian::little;

}  // namespace

std::string encode_hello(std::string_view token, int rank, int size) {
  std::string out;
  common::append_int<order>(out, hello_magic);
  common::append_int<order>(out, protocol_version);
  common::append_int<order>(out, static_cast<std::uint16_t>(token.size()));
  out.append(token);
  common::append_int<order>(out, static_cast<std::uint32_t>(rank));
  common::append_int<order>(out, static_cast<std::uint32_t>(size));
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
  if (available >= 4 && common::read_int<order, std::uint32_t>(bytes) != hello_magic)
    return malformed("it does not start with a hilo handshake (garbage, or not a hilo rank)");
  if (available < 8) return p;
  p.hello.version = static_cast<std::uint16_t>(common::read_int<order, std::uint16_t>(bytes + 4));
  if (p.hello.version != protocol_version)
    return malformed("protocol version " + std::to_string(p.hello.version) + ", this hilo speaks " +
                     std::to_string(protocol_version));
  std::size_t token_length = common::read_int<order, std::uint16_t>(bytes + 6);
  if (token_length == 0 || token_length > max_token_length)
    return malformed("a token length of " + std::to_string(token_length) + " bytes");
  std::size_t total = 8 + token_length + 8;
  if (available < total) return p;
  p.hello.token.assign(bytes + 8, token_length);
  p.hello.rank =
      static_cast<std::int32_t>(common::read_int<order, std::uint32_t>(bytes + 8 + token_length));
  p.hello.size =
      static_cast<std::int32_t>(common::read_int<order, std::uint32_t>(bytes + 12 + token_length));
  p.consumed = total;
  p.result = HelloParse::Result::complete;
  return p;
}

std::size_t hello_bytes_missing(const char* bytes, std::size_t available) {
  if (available < 8) return 8 - available;
  std::size_t total =
      8 +
      std::min<std::size_t>(common::read_int<order, std::uint16_t>(bytes + 6), max_token_length) +
      8;
  return total > available ? total - available : 0;
}

std::optional<std::string> hello_problem(const Hello& hello, std::string_view token, int size) {
  if (!common::same_token(hello.token, token))
    return "a wrong job token (another job, or not hilo)";
  if (hello.size != size)
    return "a job of " + std::to_string(hello.size) + " ranks, this job has " +
           std::to_string(size);
  if (hello.rank < 0 || hello.rank >= size)
    return "rank " + std::to_string(hello.rank) + ", out of range 0.." + std::to_string(size - 1);
  return std::nullopt;
}

}  // namespace hilo::tcp
