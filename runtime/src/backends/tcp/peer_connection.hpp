// One connection to a peer rank, seen from this rank's engine (engine.hpp): its socket, the
// frames queued to it (the send side) and the frame being read from it (the receive side, whose
// parsing is the FrameReader's: frame_reader.hpp).
//
// Locking contract:
//   - The send side (every member marked HILO_GUARDED_BY(send_mutex)) is read and written with
//     send_mutex held, by any thread: a sending user thread, the progress thread, a user thread
//     polling for its receive. The *_locked functions expect it held.
//   - The receive side is touched only by whoever drives the sockets, i.e. holds the progress
//     mutex (ProgressLoop::mutex, progress_loop.hpp); a connection cannot name that mutex, so
//     this contract is stated here and at the mutex.
//   - `socket` is closed (reset) only with both held: holding either one keeps it open.
//   - Lock order: progress mutex, then send_mutex, then an OutgoingFrame's own mutexes.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/tcp/frame.hpp"
#include "backends/tcp/frame_reader.hpp"
#include "backends/tcp/outgoing_frame.hpp"
#include "backends/tcp/shm_channel.hpp"
#include "backends/tcp/single_copy.hpp"
#include "backends/tcp/socket.hpp"
#include "comm/mailbox.hpp"
#include "common/thread_annotations.hpp"

namespace hilo::tcp {

struct PeerConnection final : ByteSource {
  PeerConnection(int rank, int epoll_fd, std::uint64_t max_payload)
      : rank(rank), epoll_fd(epoll_fd), reader(max_payload) {}

  const int rank;
  const int epoll_fd;  // the engine's epoll set, where `socket` is watched (not owned)
  // Closed only by the thread handling events (progress mutex held), with send_mutex held too.
  UniqueFd socket;
  // The pair's shared-memory channel (shm_channel.hpp), or null. Set before the engine's threads
  // start and never changed. When set, every frame goes through its rings, not the socket: its
  // outgoing ring is written with send_mutex held (the one producer), its incoming ring read with
  // the progress mutex held (the one consumer). The socket then carries doorbells only (one byte:
  // "look at the rings") and still tells by closing that the peer is gone.
  std::unique_ptr<ShmChannel> shm;
  // Rings a doorbell: the peer's engine, if asleep in epoll, looks at this pair's rings. A byte
  // the socket does not take (its buffer is full of doorbells) is not needed. The caller holds
  // send_mutex or the progress mutex, which keeps the socket open.
  void ring_doorbell() const;

  // ---- send side
  std::mutex send_mutex;
  std::deque<std::shared_ptr<OutgoingFrame>> queue HILO_GUARDED_BY(send_mutex);
  bool want_write HILO_GUARDED_BY(send_mutex) = false;  // EPOLLOUT armed
  // User threads writing this socket themselves (drive_send).
  int drivers HILO_GUARDED_BY(send_mutex) = 0;
  // The socket refused bytes: the reader will say why.
  bool write_failed HILO_GUARDED_BY(send_mutex) = false;
  // Set once lost or finished: every send raises it.
  std::exception_ptr broken HILO_GUARDED_BY(send_mutex);
  // Single copy to this peer (single_copy.hpp). Ready-to-sends waiting for their clear-to-send,
  // oldest first; `in_flight` counts those of them already written. While it is not zero, no
  // message frame is written after them, not even another ready-to-send (only control frames):
  // the receiver queues a message nobody waits for yet only once it is complete, so a message
  // announced meanwhile could be matched to a receive posted for the one in flight.
  bool can_copy_into HILO_GUARDED_BY(send_mutex) = false;
  pid_t copy_pid HILO_GUARDED_BY(send_mutex) = 0;
  std::deque<std::shared_ptr<OutgoingFrame>> awaiting_clearance HILO_GUARDED_BY(send_mutex);
  int in_flight HILO_GUARDED_BY(send_mutex) = 0;

  // Queues the message frame `header` + `data` (a ready-to-send instead, when the payload goes by
  // single copy) and writes what the socket takes. With `write_at_once` and nothing queued, it is
  // first written straight from `data` in one sendmsg; nullptr then means it all went. Rethrows
  // `broken`.
  std::shared_ptr<OutgoingFrame> queue_message_locked(const FrameHeader& header, const void* data,
                                                      std::shared_ptr<const void> keep_alive,
                                                      bool write_at_once) HILO_REQUIRES(send_mutex);
  // Writes queued frames until the socket takes no more (or the front is held back), and arms
  // EPOLLOUT for the rest.
  void flush_locked() HILO_REQUIRES(send_mutex);
  void set_want_write_locked(bool want) HILO_REQUIRES(send_mutex);
  // Writes `pieces` to the peer: into the ring, or with one sendmsg. Returns the bytes written,
  // or -1 with errno set (EAGAIN: no room now).
  ssize_t write_pieces(const iovec* pieces, int count) HILO_REQUIRES(send_mutex);
  // `written` bytes of the queue went: completes the frames they finish.
  void complete_frames_locked(std::size_t written) HILO_REQUIRES(send_mutex);
  // Every send still pending fails with `error`.
  void fail_sends_locked(const std::exception_ptr& error) HILO_REQUIRES(send_mutex);
  // The waiting thread writes the queue itself until `frame` is written (or the socket cannot
  // take more before the deadline), instead of sleeping while the progress thread does.
  void drive_send(const OutgoingFrame& frame, Deadline deadline) HILO_EXCLUDES(send_mutex);

  // ---- receive side, guarded by the engine's progress mutex (see the top of this file)
  FrameReader reader;  // the frame being read, and how a frame is parsed
  // The ByteSource the reader reads: the ring when the pair has one, else the socket. A ring
  // whose peer rings a doorbell when it waits for room gets one once bytes were taken.
  bool receive(void* into, std::size_t want, std::size_t& got, bool& drained) override;
  // The mailbox the last message frame went to (the engine's cache: most frames in a row are
  // for one communicator).
  std::uint64_t cached_context = 0;
  detail::Mailbox* cached_box = nullptr;
  const std::vector<int>* cached_members = nullptr;
  bool cached_collective_channel = false;
  // A pair with shared memory: its socket ended (EOF, or the error in socket_error). Its frames
  // still in the ring are read first; then the connection is over like a socket that ended.
  bool socket_ended = false;
  int socket_error = 0;
  bool loss_reported = false;  // to hilorun (report_loss)
  // Single copy from this peer: deliveries told where to go, waiting for `copied`, oldest first.
  struct OpenTransfer {
    detail::Mailbox* box;
    detail::Mailbox::Delivery delivery;
  };
  std::deque<OpenTransfer> awaiting_copy;
};

}  // namespace hilo::tcp
