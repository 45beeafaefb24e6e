// The rendezvous wire format (rendezvous.hpp describes it) as both ends read and write it, and
// the deadlines both ends wait with. Internal to the rendezvous' server and client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/deadline.hpp"
#include "common/same_token.hpp"
#include "common/system_error.hpp"
#include "common/unique_fd.hpp"
#include "launch/rendezvous.hpp"
#include "launch/wire.hpp"

namespace hilo::launch::rendezvous_wire {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t magic = 0x484c5256;  // "HLRV"
constexpr std::uint16_t version = 1;
constexpr std::size_t max_token = 256;
constexpr std::size_t max_host = 255;
constexpr std::size_t max_ip = 64;
constexpr std::size_t max_message = 4096;
// The largest well-formed registration: a client that sends more before its answer is wrong.
constexpr std::size_t max_registration =
    4 + 2 + 2 + max_token + 4 + 4 + 2 + max_host + 2 + max_ip + 2;
// Unregistered connections kept open at once; more are closed at once (a flood, not a job).
constexpr std::size_t max_pending_connections = 1024;

enum class ReplyStatus : std::uint8_t { ok = 0, error = 1, peer_lost = 2, timeout = 3 };

// A protocol violation by the peer: the connection is dropped and the reason logged.
struct Malformed {
  std::string why;
};

struct Registration {
  std::string token;
  std::int32_t size = 0;
  PeerAddress address;
};

// Parses a registration from the start of `bytes`: nullopt if incomplete so far, Malformed if
// what is there can never become a valid registration (checked as early as possible, so garbage
// is dropped at its first bytes).
std::optional<Registration> parse_registration(std::string_view bytes);

void put_reply_header(ByteWriter& out, ReplyStatus status);
std::string encode_table(const std::vector<PeerAddress>& table);
std::string encode_failure(ReplyStatus status, int rank, const std::string& host,
                           const std::string& message);

// Shared helpers (common/), used unqualified by the rendezvous code.
using common::deadline_after;
using common::errno_message;
using common::errno_text;
using common::poll_timeout;
using common::same_token;
using common::throw_errno;
using common::UniqueFd;

}  // namespace hilo::launch::rendezvous_wire
