#include "backends/tcp/single_copy_protocol.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "backends/tcp/mesh_setup.hpp"
#include "backends/tcp/single_copy.hpp"
#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

using detail::Envelope;
using detail::Mailbox;

namespace {

std::uint64_t random_word() {
  std::random_device entropy;
  return (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy();
}

}  // namespace

SingleCopyProtocol::SingleCopyProtocol(int rank, const std::vector<launch::PeerAddress>& table,
                                       bool enabled, ReportLoss report_loss)
    : rank_(rank),
      table_(table),
      enabled_(enabled),
      probe_word_(random_word()),
      report_loss_(std::move(report_loss)) {}

bool SingleCopyProtocol::on_this_host(const PeerConnection& peer) const {
  return table_[static_cast<std::size_t>(peer.rank)].host ==
         table_[static_cast<std::size_t>(rank_)].host;
}

void SingleCopyProtocol::offer(PeerConnection& peer) {
  if (!enabled_ || peer.rank == rank_ || !on_this_host(peer)) return;
  const SingleCopyOffer offer{static_cast<std::uint64_t>(::getpid()),
                              reinterpret_cast<std::uintptr_t>(&probe_word_), probe_word_};
  const auto payload = encode_offer(offer);
  send_control(peer, frame_flag_offer, payload.data(), payload.size());
}

void SingleCopyProtocol::send_control(PeerConnection& peer, std::uint8_t flags,
                                      const std::byte* payload, std::size_t bytes) {
  std::lock_guard lock(peer.send_mutex);
  queue_control_locked(peer, flags, payload, bytes);
}

void SingleCopyProtocol::queue_control_locked(PeerConnection& peer, std::uint8_t flags,
                                              const std::byte* payload, std::size_t bytes) {
  if (peer.broken || !peer.socket) return;  // the reader reports what happened to the peer
  FrameHeader header;
  header.flags = flags;
  header.source = rank_;
  header.type = data_type_of<char>();
  header.length = bytes;
  auto copy = std::make_shared<std::array<std::byte, offer_size>>();
  if (bytes > 0) std::memcpy(copy->data(), payload, bytes);
  auto frame =
      std::make_shared<OutgoingFrame>(encode_frame_header(header), copy->data(), bytes, copy);
  frame->control = true;
  // Ahead of every message frame not yet begun: a control frame carries no message, so passing
  // them changes no message order, and a clear-to-send must not wait behind messages held back
  // for this rank's own transfers (two ranks sending each other large messages would each wait
  // for the other's clear-to-send).
  auto at = std::find_if(peer.queue.begin(), peer.queue.end(),
                         [](const auto& queued) { return queued->sent == 0 && !queued->control; });
  peer.queue.insert(at, std::move(frame));
  peer.flush_locked();
}

pid_t SingleCopyProtocol::memory_of(PeerConnection& peer) {
  std::lock_guard lock(peer.send_mutex);
  return peer.can_copy_into ? peer.copy_pid : 0;
}

void SingleCopyProtocol::on_control(PeerConnection& peer, const FrameHeader& header,
                                    const std::byte* payload) {
  if (header.flags == frame_flag_offer) {
    const SingleCopyOffer offer = decode_offer(payload);
    // Offers come only from ranks of this host; the probe proves the pid is that rank's.
    if (!enabled_ || !on_this_host(peer) || !can_write_into(offer))
      return;  // large messages to it keep going through the socket
    std::lock_guard lock(peer.send_mutex);
    peer.copy_pid = static_cast<pid_t>(offer.pid);
    peer.can_copy_into = true;
    return;
  }
  write_cleared(peer, decode_address(payload));
}

void SingleCopyProtocol::accept_ready_to_send(PeerConnection& peer, Mailbox& box,
                                              const FrameHeader& header) {
  Mailbox::Delivery delivery =
      box.begin(Envelope{header.source, header.tag, header.length, header.type, 0, header.stamp});
  const auto where = encode_address(reinterpret_cast<std::uintptr_t>(delivery.destination));
  peer.awaiting_copy.push_back({&box, std::move(delivery)});
  send_control(peer, frame_flag_clear_to_send, where.data(), where.size());
}

void SingleCopyProtocol::on_copied(PeerConnection& peer) {
  if (peer.awaiting_copy.empty())
    detail::throw_error<Error>("malformed stream: 'copied' with no single-copy transfer open");
  PeerConnection::OpenTransfer done = std::move(peer.awaiting_copy.front());
  peer.awaiting_copy.pop_front();
  done.box->finish(std::move(done.delivery));
}

void SingleCopyProtocol::write_cleared(PeerConnection& peer, std::uint64_t address) {
  std::shared_ptr<OutgoingFrame> frame;
  {
    std::lock_guard lock(peer.send_mutex);
    if (peer.in_flight == 0 || peer.awaiting_clearance.empty())
      detail::throw_error<Error>("malformed stream: a clear-to-send for no announced message");
    frame = std::move(peer.awaiting_clearance.front());
    peer.awaiting_clearance.pop_front();
  }
  const int failure = frame->write_cleared(peer.copy_pid, address);
  if (failure != 0) {
    const std::string why = common::errno_message(
        "rank " + std::to_string(rank_) + " could not write a message of " +
            std::to_string(frame->copy_bytes) + " bytes into " +
            describe_peer(table_[static_cast<std::size_t>(peer.rank)]) + " (single copy)",
        failure);
    report_loss_(peer, why);  // before the sender sees the failure
    frame->complete(
        std::make_exception_ptr(PeerLost(detail::make_message("hilo: ", why), peer.rank,
                                         table_[static_cast<std::size_t>(peer.rank)].host)));
    // The peer waits for a 'copied' that cannot come: this connection cannot go on.
    throw Error(why);
  }
  {
    // One step, so that no message held back behind this transfer can pass its 'copied'.
    std::lock_guard lock(peer.send_mutex);
    --peer.in_flight;
    queue_control_locked(peer, frame_flag_copied, nullptr, 0);
  }
  frame->complete(nullptr);
}

void SingleCopyProtocol::fail_open_transfers(PeerConnection& peer,
                                             const std::exception_ptr& error) {
  for (auto& open : peer.awaiting_copy) open.box->abort(std::move(open.delivery), error);
  peer.awaiting_copy.clear();
}

}  // namespace hilo::tcp
