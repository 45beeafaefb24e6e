#include "hilo/comm/detail/transport.hpp"

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo {

const detail::Log& Transport::log() const {
  static const detail::Log silent;  // immutable: shared by every transport without a log
  return silent;
}

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
  // Checked before anything is described: this runs on every receive, and the text alone costs
  // a few hundred instructions and an allocation.
  const bool fits = sink.has_fixed_size() ? bytes == sink.fixed_bytes
                                          : sink.type.size <= 1 || bytes % sink.type.size == 0;
  if (type == sink.type && fits) return {};
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

Status Transport::sendrecv(int dest, int send_tag, const void* data, std::size_t send_bytes,
                           DataType send_type, int source, int recv_tag, const Sink& sink,
                           Deadline deadline) {
  // The receive is posted first, so a message that arrives before the send is done goes straight
  // into the sink; the send does not block, so two ranks exchanging with each other never wait
  // on one another.
  std::unique_ptr<Operation> received = irecv(source, recv_tag, sink);
  std::unique_ptr<Operation> sent = isend(dest, send_tag, nullptr, data, send_bytes, send_type);
  Status status = received->wait(deadline);
  sent->wait(deadline);
  return status;
}

DerivedMembers derive_members(const std::vector<int>& parent_world_ranks,
                              const std::vector<int>& members, int parent_rank) {
  DerivedMembers derived{{}, -1};
  for (int m : members) {
    if (m == parent_rank) derived.rank = static_cast<int>(derived.world_ranks.size());
    derived.world_ranks.push_back(parent_world_ranks.at(static_cast<std::size_t>(m)));
  }
  if (derived.rank < 0)
    detail::throw_error<Error>(
        "hilo: internal error: derive() without the calling rank among the members");
  return derived;
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
