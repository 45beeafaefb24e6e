#include "hilo/comm/transport.hpp"

namespace hilo {

std::string DataType::name() const {
  const std::string bits = std::to_string(size * 8);
  switch (kind) {
    case Kind::signed_int:
      return "int" + bits;
    case Kind::unsigned_int:
      return "uint" + bits;
    case Kind::floating:
      return "float" + bits;
    case Kind::character:
      return "char";
    case Kind::boolean:
      return "bool";
    case Kind::serialized:
      return "serialized archive";
    case Kind::bytes:
      break;
  }
  return std::to_string(size) + "-byte trivially copyable value";
}

std::string sink_mismatch(const Sink& sink, DataType type, std::size_t bytes) {
  const std::string carries =
      "the message carries " + std::to_string(bytes) + " bytes of " + type.name();
  if (type != sink.type) return carries + " but the receiver expects " + sink.type.name();
  if (sink.has_fixed_size()) {
    if (bytes != sink.fixed_bytes)
      return carries + " but the receiver expects exactly " + std::to_string(sink.fixed_bytes) +
             " bytes";
  } else if (sink.type.size > 1 && bytes % sink.type.size != 0) {
    return carries + ", not a whole number of " + std::to_string(sink.type.size) + "-byte elements";
  }
  return {};
}

std::uint64_t derive_context(std::uint64_t parent, std::uint64_t sequence, std::uint64_t color) {
  // splitmix64 over the three numbers: cheap, well mixed, the same on every rank.
  auto mix = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  return mix(mix(mix(parent) ^ sequence) ^ color);
}

}  // namespace hilo
