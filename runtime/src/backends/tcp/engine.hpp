// The progress engine of one rank: its connections to every other rank, the thread that moves
// bytes on them, and the mailboxes (one per communicator) that incoming frames are matched in.
//
// Sending. The calling thread writes a frame (header + payload in one sendmsg, MSG_NOSIGNAL, so a
// dead peer is an error and never a SIGPIPE) straight from the user's buffer when nothing is
// queued for that peer; this is the whole cost of a small send. Whatever the socket does not take
// at once is queued and written by the progress thread as the peer drains it, so an isend
// progresses without the user polling (everyone isending 64 MiB to a neighbour, then receiving,
// does not deadlock). Frames to one peer leave in the order they were sent: per-pair order.
//
// Receiving. The progress thread reads each connection into a 64 KiB staging buffer (many small
// frames per read), decodes the header, asks the communicator's Mailbox where the payload goes
// (the posted receive's own buffer when there is one) and reads large payloads straight there.
//
// Latency. A thread blocked in the kernel costs ~30 us to wake here, more than a whole message
// should, and handing a message from the progress thread to the receiving thread costs a few
// more. So a thread waiting for a receive first drives the sockets itself for a short window
// (HILO_TCP_SPIN_US, default 500 us, counted from the last bytes that arrived, so a large message
// streaming in keeps it polling): it takes the progress lock, reads the awaited peer's socket
// directly (every socket through epoll every few rounds, and always for any_source) and
// delivers what arrived, its own message included, with no thread switch. While a
// user thread polls, and for a while after one left with its message (the gap between two
// receives of a loop), the progress thread stands aside (it does not even wait in epoll, so the
// kernel does not wake it per message). Once the window passes the waiter sleeps and the
// progress thread takes over; it too keeps polling for the same window after any traffic before
// it blocks in the kernel. Every polling loop yields the CPU between rounds, so ranks
// oversubscribed on few cores still let each other run. Whoever holds the progress lock is the
// only one touching the receive side of the connections. Measured 8-byte ping-pong, one way,
// back to back with Open MPI's TCP BTL (both under SCHED_RR to shield them from this loaded
// machine): hilo 7.3-8.5 us, Open MPI 8.0-8.4 us; at normal priority with load ~15, hilo
// ~10 us and Open MPI's busy-polling BTL 300-1200 us.
//
// Large messages between ranks on one host go by single copy (process_vm_writev) where the
// kernel allows it; the connection carries only their envelopes. See single_copy.hpp.
//
// Failures. recv() == 0 or a reset without a goodbye frame means the peer died: every pending
// and later receive of this rank (any communicator, any source) and every send to that peer
// fails with hilo::PeerLost naming its rank and host. A rank that finishes normally sends a
// goodbye frame first; then only receives that wait for it (by rank) fail, so ranks that finish
// early do not break the others. A malformed frame is treated as a lost peer: the connection
// cannot be trusted after it. A rank that fails (its runtime unwinds from an exception) sends an
// abort frame with the reason first, so a cascade names its root cause. Under hilorun, a rank
// that loses a peer (not one that said goodbye) reports it to hilorun first (report_channel.hpp),
// so hilorun names the rank that failed first. Stalled peers are the callers' deadlines' business
// (hilo::Timeout).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <sys/epoll.h>
#include <unordered_map>
#include <vector>

#include "backends/tcp/frame.hpp"
#include "backends/tcp/socket.hpp"
#include "backends/tcp/stranger_pool.hpp"
#include "comm/mailbox.hpp"
#include "hilo/comm/transport.hpp"
#include "launch/rendezvous.hpp"
#include "launch/report_channel.hpp"

namespace hilo::tcp {

// How long a waiting thread drives the sockets itself, since the last bytes arrived, before it
// sleeps (HILO_TCP_SPIN_US). At 50 us, a ring all-reduce step through the sockets on 4 ranks
// sharing 2 cores outlasted the window and paid a wake-up per step: 64 KiB took ~135 us, 256 KiB
// ~385 us; at 500 us, ~95 and ~320 us (the TCP BTL, which polls forever: ~95 and ~280 us).
inline constexpr std::chrono::microseconds default_spin_window{500};

struct EngineConfig {
  int rank = 0;
  std::vector<launch::PeerAddress> table;  // by rank
  std::chrono::microseconds spin_window = default_spin_window;
  std::uint64_t max_payload = default_max_payload();
  std::string token;        // to tell late strangers apart in the log
  bool single_copy = true;  // offer peers on this host to write large payloads into this rank
  // Under hilorun: the rank's report connection. A lost peer is reported on it before the
  // PeerLost reaches any caller, so hilorun can name the rank that failed first.
  std::shared_ptr<launch::ReportChannel> reports;
};

class OutgoingFrame;

class Engine {
 public:
  // Takes the listener (kept open so late strangers are refused and logged) and one connected,
  // handshaken socket per peer, and starts the progress thread.
  Engine(EngineConfig config, Listener listener, std::vector<common::UniqueFd> peers,
         std::unique_ptr<RejectionLog> log);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();  // stops abruptly if finish() was not called: the peers see this rank as lost

  // Normal end: flushes every queued frame, tells every peer goodbye, stops the progress thread
  // and closes the sockets. Waits at most `limit` for slow peers to take the remaining bytes.
  void finish(std::chrono::milliseconds limit);

  // Failing end (an exception is unwinding the runtime): tells every peer why in an abort frame
  // (best effort, at most `limit`), then stops and closes. The peers fail at once with PeerLost
  // naming this rank and the reason, instead of "exited or was killed".
  void abort(std::chrono::milliseconds limit);

  int rank() const { return config_.rank; }
  int size() const { return static_cast<int>(config_.table.size()); }
  const launch::PeerAddress& peer(int world_rank) const {
    return config_.table[static_cast<std::size_t>(world_rank)];
  }
  std::string describe(int world_rank) const;  // "rank 3 (host n1, 10.0.0.3:40001)"

  // The mailbox of communicator `context` on this rank, whose ranks are the world ranks
  // `members` (this rank is `my_rank` among them). Messages that arrived before the
  // communicator was made here are already in it.
  detail::Mailbox& mailbox(std::uint64_t context, const std::vector<int>& members, int my_rank);

  // Drives the connections from the calling thread until `receive` is done or the spin window
  // passes (then the caller sleeps in the Mailbox and the progress thread carries on).
  // `world_source` is the peer the receive waits for (any_source: any): its socket is read
  // directly, without asking epoll first; every few rounds all sockets are polled.
  void poll_until(const detail::PendingReceive& receive, int world_source);

  // The pid of `world_rank`'s process when this rank may read and write its memory (its offer
  // passed the probe: single_copy.hpp), else 0. Offers arrive just after the mesh is up, so a
  // rank of this host may still read 0 in the first moments of a job.
  pid_t memory_of(int world_rank);

  // Blocking send: returns once the socket has taken every byte (the buffer may be reused).
  // Throws PeerLost (peer dead or finished), Timeout (the peer does not read: it stalls).
  void send(int world_dest, const FrameHeader& header, const void* data, Deadline deadline);
  // Nonblocking send; the returned operation completes when the socket has taken every byte.
  std::unique_ptr<Operation> isend(int world_dest, const FrameHeader& header,
                                   std::shared_ptr<const void> keep_alive, const void* data);

 private:
  struct Peer;
  struct Context {
    std::unique_ptr<detail::Mailbox> box;
    std::vector<int> members;  // empty until this rank makes the communicator
  };
  friend class SendOperation;

  void progress_loop();
  bool progress_is_mine();
  // Handles `count` epoll events; the caller holds progress_mutex_.
  void handle_events(const epoll_event* events, int count);
  void read_from(Peer& peer);
  bool read_frames(Peer& peer);  // false: the connection is gone
  void flush_locked(Peer& peer);
  void set_want_write_locked(Peer& peer, bool want);
  void complete_frames_locked(Peer& peer, std::size_t written);
  void accept_strangers();
  void read_stranger(int fd);
  // Polls the listener again once its rest is over; the caller holds progress_mutex_.
  void wake_listener_if_rested(std::chrono::steady_clock::time_point now);
  detail::Mailbox& mailbox_for_frame(Peer& peer, std::uint64_t context);
  // Every send to `peer` still pending fails with `error`; the caller holds its send_mutex.
  void fail_sends_locked(Peer& peer, const std::exception_ptr& error);
  // Under hilorun, tells it (once per peer, never for one that said goodbye) that `peer` is lost,
  // before any caller can see a PeerLost for it; the caller holds progress_mutex_.
  void report_loss(Peer& peer, const std::string& why);
  void peer_lost(Peer& peer, const std::string& why);
  void peer_finished(Peer& peer);
  void deliver_to_self(const FrameHeader& header, const void* data);
  // Waits until `frame` is written; on a deadline, detaches it so the stream stays consistent.
  void wait_for(Peer& peer, const std::shared_ptr<OutgoingFrame>& frame, Deadline deadline);
  // The waiting thread writes the peer's queue itself until `frame` is written (or the socket
  // cannot take more before the deadline), instead of sleeping while the progress thread does.
  void drive_send(Peer& peer, const OutgoingFrame& frame, Deadline deadline);
  void detach(Peer& peer, OutgoingFrame& frame);
  void stop_thread();

  // ---- single copy (single_copy.hpp)
  // Queues a small frame of the engine's own (offer, clear-to-send, copied) to `peer`.
  void send_control(Peer& peer, std::uint8_t flags, const std::byte* payload, std::size_t bytes);
  void queue_control_locked(Peer& peer, std::uint8_t flags, const std::byte* payload,
                            std::size_t bytes);
  // The control frames' payload (offer or clear-to-send) has been read into peer.control.
  void handle_control(Peer& peer);
  // A ready-to-send arrived: begin the delivery and tell the sender where to write.
  void accept_ready_to_send(Peer& peer);
  // Writes the oldest frame waiting for clearance into the peer at `address`.
  void write_cleared(Peer& peer, std::uint64_t address);
  // Lets the progress thread stop standing aside for pollers, to read a clear-to-send.
  void wake_progress_thread();
  // Fails every single-copy transfer still open with `peer` (the connection is over).
  void fail_open_transfers(Peer& peer, const std::exception_ptr& error);

  EngineConfig config_;
  const std::chrono::microseconds hard_spin_;  // see hard_spin_for
  // The word a peer on this host reads back to prove it can reach this process's memory.
  const std::uint64_t probe_word_;
  Listener listener_;
  std::unique_ptr<RejectionLog> log_;  // under progress_mutex_
  std::vector<std::unique_ptr<Peer>> peers_;
  common::UniqueFd epoll_;
  common::UniqueFd wake_;  // eventfd: finish() stops the thread through it

  std::mutex contexts_mutex_;
  std::unordered_map<std::uint64_t, Context> contexts_;
  std::vector<std::pair<int, std::exception_ptr>> finished_;  // world rank, what to raise
  std::exception_ptr lost_;                                   // the first peer lost

  // Connections to the listener after setup: never trusted, always closed (stranger_pool.hpp).
  StrangerPool strangers_;  // under progress_mutex_
  // While accept() finds no fd, the listener is left out of epoll until then (else it would
  // report readable again at once, and the progress thread would spin).
  std::optional<std::chrono::steady_clock::time_point> listener_rests_until_;  // progress_mutex_

  // Held by whichever thread is handling socket events: the progress thread, or a user thread
  // polling for its own receive. It guards every Peer's receive side, strangers_ and log_.
  std::mutex progress_mutex_;
  std::uint64_t bytes_read_ = 0;  // from every peer, ever; under progress_mutex_
  std::atomic<int> pollers_{0};   // user threads inside poll_until
  // When a user thread last left poll_until with its message (steady clock, ns), and whether
  // one gave up or a transfer needs the progress thread now (see progress_is_mine).
  std::atomic<std::int64_t> last_poll_done_{0};
  std::atomic<bool> takeover_{false};
  std::mutex pollers_mutex_;
  std::condition_variable pollers_left_;
  std::atomic<bool> stopping_{false};
  bool finished_cleanly_ = false;
  std::thread progress_;
};

}  // namespace hilo::tcp
