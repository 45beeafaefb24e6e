// hilo::Transport over the TCP engine: one per communicator. It translates communicator ranks to
// world ranks, stamps each frame with the communicator's context, and matches receives in the
// communicator's Mailbox, which the engine's progress thread fills.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "backends/tcp/engine.hpp"
#include "backends/tcp/peer_memory.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

class TcpTransport final : public Transport {
 public:
  // `members[i]` is the world rank of this communicator's rank i; this rank is `rank`.
  // `collective_channel`: whether this is a communicator's collective channel (whose messages
  // carry the stamp of their collective call).
  TcpTransport(std::shared_ptr<Engine> engine, std::uint64_t context, std::vector<int> members,
               int rank, bool collective_channel = false);

  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(members_.size()); }
  std::string_view backend_name() const override { return "tcp"; }
  std::string host_of(int rank) const override;
  const detail::Log& log() const override { return engine_->log(); }
  void timed_out() noexcept override;

  void send(int dest, int tag, const void* data, std::size_t bytes, DataType type,
            Deadline deadline) override;
  std::unique_ptr<Operation> isend(int dest, int tag, std::shared_ptr<const void> keep_alive,
                                   const void* data, std::size_t bytes, DataType type) override;
  Status recv(int source, int tag, const Sink& sink, Deadline deadline) override;
  std::unique_ptr<Operation> irecv(int source, int tag, Sink sink) override;
  Status probe(int source, int tag, Deadline deadline) override;
  std::optional<Status> iprobe(int source, int tag) override;

  std::unique_ptr<Transport> derive(std::uint64_t context, std::vector<int> members) override;
  std::uint64_t context() const override { return context_; }
  Transport& collective_channel() override;
  detail::CollectiveStamping collective_stamping() override;
  void raise_collective_notice() override;
  void abandon_collective(std::uint32_t stamp) override;
  // single_copy_threshold: messages from it on may go by single copy between ranks of one host.
  std::optional<std::size_t> min_handshake_message_bytes() const override;
  // Non-null when every member runs on this host (peer_memory.hpp).
  PeerMemory* peer_memory() override { return memory_.get(); }
  // The members' hosts as the rendezvous table names them, numbered in order of first appearance.
  std::span<const int> host_map() const override { return host_map_; }

 private:
  FrameHeader header(int tag, std::size_t bytes, DataType type) const;
  // What a receive with `tag` posted now is checked against (Mailbox): the current stamp, but for
  // a notice, which belongs to no call.
  std::uint32_t receive_stamp(int tag) const {
    return tag == detail::collective_notice_tag ? 0 : stamp_.load(std::memory_order_relaxed);
  }
  TcpTransport& channel() { return static_cast<TcpTransport&>(collective_channel()); }
  // A receive's Timeout says which peer (rank and host) it was waiting for.
  [[noreturn]] void rethrow_naming_peer(const Timeout& timeout, int source) const;
  int world_rank(int rank) const { return members_[static_cast<std::size_t>(rank)]; }

  std::shared_ptr<Engine> engine_;
  std::uint64_t context_;
  std::vector<int> members_;
  int rank_;
  detail::Mailbox* mine_;
  std::unique_ptr<TcpTransport> collectives_;
  // On a collective channel: the stamp of the blocking collective running or last run (0 before
  // the first), which every frame sent and every receive posted here carries (frame.hpp). Stored
  // by the user's thread as a collective starts (CollectiveStamping); read by whichever thread
  // sends or posts a receive (a nonblocking collective's, which the sequencer finishes before
  // the store): relaxed suffices, the atomic is for the race checker's sake.
  std::atomic<std::uint32_t> stamp_{0};
  std::unique_ptr<TcpPeerMemory> memory_;
  std::vector<int> host_map_;  // by member: its host, numbered in order of first appearance
};

}  // namespace hilo::tcp
