// The single-copy protocol of one rank's engine (single_copy.hpp has the why and the wire): the
// offers made to and judged from the peers of this host, and the large messages that go by single
// copy: ready-to-send read, clear-to-send answered and read, the payload written into the peer,
// copied sent and read. The frames travel on the peer's connection (peer_connection.hpp); what it
// takes to send a message by single copy (PeerConnection::queue_message_locked) is the sending
// side's, this class does the rest.
//
// Locking contract: no mutex of its own. The functions called for frames that arrived
// (on_control, accept_ready_to_send, on_copied, fail_open_transfers) run with the progress mutex
// held (ProgressLoop::mutex: whoever drives the sockets), as the receive side they touch
// (PeerConnection::awaiting_copy) requires; they take the peer's send_mutex themselves for the
// send side (can_copy_into, copy_pid, awaiting_clearance, in_flight, the queue), so a caller must
// not hold it. offer and memory_of may be called by any thread, without the send_mutex.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "backends/tcp/frame.hpp"
#include "backends/tcp/peer_connection.hpp"
#include "comm/mailbox.hpp"
#include "common/thread_annotations.hpp"
#include "launch/rendezvous.hpp"

namespace hilo::tcp {

class SingleCopyProtocol {
 public:
  // Tells hilorun that `peer` is lost, before a caller can see the failure (Engine::report_loss).
  using ReportLoss = std::function<void(PeerConnection& peer, const std::string& why)>;

  // This rank is `rank` of `table` (by rank; it outlives this object). `enabled`: whether this
  // rank offers its memory and accepts offers (HILO_TCP_SINGLE_COPY).
  SingleCopyProtocol(int rank, const std::vector<launch::PeerAddress>& table, bool enabled,
                     ReportLoss report_loss);
  // Not copied or moved: peers are given the address of probe_word_.
  SingleCopyProtocol(const SingleCopyProtocol&) = delete;
  SingleCopyProtocol& operator=(const SingleCopyProtocol&) = delete;

  // Offers `peer`, if it is on this host and single copy is enabled, to write into this rank.
  void offer(PeerConnection& peer) HILO_EXCLUDES(peer.send_mutex);
  // The pid of `peer`'s process when this rank may read and write its memory, else 0
  // (Engine::memory_of).
  pid_t memory_of(PeerConnection& peer) HILO_EXCLUDES(peer.send_mutex);

  // ---- frames that arrived; the progress mutex is held
  // An offer or a clear-to-send arrived with its payload.
  void on_control(PeerConnection& peer, const FrameHeader& header, const std::byte* payload)
      HILO_EXCLUDES(peer.send_mutex);
  // A ready-to-send arrived: begins the delivery in `box` (the mailbox of its communicator) and
  // tells the sender where to write.
  void accept_ready_to_send(PeerConnection& peer, detail::Mailbox& box, const FrameHeader& header)
      HILO_EXCLUDES(peer.send_mutex);
  // A copied arrived: the oldest open transfer from `peer` is delivered.
  void on_copied(PeerConnection& peer);
  // Fails every single-copy transfer still open from `peer` (the connection is over).
  void fail_open_transfers(PeerConnection& peer, const std::exception_ptr& error);

 private:
  bool on_this_host(const PeerConnection& peer) const;
  // Writes the oldest frame waiting for clearance into the peer at `address`.
  void write_cleared(PeerConnection& peer, std::uint64_t address) HILO_EXCLUDES(peer.send_mutex);
  // Queues a small frame of the engine's own (offer, clear-to-send, copied) to `peer`.
  void send_control(PeerConnection& peer, std::uint8_t flags, const std::byte* payload,
                    std::size_t bytes) HILO_EXCLUDES(peer.send_mutex);
  void queue_control_locked(PeerConnection& peer, std::uint8_t flags, const std::byte* payload,
                            std::size_t bytes) HILO_REQUIRES(peer.send_mutex);

  const int rank_;
  const std::vector<launch::PeerAddress>& table_;
  const bool enabled_;
  // The word a peer on this host reads back to prove it can reach this process's memory.
  const std::uint64_t probe_word_;
  const ReportLoss report_loss_;
};

}  // namespace hilo::tcp
