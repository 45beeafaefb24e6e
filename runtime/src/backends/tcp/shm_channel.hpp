// The shared-memory channel between two ranks of one host under the tcp backend: one segment per
// pair, holding a ring for each direction (shm_ring.hpp). Once a pair has one, the engine writes
// every frame between them (messages, single-copy envelopes, goodbye, abort: everything) into
// the ring instead of the socket, and the socket carries only doorbell bytes (a sleeping reader's
// epoll watches it) and tells, by closing, that the peer died (engine.hpp).
//
// Why: a same-host message through loopback TCP costs two system calls and two kernel copies per
// side; through the ring it costs a copy in and a copy out, and a wake-up only when the reader
// sleeps.
//
// Set-up (connect_shared_memory), right after the mesh, before the engine starts, for each pair
// whose table entries name the same host (a candidate, not a proof):
//   lower rank -> higher  offer: whether it wants shared memory, and if so the segment's name and
//                         a random 64-bit nonce it wrote at the segment's start
//   higher -> lower       answer: whether it mapped that segment and found the nonce there (the
//                         proof that both see the same memory); it unlinks the name at once
// The lower rank unlinks the name when the answer comes, whatever it says, so the name lives only
// for this exchange: nothing is left in /dev/shm after the job, even after a kill -9 (except for a
// rank killed within the exchange itself). The segment is created with mode 0600 (only this user)
// under a name made from the job token and 64 random bits, and O_EXCL: no other job or user can
// have made it or attach to it. A pair without a channel (another host, HILO_TCP_SHM=off on
// either side, or a failed open) uses its socket exactly as before.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/tcp/shm_ring.hpp"
#include "common/unique_fd.hpp"
#include "hilo/comm/types.hpp"
#include "hilo/detail/log.hpp"
#include "hilo/ipc/shared_memory.hpp"
#include "launch/rendezvous.hpp"

namespace hilo::tcp {

// Data bytes of each direction's ring, for a host where `ranks_here` ranks run: 512 KiB, less
// when many ranks share the host, so that all of the host's rings together stay within 256 MiB
// of shared memory (/dev/shm is often limited to half the memory); never under 64 KiB. Not more:
// a larger message streams through the ring in pieces (ShmRing::publish_every) with the reader
// copying out while the writer copies in, and a ring that stays small stays in the caches; a
// 1 MiB ring moved 64 KiB-16 MiB messages slower than 256 KiB and 512 KiB ones
// (benchmarks/analysis.md, "Shared-memory rings: ring size and pipelining").
std::size_t shm_ring_capacity(int ranks_here);

// HILO_TCP_SHM: on (the default) or off. Anything else is a hilo::Error naming it.
bool shm_from_environment();

class ShmChannel {
 public:
  // The lower rank's side: creates a segment of a fresh name with rings of `capacity` bytes, its
  // memory reserved at once (so a full /dev/shm is an error here, not a SIGBUS later). Throws
  // hilo::Error if it cannot.
  static std::unique_ptr<ShmChannel> create(const std::string& token, int lower, int higher,
                                            std::size_t capacity);
  // The higher rank's side: maps the segment `name` and checks `nonce` is there; throws
  // hilo::Error if not.
  static std::unique_ptr<ShmChannel> open(const std::string& name, std::uint64_t nonce);

  const std::string& name() const { return segment_.name(); }
  std::uint64_t nonce() const { return nonce_; }
  // Removes the name (the mapping stays): once both ranks have mapped it, or given up.
  void unlink_name();

  ShmRing& outgoing() { return outgoing_; }  // this rank writes
  ShmRing& incoming() { return incoming_; }  // this rank reads

 private:
  ShmChannel(ipc::SharedMemory segment, std::uint64_t nonce, std::size_t capacity, bool lower);

  ipc::SharedMemory segment_;
  std::uint64_t nonce_;
  ShmRing outgoing_;
  ShmRing incoming_;
};

// Runs the set-up above with every peer whose host name is this rank's, over the handshaken
// `sockets` (by rank), before anything else is sent on them. Returns a channel per rank (null:
// use the socket). `wanted`: this rank's HILO_TCP_SHM. A pair left on its socket because its
// segment could not be made or mapped is a warning in `log`. Throws hilo::PeerLost if a peer closes
// its connection meanwhile, hilo::Timeout at `deadline`, hilo::Error for a malformed reply.
std::vector<std::unique_ptr<ShmChannel>> connect_shared_memory(
    int rank, const std::string& token, const std::vector<launch::PeerAddress>& table,
    const std::vector<common::UniqueFd>& sockets, bool wanted, Deadline deadline,
    const detail::Log& log = {});

}  // namespace hilo::tcp
