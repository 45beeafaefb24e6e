#include "backends/tcp/peer_connection.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace hilo::tcp {

namespace {

constexpr int max_frames_per_write = 32;

}  // namespace

std::shared_ptr<OutgoingFrame> PeerConnection::queue_message_locked(
    const FrameHeader& header, const void* data, std::shared_ptr<const void> keep_alive,
    bool write_at_once) {
  if (broken) std::rethrow_exception(broken);
  std::shared_ptr<OutgoingFrame> frame;
  const std::size_t copy_from = shm ? single_copy_threshold_beside_ring : single_copy_threshold;
  if (can_copy_into && header.length >= copy_from) {
    frame = ready_to_send_frame(header, data, std::move(keep_alive));
    awaiting_clearance.push_back(frame);
  } else {
    const EncodedHeader encoded = encode_frame_header(header);
    std::size_t written = 0;
    if (write_at_once && queue.empty() && in_flight == 0 && socket && !write_failed) {
      // The common case: written at once straight from the caller's buffer, no allocation.
      iovec pieces[2] = {{const_cast<std::byte*>(encoded.data()), frame_header_size},
                         {const_cast<void*>(data), header.length}};
      const ssize_t sent = write_pieces(pieces, header.length > 0 ? 2 : 1);
      if (sent == static_cast<ssize_t>(frame_header_size + header.length)) return nullptr;
      if (sent > 0)
        written = static_cast<std::size_t>(sent);
      else if (errno != EAGAIN && errno != EWOULDBLOCK)
        write_failed = true;
    }
    frame = std::make_shared<OutgoingFrame>(encoded, data, header.length, std::move(keep_alive));
    frame->sent = written;
  }
  queue.push_back(frame);
  flush_locked();
  return frame;
}

ssize_t PeerConnection::write_pieces(const iovec* pieces, int count) {
  if (shm) {
    const std::size_t written = shm->outgoing().write(pieces, count);
    if (written > 0 && shm->outgoing().consumer_needs_wake()) ring_doorbell();
    if (written > 0) return static_cast<ssize_t>(written);
    errno = EAGAIN;
    return -1;
  }
  msghdr message{};
  message.msg_iov = const_cast<iovec*>(pieces);
  message.msg_iovlen = static_cast<std::size_t>(count);
  ssize_t sent;
  do {
    sent = ::sendmsg(socket.get(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  return sent;
}

bool PeerConnection::receive(void* into, std::size_t want, std::size_t& got, bool& drained) {
  if (shm) {
    got = shm->incoming().read(into, want);
    if (got > 0) {
      if (shm->incoming().producer_needs_wake()) ring_doorbell();
      // An ended socket: read on until the ring is empty, then report the end.
      drained = got < want && !socket_ended;
      return true;
    }
    if (socket_ended) {
      errno = socket_error;
      return false;
    }
    return true;
  }
  for (;;) {
    ssize_t n = ::recv(socket.get(), into, want, 0);
    if (n > 0) {
      got = static_cast<std::size_t>(n);
      drained = got < want;
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
}

void PeerConnection::ring_doorbell() const {
  const char bell = 1;
  [[maybe_unused]] ssize_t sent = ::send(socket.get(), &bell, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void PeerConnection::set_want_write_locked(bool want) {
  // While a user thread writes the socket itself, the progress thread need not be woken for it.
  want = want && drivers == 0;
  if (shm) {
    // No EPOLLOUT for a ring: the reader rings the doorbell once it has made room. A room that
    // appeared before the flag was seen is the caller's to use (flush_locked writes again).
    if (want) shm->outgoing().wait_for_room();
    return;
  }
  if (want == want_write || !socket) return;
  epoll_event event{};
  event.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  event.data.u64 = static_cast<std::uint64_t>(rank);
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, socket.get(), &event) == 0) want_write = want;
}

void PeerConnection::complete_frames_locked(std::size_t written) {
  while (written > 0 && !queue.empty()) {
    OutgoingFrame& frame = *queue.front();
    std::size_t rest = frame.total() - frame.sent;
    if (written < rest) {
      frame.sent += written;
      return;
    }
    written -= rest;
    frame.sent = frame.total();
    auto done = std::move(queue.front());
    queue.pop_front();
    if (done->awaits_clearance())
      ++in_flight;  // completes when its payload has been written into the peer
    else
      done->complete(nullptr);
  }
}

void PeerConnection::flush_locked() {
  for (;;) {
    while (!queue.empty() && socket && !write_failed) {
      iovec pieces[2 * max_frames_per_write];
      int count = 0;
      int frames = 0;
      int in_flight_after = in_flight;  // counting the ready-to-sends of this write
      for (const auto& frame : queue) {
        if (frames++ == max_frames_per_write) break;
        if (held_back(*frame, in_flight_after)) break;
        if (frame->awaits_clearance()) ++in_flight_after;
        if (frame->sent < frame_header_size)
          pieces[count++] = {frame->header.data() + frame->sent, frame_header_size - frame->sent};
        std::size_t done = frame->sent > frame_header_size ? frame->sent - frame_header_size : 0;
        if (frame->bytes > done)
          pieces[count++] = {const_cast<std::byte*>(frame->data + done), frame->bytes - done};
      }
      if (count == 0) break;  // everything queued is held back
      const ssize_t written = write_pieces(pieces, count);
      if (written < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        // EPIPE, ECONNRESET: the reader will find out whether the peer finished or died, and
        // fail these frames with the right error.
        write_failed = true;
        break;
      }
      complete_frames_locked(static_cast<std::size_t>(written));
    }
    const bool want = !queue.empty() && socket && !write_failed && !held_back(queue, in_flight);
    set_want_write_locked(want);
    // A ring that has room again by now (its reader drained it before it saw our flag) would
    // ring no doorbell: write on.
    if (!shm || !want || drivers > 0 || !shm->outgoing().wait_for_room()) return;
  }
}

void PeerConnection::drive_send(const OutgoingFrame& frame, Deadline deadline) {
  // A waiting sender has nothing better to do than write: done by this thread, a large message
  // streams like a blocking send(), where the progress thread, woken by EPOLLOUT for every
  // socket buffer's worth, does not (benchmarks/analysis.md).
  constexpr int max_poll_ms = 10;  // re-checks the frame, the deadline and the peer this often
  std::unique_lock lock(send_mutex);
  int ring_rounds = 0;
  ++drivers;  // while counted, the progress thread is not woken for this socket's room
  // Written (a ready-to-send then waits for its clear-to-send, which the reader handles) or held
  // back behind a single-copy transfer: there is nothing for this thread to write.
  auto nothing_to_write = [&] {
    return frame.sent == frame.total() || held_back(queue, in_flight);
  };
  while (frame.pending() && socket && !write_failed && !broken) {
    flush_locked();
    if (!frame.pending() || !socket || deadline.expired() || nothing_to_write()) break;
    int wait_ms = max_poll_ms;
    if (!deadline.is_never()) {
      auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline.at - Deadline::Clock::now());
      wait_ms = static_cast<int>(std::clamp<long>(left.count(), 0, max_poll_ms));
    }
    if (shm) {
      // A ring has nothing to poll for room: let the reader run, then look again (a reader that
      // does not come soon, stalled or descheduled, is looked for less often).
      lock.unlock();
      if (++ring_rounds < 1000)
        std::this_thread::yield();
      else
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      lock.lock();
      continue;
    }
    pollfd writable{socket.get(), POLLOUT, 0};
    lock.unlock();
    // Any outcome (room, an error, the socket closed meanwhile by the reader): the loop
    // re-checks everything under the lock.
    ::poll(&writable, 1, wait_ms);
    lock.lock();
  }
  --drivers;
  // Frames left queued (another thread's, or this one's after a timeout): the progress thread
  // watches the socket again (or, for a ring, is rung when there is room).
  if (shm)
    flush_locked();
  else
    set_want_write_locked(!queue.empty() && !write_failed && !held_back(queue, in_flight));
}

void PeerConnection::fail_sends_locked(const std::exception_ptr& error) {
  // Queued frames and single-copy transfers waiting for their clear-to-send alike.
  for (auto& frame : queue) frame->complete(error);
  queue.clear();
  for (auto& frame : awaiting_clearance) frame->complete(error);
  awaiting_clearance.clear();
  in_flight = 0;
}

}  // namespace hilo::tcp
