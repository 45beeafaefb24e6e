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
// Receiving. Whoever drives the sockets reads each connection with its FrameReader
// (frame_reader.hpp): into a 64 KiB staging buffer (many small frames per read), decoding each
// header; the engine (its FrameSink) asks the communicator's Mailbox where the payload goes (the
// posted receive's own buffer when there is one), and large payloads are read straight there.
//
// Latency. A thread waiting for a receive first drives the sockets itself for a short window
// (HILO_TCP_SPIN_US), then sleeps and the progress thread takes over: who drives them and when is
// the ProgressLoop's (progress_loop.hpp, which says why). Whoever holds the progress mutex is the
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
// kernel allows it; the connection carries only their envelopes. See single_copy.hpp; the
// protocol is the SingleCopyProtocol's (single_copy_protocol.hpp).
//
// Failures. recv() == 0 or a reset without a goodbye frame means the peer died: every pending
// and later receive of this rank (any communicator, any source) and every send to that peer
// fails with hilo::PeerLost naming its rank and host. A rank that finishes normally sends a
// goodbye frame first; then only receives that wait for it (by rank) fail, so ranks that finish
// early do not break the others. A malformed frame is treated as a lost peer: the connection
// cannot be trusted after it. A rank that fails (its runtime unwinds from an exception) sends an
// abort frame with the reason first, so a cascade names its root cause. Under hilorun, a rank
// that loses a peer (not one that said goodbye) reports it to hilorun first (report_channel.hpp),
// so hilorun names the rank that failed first; the progress loop also watches that connection for
// hilorun's requests for the rank's pending operations (pending_reporter.hpp). Stalled peers are
// the callers' deadlines' business (hilo::Timeout).
//
// Where the code is, one concern a class (after Gloo's gloo/transport/tcp/: pair, loop, listener):
//   engine.hpp/.cpp       Engine: composes the rest; construction and shutdown, mailboxes, sends,
//                         lost and finished peers
//   engine_receive.cpp    Engine as the progress loop's SocketDriver (events, rings, a connection
//                         that ends) and as the FrameSink of each peer's frames
//   progress_loop.*       ProgressLoop: the progress thread, epoll and its wake-up eventfd, the
//                         progress mutex, a user thread's polling
//   progress_turn.*       ProgressTurn: whether a polling user thread or the progress thread drives
//   frame_reader.*        FrameReader: where a frame is parsed (one connection's receive state)
//   peer_connection.*     PeerConnection: one connection: its socket or ring, its send queue and
//                         how it is written, its FrameReader
//   outgoing_frame.*      OutgoingFrame: one frame on its way, with the two halves of a single copy
//   send_operation.*      SendOperation: the operation isend returns
//   single_copy_protocol.*  SingleCopyProtocol: offers, ready-to-send, clear-to-send, copied
//   stranger_listener.*   StrangerListener: the listener after setup: strangers accepted, refused
//   shm_ring.*, shm_channel.*  the shared-memory rings of a same-host pair and their set-up
//
// Locking (each header states its part beside the members it guards): the progress mutex
// (ProgressLoop::mutex), held by whoever drives the sockets, guards every connection's receive
// side (its FrameReader, its open single-copy transfers) and the stranger listener; a
// connection's send_mutex guards its send side; contexts_mutex_ the mailboxes and the record of
// lost and finished peers; an OutgoingFrame's own mutexes its completion. Lock order: the progress
// mutex before a send_mutex before a frame's mutexes; contexts_mutex_ before a Mailbox's mutex. A
// socket is closed only with both the progress mutex and its send_mutex held.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/tcp/frame.hpp"
#include "backends/tcp/frame_reader.hpp"
#include "backends/tcp/outgoing_frame.hpp"
#include "backends/tcp/peer_connection.hpp"
#include "backends/tcp/pending_reporter.hpp"
#include "backends/tcp/progress_loop.hpp"
#include "backends/tcp/single_copy_protocol.hpp"
#include "backends/tcp/socket.hpp"
#include "backends/tcp/stranger_listener.hpp"
#include "comm/mailbox.hpp"
#include "common/thread_annotations.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/detail/log.hpp"
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
  // Under hilorun: answers hilorun's requests for the rank's pending operations, read on the
  // same connection by the progress loop.
  std::shared_ptr<PendingReporter> pending_reporter;
  detail::Log log;  // the rank's (hilo/detail/log.hpp): a lost peer is written to it
};

class Engine final : private SocketDriver {
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
  // Under hilorun, the rank's reporter of pending operations; null otherwise.
  PendingReporter* pending_reporter() const { return config_.pending_reporter.get(); }
  int size() const { return static_cast<int>(config_.table.size()); }
  const detail::Log& log() const { return config_.log; }
  // Where `world_rank` listens (host, address, port), from the rendezvous table; the connection
  // to it is a PeerConnection (peer_connection.hpp).
  const launch::PeerAddress& address_of(int world_rank) const {
    return config_.table[static_cast<std::size_t>(world_rank)];
  }
  std::string describe(int world_rank) const;  // "rank 3 (host n1, 10.0.0.3:40001)"

  // The mailbox of communicator `context` on this rank, whose ranks are the world ranks
  // `members` (this rank is `my_rank` among them). Messages that arrived before the
  // communicator was made here are already in it. `collective_channel`: whether it is a
  // communicator's collective channel, whose messages may carry a stamp (frame.hpp).
  detail::Mailbox& mailbox(std::uint64_t context, const std::vector<int>& members, int my_rank,
                           bool collective_channel);

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
  void report_lost(int world_rank, const std::string& why) HILO_EXCLUDES(loop_.mutex());

  // Blocking send: returns once the socket has taken every byte (the buffer may be reused).
  // Throws PeerLost (peer dead or finished), Timeout (the peer does not read: it stalls).
  void send(int world_dest, const FrameHeader& header, const void* data, Deadline deadline);
  // Nonblocking send; the returned operation completes when the socket has taken every byte.
  std::unique_ptr<Operation> isend(int world_dest, const FrameHeader& header,
                                   std::shared_ptr<const void> keep_alive, const void* data);

 private:
  using Peer = PeerConnection;
  // The epoll tag of the report connection (none of the loop's or the stranger listener's).
  static constexpr std::uint64_t report_tag = std::uint64_t{4} << 32;
  struct Context {
    std::unique_ptr<detail::Mailbox> box;
    std::vector<int> members;         // empty until this rank makes the communicator
    bool collective_channel = false;  // set with members
  };

  // ---- what the progress loop drives (SocketDriver, progress_loop.hpp; engine_receive.cpp).
  // Each runs with the progress mutex held, as the receive side it touches requires.
  // An epoll event: the listener's or a stranger's, or a peer's (tag: its rank).
  void handle_event(std::uint64_t tag, std::uint32_t events) override HILO_REQUIRES(loop_.mutex());
  bool read_peer(int world_rank) override HILO_REQUIRES(loop_.mutex());
  // Reads every ring that has bytes; true if any had.
  bool poll_rings() override HILO_REQUIRES(loop_.mutex());
  bool rings_sleep() override HILO_REQUIRES(loop_.mutex());
  void rings_awake() override HILO_REQUIRES(loop_.mutex());
  std::optional<Clock::time_point> next_wakeup() override HILO_REQUIRES(loop_.mutex());
  void expire(Clock::time_point now) override HILO_REQUIRES(loop_.mutex());

  class IncomingFrames;  // the FrameSink of one peer's frames (engine_receive.cpp)
  // Reads what `peer` sent (its FrameReader); a connection that ends or breaks is closed here.
  void read_from(Peer& peer) HILO_REQUIRES(loop_.mutex());
  // A pair with a ring (shm_channel.hpp): takes the doorbells (and notes an ended socket),
  // writes what waits for room, reads the ring.
  void handle_ring_event(Peer& peer) HILO_REQUIRES(loop_.mutex());
  // Where a message frame from `peer` with `header` goes; throws if the header names a source
  // that is not `peer` in its communicator, or carries a stamp on a user channel.
  detail::Mailbox& mailbox_for_frame(Peer& peer, const FrameHeader& header)
      HILO_REQUIRES(loop_.mutex()) HILO_EXCLUDES(contexts_mutex_);
  // Under hilorun, tells it (once per peer, never for one that said goodbye) that `peer` is lost,
  // before any caller can see a PeerLost for it.
  void report_loss(Peer& peer, const std::string& why) HILO_REQUIRES(loop_.mutex());
  void peer_lost(Peer& peer, const std::string& why) HILO_REQUIRES(loop_.mutex());
  void peer_finished(Peer& peer) HILO_REQUIRES(loop_.mutex());
  void deliver_to_self(const FrameHeader& header, const void* data) HILO_EXCLUDES(contexts_mutex_);
  // Queues a message frame to `peer` (PeerConnection::queue_message_locked, which says when it
  // returns null); the sockets go to the progress thread when it awaits a clear-to-send, so that
  // it is read soon. Takes peer.send_mutex.
  std::shared_ptr<OutgoingFrame> queue_message(Peer& peer, const FrameHeader& header,
                                               const void* data,
                                               std::shared_ptr<const void> keep_alive,
                                               bool write_at_once) HILO_EXCLUDES(peer.send_mutex);
  // Waits until `frame` is written; on a deadline, withdraws it or lets it own its payload, so
  // the stream stays consistent, and throws Timeout.
  void wait_for(Peer& peer, const std::shared_ptr<OutgoingFrame>& frame, Deadline deadline);
  // Queues make_frame() as the last frame to every peer still connected and waits, until
  // `deadline`, for each to be written (a peer lost meanwhile is skipped): finish's goodbye,
  // abort's reason.
  void send_last_frames(const std::function<std::shared_ptr<OutgoingFrame>()>& make_frame,
                        Deadline deadline);

  EngineConfig config_;
  // The progress thread, the epoll set and the progress mutex. Declared before everything it
  // drives or watches: its epoll set outlives them, and the destructor stops its thread first.
  ProgressLoop loop_;
  // Offers, ready-to-sends, clear-to-sends and copied of large messages to and from this host.
  SingleCopyProtocol single_copy_;
  std::vector<std::unique_ptr<Peer>> peers_;
  // The peers with a shared-memory channel (fixed at construction).
  std::vector<Peer*> ring_peers_;
  // The listener, kept open after setup: connections to it are never trusted, always closed
  // (stranger_listener.hpp). Its epoll tags are its own (StrangerListener::owns); a peer's is
  // its rank.
  StrangerListener strangers_ HILO_GUARDED_BY(loop_.mutex());

  // Guards the communicators' mailboxes (the map, not a Mailbox's own queues) and what a
  // mailbox made later must learn: the peers finished and the first peer lost.
  std::mutex contexts_mutex_;
  std::unordered_map<std::uint64_t, Context> contexts_ HILO_GUARDED_BY(contexts_mutex_);
  // World rank, what to raise.
  std::vector<std::pair<int, std::exception_ptr>> finished_ HILO_GUARDED_BY(contexts_mutex_);
  std::exception_ptr lost_ HILO_GUARDED_BY(contexts_mutex_);  // the first peer lost
};

}  // namespace hilo::tcp
