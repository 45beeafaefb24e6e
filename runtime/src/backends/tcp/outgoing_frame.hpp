// One frame on its way to a peer (the send side of a connection: peer_connection.hpp), and the
// two halves a large single-copy payload is written in (single_copy.hpp).
//
// Locking contract. `sent`, `data` and `owned` (where the next byte to write is) change only with
// the owning connection's send_mutex held. Completion (pending/complete/wait) is guarded by the
// frame's own mutex_; `state_` is also an atomic so pending() can be read without it (release in
// complete(), acquire in pending(): whoever sees a frame done also sees its error). copy_mutex
// orders own_remaining_payload (which may move copy_source) against write_cleared (after which
// copy_source stays where it is). Lock order: send_mutex, then copy_mutex, then mutex_.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>

#include "backends/tcp/frame.hpp"
#include "common/thread_annotations.hpp"
#include "hilo/comm/types.hpp"

namespace hilo::tcp {

// A waiting sender spins this many rounds before sleeping (see Mailbox for the receive side).
inline constexpr int send_spin_rounds = 200;

// One frame waiting for (part of) its bytes to be written. Its position (`sent`) and buffer are
// guarded by the peer's send mutex; its completion by its own mutex.
class OutgoingFrame {
 public:
  OutgoingFrame(const EncodedHeader& header, const void* data, std::size_t bytes,
                std::shared_ptr<const void> keep_alive)
      : header(header),
        data(static_cast<const std::byte*>(data)),
        bytes(bytes),
        keep_alive(std::move(keep_alive)) {}

  std::size_t total() const { return frame_header_size + bytes; }
  // A ready-to-send (single_copy.hpp): the wire carries only its header; it completes once the
  // payload has been written into the receiver.
  bool awaits_clearance() const { return copy_bytes > 0; }
  std::size_t message_bytes() const { return awaits_clearance() ? copy_bytes : bytes; }
  bool pending() const { return state_.load(std::memory_order_acquire) == kPending; }
  void complete(std::exception_ptr error) HILO_EXCLUDES(mutex_);
  // Waits until done or `deadline`; returns false on the deadline. Rethrows a failure. A
  // single-copy payload being written meanwhile gets this thread's help (see write_cleared).
  bool wait(Deadline deadline) HILO_EXCLUDES(mutex_);

  // ---- single copy (single_copy.hpp)
  // Run by the thread that handled the clear-to-send: writes the payload into process `pid` at
  // `address`. A large payload is written in two halves at once: this thread writes the first
  // and offers the second to the sending thread, if that one waits in wait() (two threads move
  // a large payload about twice as fast as one: benchmarks/analysis.md); a half nobody took, it
  // writes itself. Returns 0 or the errno that
  // stopped a half.
  int write_cleared(pid_t pid, std::uint64_t address) HILO_EXCLUDES(copy_mutex, mutex_);
  // The rest of the payload moves into a buffer of the frame's own, so the caller's may go.
  // Returns false for a single-copy payload whose writing has begun: it is not moved, and ends
  // within the time of a memory copy; wait for the frame instead.
  // The caller holds the connection's send_mutex.
  bool own_remaining_payload() HILO_EXCLUDES(copy_mutex, mutex_);

  EncodedHeader header;
  const std::byte* data;
  std::size_t bytes;
  std::size_t sent = 0;
  std::shared_ptr<const void> keep_alive;
  std::unique_ptr<std::byte[]> owned;
  bool control = false;  // the engine's own (offer, clear-to-send, copied): never held back
  // Single copy: the payload and its length. copy_mutex orders own_remaining_payload (which may
  // move copy_source) against write_cleared (after which it stays).
  const std::byte* copy_source = nullptr;
  std::size_t copy_bytes = 0;
  std::mutex copy_mutex;

 private:
  void write_second_half() HILO_EXCLUDES(mutex_);

  enum : int { kPending, kDone, kFailed };
  std::atomic<int> state_{kPending};
  std::exception_ptr error_;
  std::mutex mutex_;
  std::condition_variable changed_;
  // Single copy, under mutex_ (the fields after it are set before the stage leaves kNotCleared).
  enum CopyStage { kNotCleared, kHalfOffered, kHalfTaken, kHalfDone };
  CopyStage copy_stage_ = kNotCleared;
  int second_half_failure_ = 0;
  pid_t copy_pid_ = 0;
  std::uint64_t destination_ = 0;
  std::size_t split_ = 0;
};

// The front frame may not be written yet: a single-copy transfer to the peer is in flight and
// the front is a message frame that must follow it. The caller holds the send_mutex.
bool held_back(const OutgoingFrame& frame, int in_flight);
bool held_back(const std::deque<std::shared_ptr<OutgoingFrame>>& queue, int in_flight);

// A ready-to-send for the message `header` with payload `data` (single_copy.hpp): the wire
// carries its header only, and the payload is written into the receiver once it is cleared.
std::shared_ptr<OutgoingFrame> ready_to_send_frame(const FrameHeader& header, const void* data,
                                                   std::shared_ptr<const void> keep_alive);

}  // namespace hilo::tcp
