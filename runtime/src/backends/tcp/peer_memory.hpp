// hilo::PeerMemory for the tcp backend: the memory of the other ranks of a communicator whose
// members all run on this host, read with cross-memory attach (process_vm_readv), under the same
// permission check as single copy (single_copy.hpp).
#pragma once

#include <utility>
#include <vector>

#include "backends/tcp/engine.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::tcp {

class TcpPeerMemory final : public PeerMemory {
 public:
  // `members[i]` is the world rank of the communicator's rank i.
  TcpPeerMemory(Engine& engine, std::vector<int> members)
      : engine_(engine), members_(std::move(members)) {}

  // Whether `members` all run on the host of world rank `me` (by the names in the table).
  static bool all_on_host_of(const Engine& engine, const std::vector<int>& members, int me);

  bool reachable(int rank) override;
  bool read(int rank, std::uintptr_t from, void* to, std::size_t bytes) override;

 private:
  // Throws for a read from `rank` that stopped with `failure` (an errno).
  [[noreturn]] void fail(int rank, std::size_t bytes, int failure) const;
  int world_rank(int rank) const { return members_[static_cast<std::size_t>(rank)]; }

  Engine& engine_;
  std::vector<int> members_;
};

}  // namespace hilo::tcp
