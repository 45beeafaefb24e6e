#include "backends/tcp/frame.hpp"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "backends/tcp/single_copy.hpp"
#include "common/byte_order.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

namespace {

constexpr std::uint32_t max_element_size = 1u << 20;

}  // namespace

EncodedHeader encode_frame_header(const FrameHeader& h) {
  EncodedHeader out{};
  common::put_le<std::uint32_t>(&out[0], frame_magic);
  common::put_le<std::uint16_t>(&out[4], protocol_version);
  common::put_le<std::uint8_t>(&out[6], static_cast<std::uint8_t>(h.type.kind));
  common::put_le<std::uint8_t>(&out[7], h.flags);
  common::put_le<std::uint32_t>(&out[8], h.type.size);
  common::put_le<std::uint32_t>(&out[12], static_cast<std::uint32_t>(h.source));
  common::put_le<std::uint32_t>(&out[16], static_cast<std::uint32_t>(h.tag));
  common::put_le<std::uint32_t>(&out[20], h.stamp);
  common::put_le<std::uint64_t>(&out[24], h.context);
  common::put_le<std::uint64_t>(&out[32], h.length);
  return out;
}

FrameHeader decode_frame_header(const std::byte* bytes, std::uint64_t max_payload) {
  // "hilo: malformed frame header: " and the parts; the engine names the connection around it.
  auto bad = [](const auto&... parts) {
    return Error(detail::make_message("hilo: malformed frame header: ", parts...));
  };
  if (common::get_le<std::uint32_t>(bytes) != frame_magic)
    throw bad("wrong magic number (not a hilo frame)");
  if (auto v = common::get_le<std::uint16_t>(bytes + 4); v != protocol_version)
    throw bad("protocol version ", v, ", this hilo speaks ", protocol_version);
  FrameHeader h;
  auto kind = common::get_le<std::uint8_t>(bytes + 6);
  if (kind > static_cast<std::uint8_t>(DataType::Kind::serialized))
    throw bad("unknown data type kind ", static_cast<unsigned>(kind));
  h.type.kind = static_cast<DataType::Kind>(kind);
  h.flags = common::get_le<std::uint8_t>(bytes + 7);
  switch (h.flags) {
    case 0:
    case frame_flag_goodbye:
    case frame_flag_abort:
    case frame_flag_offer:
    case frame_flag_ready_to_send:
    case frame_flag_clear_to_send:
    case frame_flag_copied:
      break;
    default:
      throw bad("unknown flags ", static_cast<unsigned>(h.flags));
  }
  h.type.size = common::get_le<std::uint32_t>(bytes + 8);
  if (h.type.size == 0 || h.type.size > max_element_size)
    throw bad("element size ", h.type.size, " is not 1..", max_element_size);
  h.source = common::get_le<std::int32_t>(bytes + 12);
  if (h.source < 0) throw bad("negative source rank ", h.source);
  h.tag = common::get_le<std::int32_t>(bytes + 16);
  h.stamp = common::get_le<std::uint32_t>(bytes + 20);
  if (h.stamp != 0 && h.flags != 0 && h.flags != frame_flag_ready_to_send)
    throw bad("a collective stamp (", h.stamp, ") on a frame that is not a message (flags ",
              static_cast<unsigned>(h.flags), ")");
  h.context = common::get_le<std::uint64_t>(bytes + 24);
  h.length = common::get_le<std::uint64_t>(bytes + 32);
  if (h.length > max_payload)
    throw bad("payload length ", h.length, " bytes exceeds the limit of ", max_payload, " bytes");
  if (h.flags == frame_flag_goodbye && h.length != 0) throw bad("a goodbye frame with a payload");
  if (h.flags == frame_flag_copied && h.length != 0) throw bad("a copied frame with a payload");
  if (h.flags == frame_flag_offer && h.length != offer_size)
    throw bad("a single-copy offer of ", h.length, " bytes, not ", offer_size);
  if (h.flags == frame_flag_clear_to_send && h.length != address_size)
    throw bad("a clear-to-send of ", h.length, " bytes, not ", address_size);
  if (h.flags == frame_flag_abort && h.length > max_abort_reason)
    throw bad("an abort reason of ", h.length, " bytes");
  return h;
}

std::uint64_t default_max_payload() {
  const std::uint64_t cap = std::uint64_t{1} << 40;
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return cap;
  return std::min(cap, static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size));
}

}  // namespace hilo::tcp
