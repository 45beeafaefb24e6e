#include "backends/tcp/engine.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <random>

#include "backends/tcp/handshake.hpp"
#include "backends/tcp/mesh_setup.hpp"
#include "backends/tcp/single_copy.hpp"
#include "common/seconds_text.hpp"
#include "common/system_error.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

using Clock = std::chrono::steady_clock;
using detail::Envelope;
using detail::Mailbox;

namespace {

constexpr std::size_t staging_size = 64 * 1024;
// Payloads at least this large are read straight into their destination, not via staging.
constexpr std::size_t direct_read_threshold = 16 * 1024;
// Bytes one connection may read per turn before the others get theirs (fairness).
constexpr std::size_t read_budget = 8 * 1024 * 1024;
constexpr int max_frames_per_write = 32;
// A receiving thread polls without yielding the core for this long (see poll_until), when its
// host has a core for each of its ranks.
constexpr auto hard_spin = std::chrono::microseconds(10);
// A waiting sender spins this many rounds before sleeping (see Mailbox for the receive side).
constexpr int send_spin_rounds = 200;

// While user threads poll, the progress thread looks this often whether they still do, and
// takes over once none has polled for this long (a thread that got its message and went on
// computing does not wake it: queued sends and arrivals wait at most twice this long for it).
constexpr auto progress_recheck = std::chrono::microseconds(500);

constexpr std::uint64_t listener_tag = std::uint64_t{1} << 32;
constexpr std::uint64_t wake_tag = std::uint64_t{2} << 32;
constexpr std::uint64_t stranger_tag = std::uint64_t{3} << 32;

// No spin without yielding when the ranks on this host outnumber its cores: a rank that keeps
// its core then keeps off it the very peer it waits for. Measured on 2 cores, 4 ranks, all-reduce
// of 4 B - 1 KiB: median 62-94 us with the spin, 49-64 us without (MPI's TCP BTL: 55-59 us);
// 2 ranks: the same all-reduce times either way, 8 B ping-pong 6.9 us with the spin, 7.4 without.
std::chrono::microseconds hard_spin_for(const EngineConfig& config) {
  const std::string& my_host = config.table.at(static_cast<std::size_t>(config.rank)).host;
  const auto ranks_here = std::count_if(config.table.begin(), config.table.end(),
                                        [&](const auto& peer) { return peer.host == my_host; });
  cpu_set_t usable;
  int cores = 0;
  if (::sched_getaffinity(0, sizeof usable, &usable) == 0) cores = CPU_COUNT(&usable);
  if (cores <= 0) cores = static_cast<int>(std::thread::hardware_concurrency());
  return ranks_here <= cores ? hard_spin : std::chrono::microseconds(0);
}

}  // namespace

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
  void complete(std::exception_ptr error) {
    {
      std::lock_guard lock(mutex_);
      error_ = std::move(error);
      state_.store(error_ ? kFailed : kDone, std::memory_order_release);
    }
    changed_.notify_all();
  }
  // Waits until done or `deadline`; returns false on the deadline. Rethrows a failure. A
  // single-copy payload being written meanwhile gets this thread's help (see write_cleared).
  bool wait(Deadline deadline) {
    for (int round = 0; round < send_spin_rounds && pending(); ++round)
      if (round > send_spin_rounds / 4) std::this_thread::yield();
    std::unique_lock lock(mutex_);
    while (pending()) {
      if (copy_stage_ == kHalfOffered) {
        lock.unlock();
        write_second_half();
        lock.lock();
        continue;
      }
      if (deadline.is_never())
        changed_.wait(lock);
      else if (changed_.wait_until(lock, deadline.at) == std::cv_status::timeout && pending() &&
               copy_stage_ != kHalfOffered)
        return false;
    }
    if (error_) std::rethrow_exception(error_);
    return true;
  }

  // ---- single copy (single_copy.hpp)
  // Run by the thread that handled the clear-to-send: writes the payload into process `pid` at
  // `address`. A large payload is written in two halves at once: this thread writes the first
  // and offers the second to the sending thread, if that one waits in wait() (one thread's
  // process_vm_writev of 16 MiB moves ~3.6 GB/s here, two threads' ~8 GB/s: the receiver's core
  // is idle meanwhile); a half nobody took, it writes itself. Returns 0 or the errno that
  // stopped a half.
  int write_cleared(pid_t pid, std::uint64_t address) {
    constexpr std::size_t min_half = 128 * 1024;
    constexpr std::size_t page = 4096;
    {
      std::lock_guard copy_lock(copy_mutex);  // from here on, copy_source stays where it is
      std::lock_guard lock(mutex_);
      copy_pid_ = pid;
      destination_ = address;
      split_ = copy_bytes >= 2 * min_half ? copy_bytes / 2 / page * page : copy_bytes;
      copy_stage_ = split_ < copy_bytes ? kHalfOffered : kHalfDone;
    }
    changed_.notify_all();
    const int failure = write_into(pid, copy_source, address, split_);
    write_second_half();  // unless the sending thread took it
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return copy_stage_ == kHalfDone; });
    return failure != 0 ? failure : second_half_failure_;
  }
  // The rest of the payload moves into a buffer of the frame's own, so the caller's may go.
  // Returns false for a single-copy payload whose writing has begun: it is not moved, and ends
  // within the time of a memory copy; wait for the frame instead.
  bool own_remaining_payload() {
    if (keep_alive || owned) return true;
    if (awaits_clearance()) {
      std::lock_guard lock(copy_mutex);
      if (!pending()) return true;
      {
        std::lock_guard stage_lock(mutex_);
        if (copy_stage_ != kNotCleared) return false;
      }
      owned = std::make_unique_for_overwrite<std::byte[]>(copy_bytes);
      std::memcpy(owned.get(), copy_source, copy_bytes);
      copy_source = owned.get();
      return true;
    }
    std::size_t done = sent > frame_header_size ? sent - frame_header_size : 0;
    std::size_t rest = bytes - done;
    owned = std::make_unique_for_overwrite<std::byte[]>(rest);
    if (rest > 0) std::memcpy(owned.get(), data + done, rest);
    // Keep `data + done` pointing at the first unsent byte: data = owned - done.
    data = owned.get() - done;
    return true;
  }

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
  void write_second_half() {
    {
      std::lock_guard lock(mutex_);
      if (copy_stage_ != kHalfOffered) return;
      copy_stage_ = kHalfTaken;
    }
    const int failure =
        write_into(copy_pid_, copy_source + split_, destination_ + split_, copy_bytes - split_);
    {
      std::lock_guard lock(mutex_);
      second_half_failure_ = failure;
      copy_stage_ = kHalfDone;
    }
    changed_.notify_all();
  }

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

struct Engine::Peer {
  int rank = 0;
  // Closed only by the thread handling events (progress_mutex_ held), with send_mutex held too.
  common::UniqueFd socket;

  // ---- send side, guarded by send_mutex
  std::mutex send_mutex;
  std::deque<std::shared_ptr<OutgoingFrame>> queue;
  bool want_write = false;    // EPOLLOUT armed
  int drivers = 0;            // user threads writing this socket themselves (drive_send)
  bool write_failed = false;  // the socket refused bytes: the reader will say why
  std::exception_ptr broken;  // set once lost or finished: every send raises it
  // Single copy to this peer (single_copy.hpp). Ready-to-sends waiting for their clear-to-send,
  // oldest first; `in_flight` counts those of them already written. While it is not zero, no
  // message frame is written after them, not even another ready-to-send (only control frames):
  // the receiver queues a message nobody waits for yet only once it is complete, so a message
  // announced meanwhile could be matched to a receive posted for the one in flight.
  bool can_copy_into = false;
  pid_t copy_pid = 0;
  std::deque<std::shared_ptr<OutgoingFrame>> awaiting_clearance;
  int in_flight = 0;

  // ---- receive side, guarded by the engine's progress_mutex_
  std::unique_ptr<std::byte[]> staging = std::make_unique_for_overwrite<std::byte[]>(staging_size);
  std::size_t staged_begin = 0;
  std::size_t staged_end = 0;
  bool in_payload = false;
  FrameHeader header;
  Mailbox* box = nullptr;
  Mailbox::Delivery delivery;
  std::uint64_t received = 0;
  std::uint64_t cached_context = 0;
  Mailbox* cached_box = nullptr;
  const std::vector<int>* cached_members = nullptr;
  bool said_goodbye = false;
  bool loss_reported = false;                   // to hilorun (report_loss)
  std::string abort_reason;                     // the payload of an abort frame
  std::array<std::byte, offer_size> control{};  // the payload of an offer or clear-to-send
  // Single copy from this peer: deliveries told where to go, waiting for `copied`, oldest first.
  struct OpenTransfer {
    Mailbox* box;
    Mailbox::Delivery delivery;
  };
  std::deque<OpenTransfer> awaiting_copy;
};

namespace {

// The front frame may not be written yet: a single-copy transfer to the peer is in flight and
// the front is a message frame that must follow it.
bool held_back(const OutgoingFrame& frame, int in_flight) {
  return in_flight > 0 && frame.sent == 0 && !frame.control;
}
bool held_back(const std::deque<std::shared_ptr<OutgoingFrame>>& queue, int in_flight) {
  return !queue.empty() && held_back(*queue.front(), in_flight);
}

std::shared_ptr<OutgoingFrame> ready_to_send_frame(const FrameHeader& header, const void* data,
                                                   std::shared_ptr<const void> keep_alive) {
  FrameHeader announce = header;
  announce.flags = frame_flag_ready_to_send;
  auto frame = std::make_shared<OutgoingFrame>(encode_frame_header(announce), nullptr, 0,
                                               std::move(keep_alive));
  frame->copy_source = static_cast<const std::byte*>(data);
  frame->copy_bytes = header.length;
  return frame;
}

std::uint64_t random_word() {
  std::random_device entropy;
  return (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy();
}

}  // namespace

// ---- sends the caller waits on

class SendOperation final : public Operation {
 public:
  SendOperation(Engine& engine, Engine::Peer& peer, std::shared_ptr<OutgoingFrame> frame, int tag)
      : engine_(engine), peer_(peer), frame_(std::move(frame)), tag_(tag) {}
  ~SendOperation() override {
    // A dropped request must not leave the progress thread reading a buffer that is gone.
    if (!frame_->pending()) return;
    bool moved = true;
    {
      std::lock_guard lock(peer_.send_mutex);
      if (frame_->pending()) moved = frame_->own_remaining_payload();
    }
    if (moved) return;
    try {
      frame_->wait(Deadline::never());  // a single copy under way: it ends in memory time
    } catch (const std::exception&) {
      // Whatever it failed with, the buffer is no longer read.
    }
  }
  bool test() override {
    if (frame_->pending()) return false;
    frame_->wait(Deadline::never());  // rethrows a failure
    return true;
  }
  Status wait(Deadline deadline) override {
    engine_.drive_send(peer_, *frame_, deadline);
    if (!frame_->wait(deadline))
      throw Timeout("hilo: isend from rank " + std::to_string(engine_.rank()) + " to " +
                    engine_.describe(peer_.rank) + " with tag " + std::to_string(tag_) +
                    ": the peer has not taken the message in time (is it stalled?); the send "
                    "stays queued");
    return Status{engine_.rank(), tag_, frame_->message_bytes()};
  }

 private:
  Engine& engine_;
  Engine::Peer& peer_;
  std::shared_ptr<OutgoingFrame> frame_;
  int tag_;
};

// ---- construction and shutdown

Engine::Engine(EngineConfig config, Listener listener, std::vector<common::UniqueFd> sockets,
               std::unique_ptr<RejectionLog> log)
    : config_(std::move(config)),
      hard_spin_(hard_spin_for(config_)),
      probe_word_(random_word()),
      listener_(std::move(listener)),
      log_(log ? std::move(log) : std::make_unique<RejectionLog>("hilo tcp")),
      strangers_(*log_) {
  epoll_ = common::UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) common::throw_errno("hilo tcp: epoll_create1");
  strangers_.call_before_closing(
      [this](int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); });
  wake_ = common::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) common::throw_errno("hilo tcp: eventfd");
  auto watch = [&](int fd, std::uint64_t tag) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = tag;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
      common::throw_errno("hilo tcp: epoll_ctl");
  };
  watch(wake_.get(), wake_tag);
  if (listener_.fd) watch(listener_.fd.get(), listener_tag);
  for (int r = 0; r < size(); ++r) {
    auto peer = std::make_unique<Peer>();
    peer->rank = r;
    if (r != rank()) {
      peer->socket = std::move(sockets.at(static_cast<std::size_t>(r)));
      watch(peer->socket.get(), static_cast<std::uint64_t>(r));
    }
    peers_.push_back(std::move(peer));
  }
  progress_ = std::thread([this] { progress_loop(); });
  if (config_.single_copy) {
    const SingleCopyOffer offer{static_cast<std::uint64_t>(::getpid()),
                                reinterpret_cast<std::uintptr_t>(&probe_word_), probe_word_};
    const auto payload = encode_offer(offer);
    for (auto& peer : peers_)
      if (peer->rank != rank() && this->peer(peer->rank).host == this->peer(rank()).host)
        send_control(*peer, frame_flag_offer, payload.data(), payload.size());
  }
}

Engine::~Engine() {
  stop_thread();
}

void Engine::stop_thread() {
  if (!progress_.joinable()) return;
  stopping_.store(true);
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(wake_.get(), &one, sizeof one);
  progress_.join();
}

void Engine::finish(std::chrono::milliseconds limit) {
  const Deadline deadline = Deadline::after(limit);
  std::vector<std::pair<Peer*, std::shared_ptr<OutgoingFrame>>> goodbyes;
  FrameHeader goodbye;
  goodbye.flags = frame_flag_goodbye;
  goodbye.source = rank();
  for (auto& peer : peers_) {
    if (peer->rank == rank()) continue;
    std::lock_guard lock(peer->send_mutex);
    if (peer->broken || !peer->socket) continue;
    auto frame = std::make_shared<OutgoingFrame>(encode_frame_header(goodbye), nullptr, 0, nullptr);
    peer->queue.push_back(frame);
    flush_locked(*peer);
    goodbyes.emplace_back(peer.get(), std::move(frame));
  }
  // The goodbye is the last frame queued to each peer: once it is written, everything is (a
  // single-copy transfer still open holds it back until the payload is written; see held_back).
  for (auto& [peer, frame] : goodbyes) {
    try {
      frame->wait(deadline);
    } catch (const std::exception&) {
      // That peer is gone already; it does not need our goodbye.
    }
  }
  stop_thread();
  // Drain what the peers sent and nobody will read, so close() sends a FIN, not a reset that
  // could destroy our own last bytes still in flight.
  for (auto& peer : peers_) {
    if (!peer->socket) continue;
    ::shutdown(peer->socket.get(), SHUT_WR);
    std::byte sink[4096];
    while (::recv(peer->socket.get(), sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
  }
  finished_cleanly_ = true;
}

void Engine::abort(std::chrono::milliseconds limit) {
  std::string reason = "its runtime ended with an exception";
  {
    std::lock_guard lock(contexts_mutex_);
    if (lost_) {
      try {
        std::rethrow_exception(lost_);
      } catch (const std::exception& e) {
        reason = std::string("it had lost a peer: ") + e.what();
      }
    }
  }
  if (reason.size() > max_abort_reason) reason.resize(max_abort_reason);
  auto text = std::make_shared<const std::string>(reason);
  FrameHeader header;
  header.flags = frame_flag_abort;
  header.source = rank();
  header.type = data_type_of<char>();
  header.length = text->size();
  const Deadline deadline = Deadline::after(limit);
  std::vector<std::shared_ptr<OutgoingFrame>> sent;
  for (auto& peer : peers_) {
    if (peer->rank == rank()) continue;
    std::lock_guard lock(peer->send_mutex);
    if (peer->broken || !peer->socket) continue;
    auto frame = std::make_shared<OutgoingFrame>(encode_frame_header(header), text->data(),
                                                 text->size(), text);
    peer->queue.push_back(frame);
    flush_locked(*peer);
    sent.push_back(std::move(frame));
  }
  for (auto& frame : sent) {
    try {
      frame->wait(deadline);
    } catch (const std::exception&) {
      // That peer is gone too.
    }
  }
  stop_thread();
}

std::string Engine::describe(int world_rank) const {
  return describe_peer(peer(world_rank));
}

// ---- mailboxes

Mailbox& Engine::mailbox(std::uint64_t context, const std::vector<int>& members, int my_rank) {
  std::lock_guard lock(contexts_mutex_);
  Context& c = contexts_[context];
  if (!c.box) {
    c.box = std::make_unique<Mailbox>(my_rank);
    if (lost_) c.box->fail_all(lost_);
  }
  if (c.members.empty()) {
    c.members = members;
    // Peers that finished before this communicator was made here can no longer send to it.
    for (const auto& [world_rank, error] : finished_)
      for (int r = 0; r < static_cast<int>(members.size()); ++r)
        if (members[static_cast<std::size_t>(r)] == world_rank) c.box->fail_source(r, error, false);
  }
  return *c.box;
}

Mailbox& Engine::mailbox_for_frame(Peer& peer, std::uint64_t context) {
  const std::vector<int>* members = nullptr;
  Mailbox* box = nullptr;
  if (peer.cached_box != nullptr && peer.cached_context == context) {
    box = peer.cached_box;
    members = peer.cached_members;
  } else {
    std::lock_guard lock(contexts_mutex_);
    Context& c = contexts_[context];
    if (!c.box) {
      // A message for a communicator this rank has not made yet: it waits in the mailbox.
      c.box = std::make_unique<Mailbox>(rank());
      if (lost_) c.box->fail_all(lost_);
    }
    box = c.box.get();
    if (!c.members.empty()) {
      members = &c.members;  // set once, never changed: safe to keep
      peer.cached_context = context;
      peer.cached_box = box;
      peer.cached_members = members;
    }
  }
  if (members != nullptr) {
    const int source = peer.header.source;
    if (source >= static_cast<int>(members->size()) ||
        (*members)[static_cast<std::size_t>(source)] != peer.rank)
      throw Error("malformed frame header: it claims to come from rank " + std::to_string(source) +
                  " of its communicator, which is not the sender");
  }
  return *box;
}

void Engine::deliver_to_self(const FrameHeader& header, const void* data) {
  Mailbox* box = nullptr;
  {
    std::lock_guard lock(contexts_mutex_);
    Context& c = contexts_[header.context];
    if (!c.box) c.box = std::make_unique<Mailbox>(rank());
    box = c.box.get();
  }
  auto delivery = box->begin(Envelope{header.source, header.tag, header.length, header.type});
  if (header.length > 0) std::memcpy(delivery.destination, data, header.length);
  box->finish(std::move(delivery));
}

// ---- sending

void Engine::set_want_write_locked(Peer& peer, bool want) {
  // While a user thread writes the socket itself, the progress thread need not be woken for it.
  want = want && peer.drivers == 0;
  if (want == peer.want_write || !peer.socket) return;
  epoll_event event{};
  event.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  event.data.u64 = static_cast<std::uint64_t>(peer.rank);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, peer.socket.get(), &event) == 0)
    peer.want_write = want;
}

void Engine::complete_frames_locked(Peer& peer, std::size_t written) {
  while (written > 0 && !peer.queue.empty()) {
    OutgoingFrame& frame = *peer.queue.front();
    std::size_t rest = frame.total() - frame.sent;
    if (written < rest) {
      frame.sent += written;
      return;
    }
    written -= rest;
    frame.sent = frame.total();
    auto done = std::move(peer.queue.front());
    peer.queue.pop_front();
    if (done->awaits_clearance())
      ++peer.in_flight;  // completes when its payload has been written into the peer
    else
      done->complete(nullptr);
  }
}

void Engine::flush_locked(Peer& peer) {
  while (!peer.queue.empty() && peer.socket && !peer.write_failed) {
    iovec pieces[2 * max_frames_per_write];
    int count = 0;
    int frames = 0;
    int in_flight = peer.in_flight;
    for (const auto& frame : peer.queue) {
      if (frames++ == max_frames_per_write) break;
      if (held_back(*frame, in_flight)) break;
      if (frame->awaits_clearance()) ++in_flight;
      if (frame->sent < frame_header_size)
        pieces[count++] = {frame->header.data() + frame->sent, frame_header_size - frame->sent};
      std::size_t done = frame->sent > frame_header_size ? frame->sent - frame_header_size : 0;
      if (frame->bytes > done)
        pieces[count++] = {const_cast<std::byte*>(frame->data + done), frame->bytes - done};
    }
    if (count == 0) break;  // everything queued is held back
    msghdr message{};
    message.msg_iov = pieces;
    message.msg_iovlen = static_cast<std::size_t>(count);
    ssize_t written = ::sendmsg(peer.socket.get(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // EPIPE, ECONNRESET: the reader will find out whether the peer finished or died, and
      // fail these frames with the right error.
      peer.write_failed = true;
      break;
    }
    complete_frames_locked(peer, static_cast<std::size_t>(written));
  }
  set_want_write_locked(
      peer, !peer.queue.empty() && !peer.write_failed && !held_back(peer.queue, peer.in_flight));
}

void Engine::send(int world_dest, const FrameHeader& header, const void* data, Deadline deadline) {
  if (world_dest == rank()) return deliver_to_self(header, data);
  Peer& peer = *peers_[static_cast<std::size_t>(world_dest)];
  std::shared_ptr<OutgoingFrame> frame;
  {
    std::lock_guard lock(peer.send_mutex);
    if (peer.broken) std::rethrow_exception(peer.broken);
    if (peer.can_copy_into && header.length >= single_copy_threshold) {
      frame = ready_to_send_frame(header, data, nullptr);
      peer.awaiting_clearance.push_back(frame);
    } else {
      const EncodedHeader encoded = encode_frame_header(header);
      std::size_t written = 0;
      if (peer.queue.empty() && peer.in_flight == 0 && peer.socket && !peer.write_failed) {
        // The common case: one sendmsg straight from the caller's buffer, no allocation.
        iovec pieces[2] = {{const_cast<std::byte*>(encoded.data()), frame_header_size},
                           {const_cast<void*>(data), header.length}};
        msghdr message{};
        message.msg_iov = pieces;
        message.msg_iovlen = header.length > 0 ? 2 : 1;
        ssize_t sent;
        do {
          sent = ::sendmsg(peer.socket.get(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (sent < 0 && errno == EINTR);
        if (sent == static_cast<ssize_t>(frame_header_size + header.length)) return;
        if (sent > 0)
          written = static_cast<std::size_t>(sent);
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
          peer.write_failed = true;
      }
      frame = std::make_shared<OutgoingFrame>(encoded, data, header.length, nullptr);
      frame->sent = written;
    }
    peer.queue.push_back(frame);
    flush_locked(peer);
  }
  if (frame->awaits_clearance()) wake_progress_thread();
  wait_for(peer, frame, deadline);
}

void Engine::drive_send(Peer& peer, const OutgoingFrame& frame, Deadline deadline) {
  // A waiting sender has nothing better to do than write: done by this thread, a large message
  // streams like a blocking send() (measured: the progress thread, woken by EPOLLOUT for every
  // socket-buffer's worth, reached half the loopback bandwidth a plain blocking send() gets).
  constexpr int max_poll_ms = 10;  // re-checks the frame, the deadline and the peer this often
  std::unique_lock lock(peer.send_mutex);
  ++peer.drivers;  // while counted, the progress thread is not woken for this socket's room
  // Written (a ready-to-send then waits for its clear-to-send, which the reader handles) or held
  // back behind a single-copy transfer: there is nothing for this thread to write.
  auto nothing_to_write = [&] {
    return frame.sent == frame.total() || held_back(peer.queue, peer.in_flight);
  };
  while (frame.pending() && peer.socket && !peer.write_failed && !peer.broken) {
    flush_locked(peer);
    if (!frame.pending() || !peer.socket || deadline.expired() || nothing_to_write()) break;
    int wait_ms = max_poll_ms;
    if (!deadline.is_never()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline.at - Clock::now());
      wait_ms = static_cast<int>(std::clamp<long>(left.count(), 0, max_poll_ms));
    }
    pollfd writable{peer.socket.get(), POLLOUT, 0};
    lock.unlock();
    // Any outcome (room, an error, the socket closed meanwhile by the reader): the loop
    // re-checks everything under the lock.
    ::poll(&writable, 1, wait_ms);
    lock.lock();
  }
  --peer.drivers;
  // Frames left queued (another thread's, or this one's after a timeout): the progress thread
  // watches the socket again.
  set_want_write_locked(
      peer, !peer.queue.empty() && !peer.write_failed && !held_back(peer.queue, peer.in_flight));
}

void Engine::wait_for(Peer& peer, const std::shared_ptr<OutgoingFrame>& frame, Deadline deadline) {
  const auto start = Clock::now();
  drive_send(peer, *frame, deadline);
  if (frame->wait(deadline)) return;
  std::string how;
  {
    std::lock_guard lock(peer.send_mutex);
    if (!frame->pending()) {
      how = "";
    } else if (frame->sent == 0) {
      std::erase(peer.queue, frame);
      std::erase(peer.awaiting_clearance, frame);
      frame->complete(nullptr);
      how = "nothing of it was sent (the send was withdrawn)";
    } else if (frame->awaits_clearance()) {
      // Not moved: its writing has begun, and ends in memory time (the wait below).
      if (frame->own_remaining_payload())
        how =
            "it was announced but the peer has not asked for it; it stays ready and goes if "
            "the peer resumes";
    } else {
      frame->own_remaining_payload();
      how = "part of it was sent; the rest stays queued and goes if the peer resumes";
    }
  }
  if (how.empty()) {
    frame->wait(Deadline::never());  // finished just now: rethrows a failure, if any
    return;
  }
  throw Timeout("hilo: send from rank " + std::to_string(rank()) + " to " + describe(peer.rank) +
                ": the peer did not take the message within " +
                common::seconds_text(Clock::now() - start) +
                " (it is alive but not reading: stalled?); " + how);
}

std::unique_ptr<Operation> Engine::isend(int world_dest, const FrameHeader& header,
                                         std::shared_ptr<const void> keep_alive, const void* data) {
  const Status done{header.source, header.tag, header.length};
  if (world_dest == rank()) {
    deliver_to_self(header, data);
    return std::make_unique<CompletedOperation>(done);
  }
  Peer& peer = *peers_[static_cast<std::size_t>(world_dest)];
  const EncodedHeader encoded = encode_frame_header(header);
  std::lock_guard lock(peer.send_mutex);
  if (peer.broken) std::rethrow_exception(peer.broken);
  std::shared_ptr<OutgoingFrame> frame;
  if (peer.can_copy_into && header.length >= single_copy_threshold) {
    frame = ready_to_send_frame(header, data, std::move(keep_alive));
    peer.awaiting_clearance.push_back(frame);
  } else {
    frame = std::make_shared<OutgoingFrame>(encoded, data, header.length, std::move(keep_alive));
  }
  peer.queue.push_back(frame);
  flush_locked(peer);
  if (frame->awaits_clearance()) wake_progress_thread();
  if (!frame->pending()) return std::make_unique<CompletedOperation>(done);
  return std::make_unique<SendOperation>(*this, peer, std::move(frame), header.tag);
}

// ---- failures

void Engine::fail_sends_locked(Peer& peer, const std::exception_ptr& error) {
  // Queued frames and single-copy transfers waiting for their clear-to-send alike.
  for (auto& frame : peer.queue) frame->complete(error);
  peer.queue.clear();
  for (auto& frame : peer.awaiting_clearance) frame->complete(error);
  peer.awaiting_clearance.clear();
  peer.in_flight = 0;
}

void Engine::report_loss(Peer& peer, const std::string& why) {
  if (!config_.reports || peer.loss_reported || peer.said_goodbye) return;
  peer.loss_reported = true;
  config_.reports->send({rank(), launch::ReportKind::peer_lost, peer.rank, "hilo: " + why});
}

void Engine::peer_lost(Peer& peer, const std::string& why) {
  auto error =
      std::make_exception_ptr(PeerLost("hilo: " + why, peer.rank, this->peer(peer.rank).host));
  {
    std::lock_guard lock(peer.send_mutex);
    if (peer.broken) {
      fail_sends_locked(peer, peer.broken);
      return;  // it said goodbye first (or was already reported)
    }
    report_loss(peer, why);
    peer.broken = error;
    fail_sends_locked(peer, error);
  }
  // A job that lost a rank cannot trust any receive to complete (a collective may be waiting on
  // it through others): every receive of this rank fails now, in every communicator.
  std::lock_guard lock(contexts_mutex_);
  if (!lost_) lost_ = error;
  for (auto& [context, c] : contexts_) c.box->fail_all(error);
}

void Engine::peer_finished(Peer& peer) {
  peer.said_goodbye = true;
  auto error = std::make_exception_ptr(PeerLost(
      "hilo: " + describe(peer.rank) + " has finished (its hilo::Runtime ended): nothing more " +
          "will come from it and nothing sent to it will be received",
      peer.rank, this->peer(peer.rank).host));
  {
    std::lock_guard lock(peer.send_mutex);
    if (!peer.broken) peer.broken = error;
    fail_sends_locked(peer, error);
  }
  std::lock_guard lock(contexts_mutex_);
  finished_.emplace_back(peer.rank, error);
  for (auto& [context, c] : contexts_)
    for (int r = 0; r < static_cast<int>(c.members.size()); ++r)
      if (c.members[static_cast<std::size_t>(r)] == peer.rank) c.box->fail_source(r, error, false);
}

// ---- receiving

bool Engine::read_frames(Peer& peer) {
  const int fd = peer.socket.get();
  std::size_t budget = read_budget;
  // One recv; returns false on EOF/error (errno set, 0 for EOF), true with `got` bytes or none.
  // A read that returns less than asked for has emptied the socket: asking again would only
  // cost a syscall to learn EAGAIN. Readiness is level-triggered, so new bytes are reported anew.
  bool drained = false;
  auto receive = [&](void* into, std::size_t want, std::size_t& got) {
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
      if (peer.said_goodbye) throw Error("malformed stream: a frame after its goodbye");
      switch (peer.header.flags) {
        case frame_flag_ready_to_send:
          accept_ready_to_send(peer);
          continue;  // no payload follows
        case frame_flag_copied: {
          if (peer.awaiting_copy.empty())
            throw Error("malformed stream: 'copied' with no single-copy transfer open");
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

void Engine::read_from(Peer& peer) {
  std::string why;
  try {
    if (read_frames(peer)) return;
    const int error = errno;
    if (peer.said_goodbye)
      why.clear();
    else if (error == 0)
      why = describe(peer.rank) + " closed its connection to rank " + std::to_string(rank()) +
            " without finishing: it exited or was killed";
    else
      why = common::errno_message(describe(peer.rank) + " broke its connection to rank " +
                                      std::to_string(rank()) + " (it died or its host is gone)",
                                  error);
  } catch (const std::bad_alloc&) {
    why = describe(peer.rank) + " sent a message of " + std::to_string(peer.header.length) +
          " bytes that rank " + std::to_string(rank()) + " has no memory for; connection closed";
  } catch (const std::exception& e) {
    why = describe(peer.rank) + " sent something rank " + std::to_string(rank()) +
          " cannot trust (" + e.what() + "); connection closed";
  }
  // The connection is over: finish what was half read, stop watching it, close it.
  std::exception_ptr error;
  if (!why.empty()) {
    report_loss(peer, why);  // before a receive cut off below can end this rank
    error =
        std::make_exception_ptr(PeerLost("hilo: " + why, peer.rank, this->peer(peer.rank).host));
  }
  // A cut-off abort reason or control frame: nothing waits for it.
  if (peer.in_payload && peer.box == nullptr) peer.in_payload = false;
  const std::exception_ptr cut_off =
      error ? error
            : std::make_exception_ptr(
                  PeerLost("hilo: " + describe(peer.rank) + " finished mid-message", peer.rank,
                           this->peer(peer.rank).host));
  if (peer.in_payload) {
    peer.in_payload = false;
    peer.box->abort(std::move(peer.delivery), cut_off);
  }
  fail_open_transfers(peer, cut_off);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, peer.socket.get(), nullptr);
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

// ---- single copy (single_copy.hpp)

void Engine::send_control(Peer& peer, std::uint8_t flags, const std::byte* payload,
                          std::size_t bytes) {
  std::lock_guard lock(peer.send_mutex);
  queue_control_locked(peer, flags, payload, bytes);
}

void Engine::queue_control_locked(Peer& peer, std::uint8_t flags, const std::byte* payload,
                                  std::size_t bytes) {
  if (peer.broken || !peer.socket) return;  // the reader reports what happened to the peer
  FrameHeader header;
  header.flags = flags;
  header.source = rank();
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
  flush_locked(peer);
}

pid_t Engine::memory_of(int world_rank) {
  Peer& peer = *peers_[static_cast<std::size_t>(world_rank)];
  std::lock_guard lock(peer.send_mutex);
  return peer.can_copy_into ? peer.copy_pid : 0;
}

void Engine::handle_control(Peer& peer) {
  if (peer.header.flags == frame_flag_offer) {
    const SingleCopyOffer offer = decode_offer(peer.control.data());
    // Offers come only from ranks of this host; the probe proves the pid is that rank's.
    if (!config_.single_copy || this->peer(peer.rank).host != this->peer(rank()).host ||
        !can_write_into(offer))
      return;  // large messages to it keep going through the socket
    std::lock_guard lock(peer.send_mutex);
    peer.copy_pid = static_cast<pid_t>(offer.pid);
    peer.can_copy_into = true;
    return;
  }
  write_cleared(peer, decode_address(peer.control.data()));
}

void Engine::accept_ready_to_send(Peer& peer) {
  Mailbox& box = mailbox_for_frame(peer, peer.header.context);
  Mailbox::Delivery delivery = box.begin(
      Envelope{peer.header.source, peer.header.tag, peer.header.length, peer.header.type});
  const auto where = encode_address(reinterpret_cast<std::uintptr_t>(delivery.destination));
  peer.awaiting_copy.push_back({&box, std::move(delivery)});
  send_control(peer, frame_flag_clear_to_send, where.data(), where.size());
}

void Engine::write_cleared(Peer& peer, std::uint64_t address) {
  std::shared_ptr<OutgoingFrame> frame;
  {
    std::lock_guard lock(peer.send_mutex);
    if (peer.in_flight == 0 || peer.awaiting_clearance.empty())
      throw Error("malformed stream: a clear-to-send for no announced message");
    frame = std::move(peer.awaiting_clearance.front());
    peer.awaiting_clearance.pop_front();
  }
  const int failure = frame->write_cleared(peer.copy_pid, address);
  if (failure != 0) {
    const std::string why =
        common::errno_message("rank " + std::to_string(rank()) + " could not write a message of " +
                                  std::to_string(frame->copy_bytes) + " bytes into " +
                                  describe(peer.rank) + " (single copy)",
                              failure);
    report_loss(peer, why);  // before the sender sees the failure
    frame->complete(
        std::make_exception_ptr(PeerLost("hilo: " + why, peer.rank, this->peer(peer.rank).host)));
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

void Engine::wake_progress_thread() {
  // The clear-to-send is read by whoever drives the sockets. A user thread that polled for its
  // receive does not wake the progress thread when it stops (see poll_until), so that one may
  // sit out progress_recheck (500 us) first: measured, a 64 KiB single-copy ping-pong took
  // ~300 us one way without this wake-up. One futex call per large message.
  takeover_.store(true);
  std::lock_guard lock(pollers_mutex_);
  pollers_left_.notify_all();
}

void Engine::fail_open_transfers(Peer& peer, const std::exception_ptr& error) {
  for (auto& open : peer.awaiting_copy) open.box->abort(std::move(open.delivery), error);
  peer.awaiting_copy.clear();
}

// ---- connections that arrive after setup: never trusted, always closed

void Engine::accept_strangers() {
  StrangerPool::Accepted accepted = strangers_.accept_from(listener_.fd.get(), Clock::now());
  for (int fd : accepted.fds) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = stranger_tag | static_cast<std::uint32_t>(fd);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
      strangers_.refuse(fd, common::errno_message("watching it failed", errno));
    else
      read_stranger(fd);  // a hello may be in already
  }
  if (accepted.out_of_fds && !listener_rests_until_) {
    epoll_event event{};  // no events: stays registered, reports nothing
    event.data.u64 = listener_tag;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener_.fd.get(), &event);
    listener_rests_until_ = Clock::now() + StrangerPool::listener_rest;
  }
}

void Engine::wake_listener_if_rested(Clock::time_point now) {
  if (!listener_rests_until_ || now < *listener_rests_until_) return;
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = listener_tag;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener_.fd.get(), &event);
  listener_rests_until_.reset();
}

void Engine::read_stranger(int fd) {
  StrangerPool::Reading reading = strangers_.read(fd);
  if (reading.state != StrangerPool::Reading::State::hello) return;
  if (auto problem = hello_problem(reading.hello, config_.token, size()))
    return strangers_.refuse(fd, *problem);
  strangers_.refuse(fd,
                    "rank " + std::to_string(reading.hello.rank) +
                        " is already connected (a duplicate rank, or a connection after setup)");
}

// ---- the progress thread

void Engine::handle_events(const epoll_event* events, int count) {
  for (int i = 0; i < count; ++i) {
    const std::uint64_t tag = events[i].data.u64;
    if (tag == wake_tag) {
      // Left readable on purpose: only stop_thread() writes it, and a user thread polling here
      // must not consume the wake-up the progress thread is waiting for.
    } else if (tag == listener_tag) {
      accept_strangers();
    } else if ((tag >> 32) == (stranger_tag >> 32)) {
      read_stranger(static_cast<int>(tag & 0xffffffffu));
    } else {
      // Events may be stale (another thread handled them first): every handler copes with
      // nothing to read, and a closed connection is skipped.
      Peer& peer = *peers_[static_cast<std::size_t>(tag)];
      if (!peer.socket) continue;
      if (events[i].events & EPOLLOUT) {
        std::lock_guard lock(peer.send_mutex);
        flush_locked(peer);
      }
      if (peer.socket && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) read_from(peer);
    }
  }
}

void Engine::poll_until(const detail::PendingReceive& receive, int world_source) {
  if (receive.done() || config_.spin_window.count() == 0) return;
  pollers_.fetch_add(1);
  const auto started = Clock::now();
  auto give_up = started + config_.spin_window;
  const auto stop_spinning_hard = started + hard_spin_;
  Peer* awaited = world_source >= 0 && world_source != rank()
                      ? peers_[static_cast<std::size_t>(world_source)].get()
                      : nullptr;
  epoll_event events[64];
  for (unsigned round = 0; !receive.done() && !stopping_.load(std::memory_order_relaxed); ++round) {
    int ready = 0;
    bool bytes_came = false;
    if (progress_mutex_.try_lock()) {
      std::lock_guard lock(progress_mutex_, std::adopt_lock);
      const std::uint64_t read_before = bytes_read_;
      if (awaited != nullptr && awaited->socket && round % 8 != 7) {
        read_from(*awaited);  // one recv; nothing there costs one EAGAIN
      } else {
        ready = ::epoll_wait(epoll_.get(), events, 64, 0);
        if (ready > 0) handle_events(events, ready);
      }
      bytes_came = bytes_read_ != read_before;
    }
    if (receive.done()) break;
    // The window counts from the last bytes in: a large message streaming in (or other peers'
    // traffic, which the progress thread would otherwise wake up for) keeps this thread here.
    if (bytes_came) give_up = Clock::now() + config_.spin_window;
    if (ready <= 0) {
      const auto now = Clock::now();
      if (now >= give_up) break;
      // The first microseconds spin without yielding: a sched_yield is a system call as dear as
      // the recv above, and on an idle core the reply usually comes within them. After that,
      // yield each round so that ranks oversubscribing the cores still get theirs.
      if (now >= stop_spinning_hard) std::this_thread::yield();
    }
  }
  // Giving up without the message: the progress thread must take over now, since this thread
  // is about to sleep. Done: no wake-up (a syscall, and a thread competing for the CPU per
  // message); the caller will most likely poll again soon, and the progress thread looks again
  // within two progress_recheck intervals anyway.
  const bool gave_up = !receive.done();
  if (!gave_up) last_poll_done_.store(Clock::now().time_since_epoch().count());
  if (pollers_.fetch_sub(1) == 1 && gave_up) {
    takeover_.store(true);
    std::lock_guard lock(pollers_mutex_);
    pollers_left_.notify_all();
  }
}

// Whether the progress thread should drive the sockets now: no user thread is polling, and none
// is between two polls of a send/receive loop (left with its message within progress_recheck),
// unless one gave up or a transfer asked for the progress thread (takeover_). Without the
// second rule the progress thread, looking every progress_recheck, often found a ping-pong
// between its polls, took the next message itself and handed it over across threads: 8 B one
// way over tcp read 3.46-4.02 us before this rule, 3.18-3.32 us with it.
bool Engine::progress_is_mine() {
  if (pollers_.load() > 0) return false;
  if (takeover_.exchange(false)) return true;
  const auto since = Clock::now().time_since_epoch() - Clock::duration(last_poll_done_.load());
  return since >= progress_recheck;
}

void Engine::progress_loop() {
  epoll_event events[64];
  auto last_activity = Clock::now();
  bool spinning = false;
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (!progress_is_mine()) {
      // A user thread drives the sockets now; waiting in epoll would only get this thread
      // woken for every message it then finds already handled.
      std::unique_lock lock(pollers_mutex_);
      pollers_left_.wait_for(lock, progress_recheck,
                             [&] { return stopping_.load() || progress_is_mine(); });
      continue;
    }
    int timeout = -1;
    if (spinning) {
      timeout = 0;
    } else {
      std::lock_guard lock(progress_mutex_);
      auto nearest = strangers_.next_expiry();
      if (listener_rests_until_ && (!nearest || *listener_rests_until_ < *nearest))
        nearest = listener_rests_until_;
      if (nearest) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*nearest - Clock::now());
        timeout = static_cast<int>(std::clamp<long>(wait.count() + 1, 0, 60000));
      }
    }
    int ready = ::epoll_wait(epoll_.get(), events, 64, timeout);
    const auto now = Clock::now();
    {
      std::lock_guard lock(progress_mutex_);
      if (ready > 0) {
        last_activity = now;
        handle_events(events, ready);
      }
      strangers_.expire(now);
      wake_listener_if_rested(now);
    }
    spinning = config_.spin_window.count() > 0 && now - last_activity < config_.spin_window;
    if (spinning && ready <= 0) std::this_thread::yield();
  }
}

}  // namespace hilo::tcp
