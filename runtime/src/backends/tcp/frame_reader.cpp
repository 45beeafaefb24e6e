#include "backends/tcp/engine.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "backends/tcp/peer_connection.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

using detail::Envelope;
using detail::Mailbox;

namespace {

// Payloads at least this large are read straight into their destination, not via staging.
constexpr std::size_t direct_read_threshold = 16 * 1024;
// Bytes one connection may read per turn before the others get theirs (fairness).
constexpr std::size_t read_budget = 8 * 1024 * 1024;

}  // namespace

// The receive side of the connections: whoever drives the sockets (progress_mutex_ held) reads
// frames here and hands them to their mailboxes.

bool Engine::read_frames(Peer& peer) {
  const int fd = peer.socket.get();
  std::size_t budget = read_budget;
  // One recv; returns false on EOF/error (errno set, 0 for EOF), true with `got` bytes or none.
  // A read that returns less than asked for has emptied the socket: asking again would only
  // cost a syscall to learn EAGAIN. Readiness is level-triggered, so new bytes are reported anew.
  bool drained = false;
  auto receive = [&](void* into, std::size_t want, std::size_t& got) {
    if (peer.shm) {
      got = peer.shm->incoming().read(into, want);
      if (got > 0) {
        if (peer.shm->incoming().producer_needs_wake()) peer.ring_doorbell();
        // An ended socket: read on until the ring is empty, then report the end.
        drained = got < want && !peer.socket_ended;
        budget -= std::min(budget, got);
        bytes_read_ += got;
        return true;
      }
      if (peer.socket_ended) {
        errno = peer.socket_error;
        return false;
      }
      return true;
    }
    for (;;) {
      ssize_t n = ::recv(fd, into, want, 0);
      if (n > 0) {
        got = static_cast<std::size_t>(n);
        drained = got < want;
        budget -= std::min(budget, got);
        bytes_read_ += got;
        return true;
      }
      if (n == 0) {
        errno = 0;
        return false;
      }
      if (errno == EINTR) continue;
      got = 0;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  };
  for (;;) {
    if (!peer.in_payload) {
      std::size_t have = peer.staged_end - peer.staged_begin;
      if (have < frame_header_size) {
        if (budget == 0 || drained) return true;
        if (peer.staged_begin > 0) {
          std::memmove(peer.staging.get(), peer.staging.get() + peer.staged_begin, have);
          peer.staged_begin = 0;
          peer.staged_end = have;
        }
        std::size_t got = 0;
        if (!receive(peer.staging.get() + peer.staged_end, staging_size - peer.staged_end, got))
          return false;
        if (got == 0) return true;
        peer.staged_end += got;
        continue;
      }
      peer.header =
          decode_frame_header(peer.staging.get() + peer.staged_begin, config_.max_payload);
      peer.staged_begin += frame_header_size;
      if (peer.header.flags & frame_flag_goodbye) {
        peer_finished(peer);
        continue;
      }
      if (peer.said_goodbye)
        detail::throw_error<Error>("malformed stream: a frame after its goodbye");
      switch (peer.header.flags) {
        case frame_flag_ready_to_send:
          accept_ready_to_send(peer);
          continue;  // no payload follows
        case frame_flag_copied: {
          if (peer.awaiting_copy.empty())
            detail::throw_error<Error>(
                "malformed stream: 'copied' with no single-copy transfer open");
          Peer::OpenTransfer done = std::move(peer.awaiting_copy.front());
          peer.awaiting_copy.pop_front();
          done.box->finish(std::move(done.delivery));
          continue;
        }
        case frame_flag_abort:
          // The reason is read like a payload, into a string of our own; no mailbox sees it.
          peer.box = nullptr;
          peer.abort_reason.assign(peer.header.length, '\0');
          peer.delivery = Mailbox::Delivery{};
          peer.delivery.destination = reinterpret_cast<std::byte*>(peer.abort_reason.data());
          break;
        case frame_flag_offer:
        case frame_flag_clear_to_send:
          // The engine's own: read into peer.control (the decoder checked the length).
          peer.box = nullptr;
          peer.delivery = Mailbox::Delivery{};
          peer.delivery.destination = peer.control.data();
          break;
        default:
          peer.box = &mailbox_for_frame(peer, peer.header.context);
          peer.delivery = peer.box->begin(
              Envelope{peer.header.source, peer.header.tag, peer.header.length, peer.header.type});
      }
      peer.received = 0;
      peer.in_payload = true;
    }
    std::uint64_t remaining = peer.header.length - peer.received;
    std::size_t have = peer.staged_end - peer.staged_begin;
    if (have > 0 && remaining > 0) {
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(have, remaining));
      std::memcpy(peer.delivery.destination + peer.received, peer.staging.get() + peer.staged_begin,
                  take);
      peer.staged_begin += take;
      peer.received += take;
      remaining -= take;
    }
    if (remaining == 0) {
      peer.in_payload = false;
      if (peer.box != nullptr)
        peer.box->finish(std::move(peer.delivery));
      else if (peer.header.flags == frame_flag_abort)
        peer_lost(peer,
                  describe(peer.rank) + " failed and left the job (" + peer.abort_reason + ")");
      else
        handle_control(peer);
      continue;
    }
    if (budget == 0 || drained) return true;
    peer.staged_begin = peer.staged_end = 0;  // staging is empty here
    std::size_t got = 0;
    if (remaining >= direct_read_threshold) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, SSIZE_MAX));
      if (!receive(peer.delivery.destination + peer.received, want, got)) return false;
      peer.received += got;
    } else {
      if (!receive(peer.staging.get(), staging_size, got)) return false;
      peer.staged_end = got;
    }
    if (got == 0) return true;
  }
}

}  // namespace hilo::tcp
