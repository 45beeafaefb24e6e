#include "backends/tcp/peer_memory.hpp"

#include <cerrno>
#include <string>

#include "backends/tcp/single_copy.hpp"
#include "common/system_error.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

bool TcpPeerMemory::all_on_host_of(const Engine& engine, const std::vector<int>& members, int me) {
  const std::string& host = engine.address_of(me).host;
  for (int member : members)
    if (engine.address_of(member).host != host) return false;
  return true;
}

bool TcpPeerMemory::reachable(int rank) {
  return engine_.memory_of(world_rank(rank)) != 0;
}

bool TcpPeerMemory::read(int rank, std::uintptr_t from, void* to, std::size_t bytes) {
  const int failure =
      read_from(engine_.memory_of(world_rank(rank)), from, static_cast<std::byte*>(to), bytes);
  if (failure == EFAULT) return false;  // the range was unmapped: the rank left the operation
  if (failure != 0) fail(rank, bytes, failure);
  return true;
}

void TcpPeerMemory::fail(int rank, std::size_t bytes, int failure) const {
  const int world = world_rank(rank);
  const std::string what_failed = "hilo: rank " + std::to_string(engine_.rank()) +
                                  " could not read " + std::to_string(bytes) +
                                  " bytes of an all-reduce in the memory of world " +
                                  engine_.describe(world) + " (cross-memory attach)";
  if (failure == ESRCH) {
    const std::string why = what_failed + ": its process is gone (exited or was killed)";
    engine_.report_lost(world, why.substr(std::string_view("hilo: ").size()));
    throw PeerLost(why, world, engine_.address_of(world).host);
  }
  throw Error(common::errno_message(what_failed, failure));
}

}  // namespace hilo::tcp
