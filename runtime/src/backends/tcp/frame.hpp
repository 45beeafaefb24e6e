// The frame: what travels on a connection between two ranks once the handshake is done.
//
//   offset size  field
//        0    4  magic "HLFM" (0x484c464d)
//        4    2  protocol version (2)
//        6    1  DataType kind
//        7    1  flags: 0 = a message; 1 = goodbye (the sender is finishing cleanly; nothing
//                follows); 2 = abort (the sender is failing; the payload, at most 4096 bytes,
//                says why, so the ranks it leaves behind can report the root cause).
//                Single copy (single_copy.hpp): 4 = offer (24-byte payload: pid, probe address,
//                probe value); 8 = ready-to-send (a message whose length is given but whose
//                payload stays with the sender: nothing follows the header); 16 = clear-to-send
//                (8-byte payload: where to write); 32 = copied (no payload)
//        8    4  DataType element size
//       12    4  source: the sender's rank in the communicator
//       16    4  tag (negative tags are hilo's internal traffic)
//       20    4  stamp: on a communicator's collective channel, the stamp of the blocking
//                collective the message belongs to (hilo::detail::collective_stamp: sequence
//                number's low 16 bits, operation, root/type/count; a nonblocking collective's
//                messages carry the last blocking one's, 0 before the first); always 0 on a
//                user channel and on every frame that is not a message (flags other than 0 and
//                ready-to-send). The receiver's Mailbox compares it with the receive's own
//                (comm/mailbox.hpp): a peer in another call is found from its next message.
//       24    8  communicator id (the context number every member derived the same way)
//       32    8  payload length in bytes
//       40       payload
// All integers little-endian. The header is fixed so a reader knows how much to read before it
// knows anything else; the payload goes straight into the posted receive's buffer.
//
// decode_frame_header() checks every field before anyone acts on it: a wrong magic or version,
// an unknown kind or flag, a goodbye or copied frame with a payload, an offer or clear-to-send of
// the wrong length, an abort reason over 4096 bytes, an element
// size of 0 or over 1 MiB, a negative source, a stamp on a frame that is not a message, or a
// length above `max_payload` is a hilo::Error. Whether a message's communicator is a collective
// channel is the engine's to know: it refuses a stamp on a user channel the same way
// (Engine::mailbox_for_frame), once this rank has made the communicator. The limit is what stops a
// corrupted or hostile length (2^62) from becoming an allocation of terabytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "hilo/comm/types.hpp"

namespace hilo::tcp {

inline constexpr std::uint32_t frame_magic = 0x484c464d;  // "HLFM"
inline constexpr std::uint16_t protocol_version = 2;
inline constexpr std::size_t frame_header_size = 40;
inline constexpr std::uint8_t frame_flag_goodbye = 1;
inline constexpr std::uint8_t frame_flag_abort = 2;
inline constexpr std::uint8_t frame_flag_offer = 4;
inline constexpr std::uint8_t frame_flag_ready_to_send = 8;
inline constexpr std::uint8_t frame_flag_clear_to_send = 16;
inline constexpr std::uint8_t frame_flag_copied = 32;
inline constexpr std::size_t max_abort_reason = 4096;

struct FrameHeader {
  std::uint64_t context = 0;
  int source = 0;
  int tag = 0;
  DataType type;
  std::uint64_t length = 0;
  std::uint8_t flags = 0;
  std::uint32_t stamp = 0;  // the collective call of a message on a collective channel, or 0
};

// How many payload bytes follow this header on the connection.
inline std::uint64_t wire_payload(const FrameHeader& header) {
  return header.flags == frame_flag_ready_to_send ? 0 : header.length;
}

using EncodedHeader = std::array<std::byte, frame_header_size>;

EncodedHeader encode_frame_header(const FrameHeader& header);

// Throws hilo::Error saying which field is wrong (the caller adds who sent it).
FrameHeader decode_frame_header(const std::byte* bytes, std::uint64_t max_payload);

// The largest payload a rank accepts: 2^40 bytes (1 TiB), or this machine's memory if smaller;
// a message bigger than memory could not be received anyway.
std::uint64_t default_max_payload();

}  // namespace hilo::tcp
