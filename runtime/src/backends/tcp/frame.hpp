// The frame: what travels on a connection between two ranks once the handshake is done.
//
//   offset size  field
//        0    4  magic "HLFM" (0x484c464d)
//        4    2  protocol version (1)
//        6    1  DataType kind
//        7    1  flags: 1 = goodbye (the sender is finishing cleanly; nothing follows)
//        8    4  DataType element size
//       12    4  source: the sender's rank in the communicator
//       16    4  tag (negative tags are hilo's internal traffic)
//       20    4  reserved, 0
//       24    8  communicator id (the context number every member derived the same way)
//       32    8  payload length in bytes
//       40       payload
// All integers little-endian. The header is fixed so a reader knows how much to read before it
// knows anything else; the payload goes straight into the posted receive's buffer.
//
// decode_frame_header() checks every field before anyone acts on it: a wrong magic or version,
// an unknown kind or flag, an element size of 0 or over 1 MiB, a negative source, a non-zero
// reserved field, or a length above `max_payload` is a hilo::Error. The limit is what stops a
// corrupted or hostile length (2^62) from becoming an allocation of terabytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "hilo/comm/types.hpp"

namespace hilo::tcp {

inline constexpr std::uint32_t frame_magic = 0x484c464d;  // "HLFM"
inline constexpr std::uint16_t protocol_version = 1;
inline constexpr std::size_t frame_header_size = 40;
inline constexpr std::uint8_t frame_flag_goodbye = 1;

struct FrameHeader {
  std::uint64_t context = 0;
  int source = 0;
  int tag = 0;
  DataType type;
  std::uint64_t length = 0;
  std::uint8_t flags = 0;
};

using EncodedHeader = std::array<std::byte, frame_header_size>;

EncodedHeader encode_frame_header(const FrameHeader& header);

// Throws hilo::Error saying which field is wrong (the caller adds who sent it).
FrameHeader decode_frame_header(const std::byte* bytes, std::uint64_t max_payload);

// The largest payload a rank accepts: 2^40 bytes (1 TiB), or this machine's memory if smaller;
// a message bigger than memory could not be received anyway.
std::uint64_t default_max_payload();

}  // namespace hilo::tcp
