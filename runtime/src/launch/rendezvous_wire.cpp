#include "launch/rendezvous_wire.hpp"

#include <algorithm>
#include <climits>

namespace hilo::launch {
namespace rendezvous_wire {

std::optional<Registration> parse_registration(std::string_view bytes) {
  ByteReader in(bytes);
  std::uint32_t got_magic = 0;
  std::uint16_t got_version = 0, length = 0, port = 0;
  if (!in.u32(got_magic)) return std::nullopt;
  if (got_magic != magic) throw Malformed{"not a hilo rendezvous registration (bad magic)"};
  if (!in.u16(got_version)) return std::nullopt;
  if (got_version != version) {
    throw Malformed{"protocol version " + std::to_string(got_version) + ", expected " +
                    std::to_string(version)};
  }
  Registration r;
  if (!in.u16(length)) return std::nullopt;
  if (length == 0 || length > max_token) {
    throw Malformed{"token length " + std::to_string(length) + " out of range"};
  }
  if (!in.bytes(length, r.token)) return std::nullopt;
  if (!in.i32(r.address.rank) || !in.i32(r.size)) return std::nullopt;
  if (!in.u16(length)) return std::nullopt;
  if (length > max_host) throw Malformed{"host length " + std::to_string(length) + " too long"};
  if (!in.bytes(length, r.address.host)) return std::nullopt;
  if (!in.u16(length)) return std::nullopt;
  if (length == 0 || length > max_ip) {
    throw Malformed{"ip length " + std::to_string(length) + " out of range"};
  }
  if (!in.bytes(length, r.address.ip)) return std::nullopt;
  if (!in.u16(port)) return std::nullopt;
  r.address.port = port;
  if (in.consumed() != bytes.size()) throw Malformed{"bytes after the registration"};
  return r;
}

void put_reply_header(ByteWriter& out, ReplyStatus status) {
  out.u32(magic);
  out.u16(version);
  out.u8(static_cast<std::uint8_t>(status));
}

std::string encode_table(const std::vector<PeerAddress>& table) {
  ByteWriter out;
  put_reply_header(out, ReplyStatus::ok);
  out.u32(static_cast<std::uint32_t>(table.size()));
  for (const PeerAddress& peer : table) {
    out.i32(peer.rank);
    out.str16(peer.host);
    out.str16(peer.ip);
    out.u16(peer.port);
  }
  return out.take();
}

std::string encode_failure(ReplyStatus status, int rank, const std::string& host,
                           const std::string& message) {
  ByteWriter out;
  put_reply_header(out, status);
  out.i32(rank);
  out.str16(host.substr(0, max_host));
  out.str16(message.substr(0, max_message));
  return out.take();
}

}  // namespace rendezvous_wire

std::string encode_registration(const std::string& token, const PeerAddress& me, int size) {
  ByteWriter out;
  out.u32(rendezvous_wire::magic);
  out.u16(rendezvous_wire::version);
  out.str16(token);
  out.i32(me.rank);
  out.i32(size);
  out.str16(me.host);
  out.str16(me.ip);
  out.u16(me.port);
  return out.take();
}

}  // namespace hilo::launch
