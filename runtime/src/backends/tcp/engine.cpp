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
#include "backends/tcp/outgoing_frame.hpp"
#include "backends/tcp/peer_connection.hpp"
#include "backends/tcp/single_copy.hpp"
#include "hilo/errors.hpp"
#include "launch/system_error.hpp"

namespace hilo::tcp {

using Clock = std::chrono::steady_clock;
using detail::Envelope;
using detail::Mailbox;

namespace {

// Payloads at least this large are read straight into their destination, not via staging.
constexpr std::size_t direct_read_threshold = 16 * 1024;
// Bytes one connection may read per turn before the others get theirs (fairness).
constexpr std::size_t read_budget = 8 * 1024 * 1024;
// A receiving thread polls without yielding the core for this long (see poll_until), when its
// host has a core for each of its ranks.
constexpr auto hard_spin = std::chrono::microseconds(10);

// While user threads poll, the progress thread looks this often whether they still do, and
// takes over once none has polled for this long (a thread that got its message and went on
// computing does not wake it: queued sends and arrivals wait at most twice this long for it).
constexpr auto progress_recheck = std::chrono::microseconds(500);

// The epoll tag of wake_; a peer's is its rank, the listener's and strangers' their own
// (StrangerListener::owns).
constexpr std::uint64_t wake_tag = std::uint64_t{2} << 32;

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

std::string seconds_text(Clock::duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f s", std::chrono::duration<double>(d).count());
  return text;
}

}  // namespace

namespace {

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
    peer_.drive_send(*frame_, deadline);
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

Engine::Engine(EngineConfig config, Listener listener, std::vector<UniqueFd> sockets,
               std::unique_ptr<RejectionLog> log)
    : config_(std::move(config)),
      hard_spin_(hard_spin_for(config_)),
      probe_word_(random_word()),
      strangers_(std::move(listener), std::move(log), config_.token, size()) {
  epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) launch::throw_errno("hilo tcp: epoll_create1");
  wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) launch::throw_errno("hilo tcp: eventfd");
  auto watch = [&](int fd, std::uint64_t tag) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = tag;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
      launch::throw_errno("hilo tcp: epoll_ctl");
  };
  watch(wake_.get(), wake_tag);
  strangers_.watch_with(epoll_.get());
  for (int r = 0; r < size(); ++r) {
    auto peer = std::make_unique<Peer>(r, epoll_.get());
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

void Engine::send_last_frames(const std::function<std::shared_ptr<OutgoingFrame>()>& make_frame,
                              Deadline deadline) {
  std::vector<std::shared_ptr<OutgoingFrame>> sent;
  for (auto& peer : peers_) {
    if (peer->rank == rank()) continue;
    std::lock_guard lock(peer->send_mutex);
    if (peer->broken || !peer->socket) continue;
    auto frame = make_frame();
    peer->queue.push_back(frame);
    peer->flush_locked();
    sent.push_back(std::move(frame));
  }
  for (auto& frame : sent) {
    try {
      frame->wait(deadline);
    } catch (const std::exception&) {
      // That peer is gone already; it does not need the frame.
    }
  }
}

void Engine::finish(std::chrono::milliseconds limit) {
  FrameHeader goodbye;
  goodbye.flags = frame_flag_goodbye;
  goodbye.source = rank();
  // The goodbye is the last frame queued to each peer: once it is written, everything is (a
  // single-copy transfer still open holds it back until the payload is written; see held_back).
  send_last_frames(
      [&] {
        return std::make_shared<OutgoingFrame>(encode_frame_header(goodbye), nullptr, 0, nullptr);
      },
      Deadline::after(limit));
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
  send_last_frames(
      [&] {
        return std::make_shared<OutgoingFrame>(encode_frame_header(header), text->data(),
                                               text->size(), text);
      },
      Deadline::after(limit));
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

void Engine::send(int world_dest, const FrameHeader& header, const void* data, Deadline deadline) {
  if (world_dest == rank()) return deliver_to_self(header, data);
  Peer& peer = *peers_[static_cast<std::size_t>(world_dest)];
  std::shared_ptr<OutgoingFrame> frame;
  {
    std::lock_guard lock(peer.send_mutex);
    frame = peer.queue_message_locked(header, data, nullptr, /*write_at_once=*/true);
  }
  if (!frame) return;  // the socket took it all at once
  if (frame->awaits_clearance()) wake_progress_thread();
  wait_for(peer, frame, deadline);
}

void Engine::wait_for(Peer& peer, const std::shared_ptr<OutgoingFrame>& frame, Deadline deadline) {
  const auto start = Clock::now();
  peer.drive_send(*frame, deadline);
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
                ": the peer did not take the message within " + seconds_text(Clock::now() - start) +
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
  std::lock_guard lock(peer.send_mutex);
  std::shared_ptr<OutgoingFrame> frame =
      peer.queue_message_locked(header, data, std::move(keep_alive), /*write_at_once=*/false);
  if (frame->awaits_clearance()) wake_progress_thread();
  if (!frame->pending()) return std::make_unique<CompletedOperation>(done);
  return std::make_unique<SendOperation>(*this, peer, std::move(frame), header.tag);
}

// ---- failures

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
      peer.fail_sends_locked(peer.broken);
      return;  // it said goodbye first (or was already reported)
    }
    report_loss(peer, why);
    peer.broken = error;
    peer.fail_sends_locked(error);
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
    peer.fail_sends_locked(error);
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
      why = launch::errno_message(describe(peer.rank) + " broke its connection to rank " +
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
  peer.flush_locked();
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
        launch::errno_message("rank " + std::to_string(rank()) + " could not write a message of " +
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

// ---- the progress thread

void Engine::handle_events(const epoll_event* events, int count) {
  for (int i = 0; i < count; ++i) {
    const std::uint64_t tag = events[i].data.u64;
    if (tag == wake_tag) {
      // Left readable on purpose: only stop_thread() writes it, and a user thread polling here
      // must not consume the wake-up the progress thread is waiting for.
    } else if (StrangerListener::owns(tag)) {
      strangers_.handle(tag);
    } else {
      // Events may be stale (another thread handled them first): every handler copes with
      // nothing to read, and a closed connection is skipped.
      Peer& peer = *peers_[static_cast<std::size_t>(tag)];
      if (!peer.socket) continue;
      if (events[i].events & EPOLLOUT) {
        std::lock_guard lock(peer.send_mutex);
        peer.flush_locked();
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
      auto nearest = strangers_.next_wakeup();
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
    }
    spinning = config_.spin_window.count() > 0 && now - last_activity < config_.spin_window;
    if (spinning && ready <= 0) std::this_thread::yield();
  }
}

}  // namespace hilo::tcp
