// The handshake: the first bytes each side of a rank-to-rank connection sends.
//
//   u32 magic "HLHS" (0x484c4853), u16 protocol version, u16 token length (1..256), the job
//   token, i32 the sender's world rank, i32 the world size             (little-endian)
//
// The connecting rank sends its hello first; the accepting rank checks it and answers with its
// own, which the connecting rank checks in turn (so both sides prove they hold the token, and a
// stale port now owned by another job's rank is not mistaken for the peer). A hello that fails
// any check (wrong magic: garbage or not hilo; wrong version; wrong token; wrong job size; a rank
// out of range, not expected on this side, or already connected) makes the connection close
// without an answer. Nothing from such a connection is ever delivered.
//
// The token travels in clear: it keeps out stray and misdirected connections (another job, a
// port scanner, a test client), not an eavesdropper on the cluster network.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hilo::tcp {

inline constexpr std::uint32_t hello_magic = 0x484c4853;  // "HLHS"
inline constexpr std::size_t max_token_length = 256;
inline constexpr std::size_t max_hello_size = 4 + 2 + 2 + max_token_length + 4 + 4;

struct Hello {
  std::uint16_t version = 0;
  std::string token;
  int rank = -1;
  int size = 0;
};

std::string encode_hello(std::string_view token, int rank, int size);

// What the first `available` bytes of a connection say.
struct HelloParse {
  enum class Result { need_more, complete, malformed } result = Result::need_more;
  Hello hello;               // when complete
  std::size_t consumed = 0;  // when complete: the hello's length
  std::string why;           // when malformed
};
HelloParse parse_hello(const char* bytes, std::size_t available);

// How many more bytes complete the hello whose first `available` bytes are given (at least 1
// while incomplete, 0 once complete). A reader asks for exactly these, so it never swallows the
// first frames a peer sends right after its hello.
std::size_t hello_bytes_missing(const char* bytes, std::size_t available);

// Why `hello` is not acceptable from a peer of this job, or nullopt when it is. The rank rules
// (who may connect to whom, duplicates) are the caller's, which knows the connection state.
std::optional<std::string> hello_problem(const Hello& hello, std::string_view token, int size);

}  // namespace hilo::tcp
