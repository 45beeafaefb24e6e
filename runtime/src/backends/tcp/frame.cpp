#include "backends/tcp/frame.hpp"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "backends/tcp/single_copy.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

namespace {

template <class T>
void put(std::byte* at, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    at[i] = static_cast<std::byte>(static_cast<std::uint64_t>(value) >> (8 * i));
}

template <class T>
T get(const std::byte* at) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<std::uint64_t>(at[i]) << (8 * i);
  return static_cast<T>(value);
}

constexpr std::uint32_t max_element_size = 1u << 20;

}  // namespace

EncodedHeader encode_frame_header(const FrameHeader& h) {
  EncodedHeader out{};
  put<std::uint32_t>(&out[0], frame_magic);
  put<std::uint16_t>(&out[4], protocol_version);
  put<std::uint8_t>(&out[6], static_cast<std::uint8_t>(h.type.kind));
  put<std::uint8_t>(&out[7], h.flags);
  put<std::uint32_t>(&out[8], h.type.size);
  put<std::uint32_t>(&out[12], static_cast<std::uint32_t>(h.source));
  put<std::uint32_t>(&out[16], static_cast<std::uint32_t>(h.tag));
  put<std::uint32_t>(&out[20], 0);
  put<std::uint64_t>(&out[24], h.context);
  put<std::uint64_t>(&out[32], h.length);
  return out;
}

FrameHeader decode_frame_header(const std::byte* bytes, std::uint64_t max_payload) {
  auto bad = [](const std::string& why) { return Error("malformed frame header: " + why); };
  if (get<std::uint32_t>(bytes) != frame_magic) throw bad("wrong magic number (not a hilo frame)");
  if (auto v = get<std::uint16_t>(bytes + 4); v != protocol_version)
    throw bad("protocol version " + std::to_string(v) + ", this hilo speaks " +
              std::to_string(protocol_version));
  FrameHeader h;
  auto kind = get<std::uint8_t>(bytes + 6);
  if (kind > static_cast<std::uint8_t>(DataType::Kind::serialized))
    throw bad("unknown data type kind " + std::to_string(kind));
  h.type.kind = static_cast<DataType::Kind>(kind);
  h.flags = get<std::uint8_t>(bytes + 7);
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
      throw bad("unknown flags " + std::to_string(h.flags));
  }
  h.type.size = get<std::uint32_t>(bytes + 8);
  if (h.type.size == 0 || h.type.size > max_element_size)
    throw bad("element size " + std::to_string(h.type.size) + " is not 1.." +
              std::to_string(max_element_size));
  h.source = get<std::int32_t>(bytes + 12);
  if (h.source < 0) throw bad("negative source rank " + std::to_string(h.source));
  h.tag = get<std::int32_t>(bytes + 16);
  if (get<std::uint32_t>(bytes + 20) != 0) throw bad("reserved field is not zero");
  h.context = get<std::uint64_t>(bytes + 24);
  h.length = get<std::uint64_t>(bytes + 32);
  if (h.length > max_payload)
    throw bad("payload length " + std::to_string(h.length) + " bytes exceeds the limit of " +
              std::to_string(max_payload) + " bytes");
  if (h.flags == frame_flag_goodbye && h.length != 0) throw bad("a goodbye frame with a payload");
  if (h.flags == frame_flag_copied && h.length != 0) throw bad("a copied frame with a payload");
  if (h.flags == frame_flag_offer && h.length != offer_size)
    throw bad("a single-copy offer of " + std::to_string(h.length) + " bytes, not " +
              std::to_string(offer_size));
  if (h.flags == frame_flag_clear_to_send && h.length != address_size)
    throw bad("a clear-to-send of " + std::to_string(h.length) + " bytes, not " +
              std::to_string(address_size));
  if (h.flags == frame_flag_abort && h.length > max_abort_reason)
    throw bad("an abort reason of " + std::to_string(h.length) + " bytes");
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
