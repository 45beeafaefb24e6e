// The engine's receive side: what the ProgressLoop drives (Engine as its SocketDriver: an epoll
// event, one peer's read, the rings, the strangers' timers), the frames each peer's FrameReader
// hands on (IncomingFrames, a FrameSink), and a connection that ends. Everything here runs with
// the progress mutex held.
#include "backends/tcp/engine.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "backends/tcp/peer_connection.hpp"
#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

using detail::Envelope;
using detail::Mailbox;

// The frames read from one peer's connection, acted on by the engine (frame_reader.hpp).
class Engine::IncomingFrames final : public FrameSink {
 public:
  IncomingFrames(Engine& engine, Peer& peer) : engine_(engine), peer_(peer) {}

  Mailbox& mailbox_for(const FrameHeader& header) override {
    return engine_.mailbox_for_frame(peer_, header);
  }
  void goodbye() override { engine_.peer_finished(peer_); }
  void ready_to_send(const FrameHeader& header) override {
    engine_.single_copy_.accept_ready_to_send(peer_, engine_.mailbox_for_frame(peer_, header),
                                              header);
  }
  void copied() override { engine_.single_copy_.on_copied(peer_); }
  void control(const FrameHeader& header, const std::byte* payload) override {
    engine_.single_copy_.on_control(peer_, header, payload);
  }
  void aborted(const std::string& reason) override {
    engine_.peer_lost(peer_,
                      engine_.describe(peer_.rank) + " failed and left the job (" + reason + ")");
  }

 private:
  Engine& engine_;
  Peer& peer_;
};

// ---- what the progress loop drives (SocketDriver, progress_loop.hpp)

void Engine::handle_event(std::uint64_t tag, std::uint32_t events) {
  if (StrangerListener::owns(tag)) return strangers_.handle(tag);
  if (tag == report_tag) return config_.pending_reporter->answer_requests(loop_.epoll_fd());
  // A closed connection is skipped; a stale event finds nothing to read.
  Peer& peer = *peers_[static_cast<std::size_t>(tag)];
  if (!peer.socket) return;
  if (peer.shm) return handle_ring_event(peer);
  if (events & EPOLLOUT) {
    std::lock_guard lock(peer.send_mutex);
    peer.flush_locked();
  }
  if (peer.socket && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) read_from(peer);
}

bool Engine::read_peer(int world_rank) {
  Peer& peer = *peers_[static_cast<std::size_t>(world_rank)];
  if (!peer.socket) return false;
  read_from(peer);
  return true;
}

std::optional<SocketDriver::Clock::time_point> Engine::next_wakeup() {
  return strangers_.next_wakeup();
}

void Engine::expire(Clock::time_point now) {
  strangers_.expire(now);
}

void Engine::handle_ring_event(Peer& peer) {
  // Doorbells carry no data: take them all. The socket's end (or error) is noted and reported by
  // the reader once the ring is empty, so frames written before the end are not lost.
  std::byte bells[256];
  while (!peer.socket_ended) {
    const ssize_t n = ::recv(peer.socket.get(), bells, sizeof bells, MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(sizeof bells)) continue;
    if (n > 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    peer.socket_ended = true;
    peer.socket_error = n == 0 ? 0 : errno;
  }
  {
    std::lock_guard lock(peer.send_mutex);
    peer.flush_locked();  // the doorbell may say there is room
  }
  read_from(peer);
}

bool Engine::poll_rings() {
  bool any = false;
  for (Peer* peer : ring_peers_) {
    if (!peer->socket || !peer->shm->incoming().readable()) continue;
    any = true;
    read_from(*peer);
  }
  return any;
}

bool Engine::rings_sleep() {
  bool any = false;
  for (Peer* peer : ring_peers_)
    if (peer->socket && peer->shm->incoming().consumer_sleeps()) any = true;
  return any;
}

void Engine::rings_awake() {
  for (Peer* peer : ring_peers_) peer->shm->incoming().consumer_awake();
}

void Engine::read_from(Peer& peer) {
  std::string why;
  try {
    IncomingFrames frames(*this, peer);
    if (peer.reader.read(peer, frames, loop_.bytes_read())) return;
    const int error = errno;
    if (peer.reader.said_goodbye())
      why.clear();
    else if (error == 0)
      why = describe(peer.rank) + " closed its connection to rank " + std::to_string(rank()) +
            " without finishing: it exited or was killed";
    else
      why = common::errno_message(describe(peer.rank) + " broke its connection to rank " +
                                      std::to_string(rank()) + " (it died or its host is gone)",
                                  error);
  } catch (const std::bad_alloc&) {
    why = describe(peer.rank) + " sent a message of " +
          std::to_string(peer.reader.header().length) + " bytes that rank " +
          std::to_string(rank()) + " has no memory for; connection closed";
  } catch (const std::exception& e) {
    why = describe(peer.rank) + " sent something rank " + std::to_string(rank()) +
          " cannot trust (" + e.what() + "); connection closed";
  }
  // The connection is over: finish what was half read, stop watching it, close it.
  std::exception_ptr error;
  if (!why.empty()) {
    report_loss(peer, why);  // before a receive cut off below can end this rank
    error = std::make_exception_ptr(
        PeerLost(detail::make_message("hilo: ", why), peer.rank, this->address_of(peer.rank).host));
  }
  const std::exception_ptr cut_off =
      error ? error
            : std::make_exception_ptr(PeerLost(
                  detail::make_message("hilo: ", describe(peer.rank), " finished mid-message"),
                  peer.rank, this->address_of(peer.rank).host));
  peer.reader.cut_off(cut_off);
  single_copy_.fail_open_transfers(peer, cut_off);
  ::epoll_ctl(loop_.epoll_fd(), EPOLL_CTL_DEL, peer.socket.get(), nullptr);
  {
    std::lock_guard lock(peer.send_mutex);
    peer.socket.reset();
    peer.want_write = false;
  }
  if (!why.empty())
    peer_lost(peer, why);
  else
    peer_lost(peer, describe(peer.rank) + " has finished");  // fails leftover frames only
}

}  // namespace hilo::tcp
