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
// Latency. Waking a thread blocked in the kernel costs more than a whole small message should,
// and handing a message from the progress thread to the receiving thread costs more again
// (benchmarks/analysis.md, "The TCP engine's latency choices"). So a thread waiting for a receive
// first drives the sockets itself for a short window (HILO_TCP_SPIN_US, default 500 us, counted
// from the last bytes that arrived, so a large message streaming in keeps it polling): it takes the
// progress lock, reads the awaited peer's socket directly (every socket through epoll every few
// rounds, and always for any_source) and delivers what arrived, its own message included, with no
// thread switch. While a user thread polls, and for a while after one left with its message (the
// gap between two receives of a loop), the progress thread stands aside (it does not even wait in
// epoll, so the kernel does not wake it per message). Once the window passes the waiter sleeps and
// the progress thread takes over; it too keeps polling for the same window after any traffic before
// it blocks in the kernel. Every polling loop yields the CPU between rounds, so ranks
// oversubscribed on few cores still let each other run. Whoever holds the progress lock is the
// only one touching the receive side of the connections.
//
// Ranks of one host (checked: shm_channel.hpp) can exchange their frames through a pair of
// shared-memory rings instead of the socket (unless HILO_TCP_SHM=off). Everything above holds
// unchanged, since the rings carry the very same frames: the reader reads a ring where it would
// read the socket, the writer writes it where it would write the socket. A reader that sleeps in
// epoll asks for a doorbell (a byte on the pair's socket); one that polls reads the rings directly.
// The socket's end still tells that the peer died: its frames left in the ring are read first.
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
//
// Where the code is, one concern a file (after Gloo's gloo/transport/tcp/: pair, loop, listener):
//   peer_connection.*     one connection: its socket, its send queue and how it is written, and
//                         the state of the frame being read from it
//   outgoing_frame.*      one frame on its way, with the two halves of a single-copy payload
//   send_operation.*      the operation isend returns
//   stranger_listener.*   the listener after setup: strangers accepted, judged, refused
//   progress_turn.*       whether a polling user thread or the progress thread drives the sockets
//   engine.cpp            construction and shutdown, mailboxes, sends, lost and finished peers
//   engine_receive.cpp    the frame reader
//   engine_single_copy.cpp  offers, ready-to-send, clear-to-send, copied (single_copy.hpp)
//   engine_progress.cpp   the progress thread, a user thread's polling, epoll events
//   shm_ring.*, shm_channel.*  the shared-memory rings of a same-host pair and their set-up
//
// Locking (each header states its part beside the members it guards): progress_mutex_, held by
// whoever drives the sockets, guards every connection's receive side and the stranger listener;
// a connection's send_mutex guards its send side; contexts_mutex_ the mailboxes and the record
// of lost and finished peers; an OutgoingFrame's own mutexes its completion. Lock order:
// progress_mutex_ before a send_mutex before a frame's mutexes; contexts_mutex_ before a
// Mailbox's mutex. A socket is closed only with both progress_mutex_ and its send_mutex held.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <sys/epoll.h>
#include <unordered_map>
#include <vector>

#include "backends/tcp/frame.hpp"
#include "backends/tcp/outgoing_frame.hpp"
#include "backends/tcp/peer_connection.hpp"
#include "backends/tcp/progress_turn.hpp"
#include "backends/tcp/single_copy_protocol.hpp"
#include "backends/tcp/socket.hpp"
#include "backends/tcp/stranger_listener.hpp"
#include "comm/mailbox.hpp"
#include "common/thread_annotations.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "launch/rendezvous.hpp"
#include "launch/report_channel.hpp"

namespace hilo::tcp {

// How long a waiting thread drives the sockets itself, since the last bytes arrived, before it
// sleeps (HILO_TCP_SPIN_US). Long enough that a step of a ring all-reduce through the sockets,
// ranks sharing cores, stays within it: a shorter window paid a wake-up per step
// (benchmarks/analysis.md, "The TCP engine's latency choices").
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

class Engine {
 public:
  // Takes the listener (kept open so late strangers are refused and logged) and one connected,
  // handshaken socket per peer, and starts the progress thread.
  // `shm`, by rank, holds the shared-memory channels set up with peers of this host
  // (shm_channel.hpp; empty or null: the socket carries that pair's frames).
  Engine(EngineConfig config, Listener listener, std::vector<common::UniqueFd> peers,
         std::unique_ptr<RejectionLog> log, std::vector<std::unique_ptr<ShmChannel>> shm = {});
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
  // Where `world_rank` listens (host, address, port), from the rendezvous table; the connection
  // to it is a PeerConnection (peer_connection.hpp).
  const launch::PeerAddress& address_of(int world_rank) const {
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

  // Reports to hilorun (once, as a lost connection is reported) that `world_rank`'s process was
  // found gone outside its connection: its memory could not be read (the direct all-reduce), so
  // hilorun can name the rank that failed first even when this rank fails before its socket says
  // so. `why` is the message without its "hilo: " prefix.
  void report_lost(int world_rank, const std::string& why) HILO_EXCLUDES(progress_mutex_);

  // Blocking send: returns once the socket has taken every byte (the buffer may be reused).
  // Throws PeerLost (peer dead or finished), Timeout (the peer does not read: it stalls).
  void send(int world_dest, const FrameHeader& header, const void* data, Deadline deadline);
  // Nonblocking send; the returned operation completes when the socket has taken every byte.
  std::unique_ptr<Operation> isend(int world_dest, const FrameHeader& header,
                                   std::shared_ptr<const void> keep_alive, const void* data);

 private:
  using Peer = PeerConnection;
  struct Context {
    std::unique_ptr<detail::Mailbox> box;
    std::vector<int> members;  // empty until this rank makes the communicator
  };

  void progress_loop() HILO_EXCLUDES(progress_mutex_);
  // Handles `count` epoll events.
  void handle_events(const epoll_event* events, int count) HILO_REQUIRES(progress_mutex_);
  class IncomingFrames;  // the FrameSink of one peer's frames (engine_receive.cpp)
  // Reads what `peer` sent (its FrameReader); a connection that ends or breaks is closed here.
  void read_from(Peer& peer) HILO_REQUIRES(progress_mutex_);
  // ---- shared memory (shm_channel.hpp)
  // A pair with a ring: takes the doorbells (and notes an ended socket), writes what waits for
  // room, reads the ring.
  void handle_ring_event(Peer& peer) HILO_REQUIRES(progress_mutex_);
  // Reads every ring that has bytes; true if any had.
  bool poll_rings() HILO_REQUIRES(progress_mutex_);
  // The progress thread is about to sleep in epoll: asks every ring's writer to ring the
  // doorbell; true if a ring has bytes already (then it must not sleep).
  bool rings_sleep() HILO_REQUIRES(progress_mutex_);
  void rings_awake() HILO_REQUIRES(progress_mutex_);
  // Where a message frame from `peer` with `header` goes; throws if the header names a source
  // that is not `peer` in its communicator.
  detail::Mailbox& mailbox_for_frame(Peer& peer, const FrameHeader& header)
      HILO_REQUIRES(progress_mutex_) HILO_EXCLUDES(contexts_mutex_);
  // Under hilorun, tells it (once per peer, never for one that said goodbye) that `peer` is lost,
  // before any caller can see a PeerLost for it.
  void report_loss(Peer& peer, const std::string& why) HILO_REQUIRES(progress_mutex_);
  void peer_lost(Peer& peer, const std::string& why) HILO_REQUIRES(progress_mutex_);
  void peer_finished(Peer& peer) HILO_REQUIRES(progress_mutex_);
  void deliver_to_self(const FrameHeader& header, const void* data) HILO_EXCLUDES(contexts_mutex_);
  // Waits until `frame` is written; on a deadline, withdraws it or lets it own its payload, so
  // the stream stays consistent, and throws Timeout.
  void wait_for(Peer& peer, const std::shared_ptr<OutgoingFrame>& frame, Deadline deadline);
  void stop_thread();
  // Queues make_frame() as the last frame to every peer still connected and waits, until
  // `deadline`, for each to be written (a peer lost meanwhile is skipped): finish's goodbye,
  // abort's reason.
  void send_last_frames(const std::function<std::shared_ptr<OutgoingFrame>()>& make_frame,
                        Deadline deadline);

  EngineConfig config_;
  const std::chrono::microseconds hard_spin_;  // see hard_spin_for
  // Offers, ready-to-sends, clear-to-sends and copied of large messages to and from this host.
  SingleCopyProtocol single_copy_;
  std::vector<std::unique_ptr<Peer>> peers_;
  // The peers with a shared-memory channel (fixed at construction).
  std::vector<Peer*> ring_peers_;
  common::UniqueFd epoll_;
  // The epoll tag of wake_; a peer's is its rank, the listener's and strangers' their own
  // (StrangerListener::owns).
  static constexpr std::uint64_t wake_tag = std::uint64_t{2} << 32;
  common::UniqueFd wake_;  // eventfd: finish() stops the thread through it
  // The listener, kept open after setup: connections to it are never trusted, always closed
  // (stranger_listener.hpp). Declared after epoll_, which outlives it.
  StrangerListener strangers_ HILO_GUARDED_BY(progress_mutex_);

  // Guards the communicators' mailboxes (the map, not a Mailbox's own queues) and what a
  // mailbox made later must learn: the peers finished and the first peer lost.
  std::mutex contexts_mutex_;
  std::unordered_map<std::uint64_t, Context> contexts_ HILO_GUARDED_BY(contexts_mutex_);
  // World rank, what to raise.
  std::vector<std::pair<int, std::exception_ptr>> finished_ HILO_GUARDED_BY(contexts_mutex_);
  std::exception_ptr lost_ HILO_GUARDED_BY(contexts_mutex_);  // the first peer lost

  // Held by whichever thread is handling socket events: the progress thread, or a user thread
  // polling for its own receive (try_lock: a poller never waits for it). It guards every
  // connection's receive side (peer_connection.hpp), strangers_ and bytes_read_.
  std::mutex progress_mutex_;
  std::uint64_t bytes_read_ HILO_GUARDED_BY(progress_mutex_) = 0;  // from every peer, ever
  ProgressTurn turn_;  // whether a user thread or the progress thread drives the sockets
  // Set once by stop_thread(); read relaxed by the polling loops, which the wake_ eventfd or
  // ProgressTurn::recheck brings round to look.
  std::atomic<bool> stopping_{false};
  bool finished_cleanly_ = false;  // only the thread calling finish() touches it
  std::thread progress_;
};

}  // namespace hilo::tcp
