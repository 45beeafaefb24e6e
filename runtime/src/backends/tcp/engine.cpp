#include "backends/tcp/engine.hpp"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "backends/tcp/mesh_setup.hpp"
#include "backends/tcp/outgoing_frame.hpp"
#include "backends/tcp/peer_connection.hpp"
#include "backends/tcp/send_operation.hpp"
#include "backends/tcp/single_copy.hpp"
#include "common/seconds_text.hpp"
#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

using Clock = std::chrono::steady_clock;
using detail::Envelope;
using detail::Mailbox;

namespace {

// A receiving thread polls without yielding the core for this long (see poll_until), when its
// host has a core for each of its ranks.
constexpr auto hard_spin = std::chrono::microseconds(10);

// No spin without yielding when the ranks on this host outnumber its cores: a rank that keeps
// its core then keeps off it the very peer it waits for (benchmarks/analysis.md, "The TCP
// engine's latency choices").
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

// ---- construction and shutdown

Engine::Engine(EngineConfig config, Listener listener, std::vector<UniqueFd> sockets,
               std::unique_ptr<RejectionLog> log, std::vector<std::unique_ptr<ShmChannel>> shm)
    : config_(std::move(config)),
      loop_(*this, config_.spin_window, hard_spin_for(config_)),
      single_copy_(config_.rank, config_.table, config_.single_copy,
                   [this](Peer& peer, const std::string& why) { report_loss(peer, why); }),
      strangers_(std::move(listener), std::move(log), config_.token, size()) {
  strangers_.watch_with(loop_.epoll_fd());
  if (config_.pending_reporter && config_.pending_reporter->fd() >= 0)
    loop_.watch(config_.pending_reporter->fd(), report_tag);
  for (int r = 0; r < size(); ++r) {
    auto peer = std::make_unique<Peer>(r, loop_.epoll_fd(), config_.max_payload);
    if (r != rank()) {
      peer->socket = std::move(sockets.at(static_cast<std::size_t>(r)));
      loop_.watch(peer->socket.get(), static_cast<std::uint64_t>(r));
      if (static_cast<std::size_t>(r) < shm.size() && shm[static_cast<std::size_t>(r)]) {
        peer->shm = std::move(shm[static_cast<std::size_t>(r)]);
        ring_peers_.push_back(peer.get());
      }
    }
    peers_.push_back(std::move(peer));
  }
  loop_.start();
  for (auto& peer : peers_) single_copy_.offer(*peer);
}

Engine::~Engine() {
  loop_.stop();
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
  loop_.stop();
  // Drain what the peers sent and nobody will read, so close() sends a FIN, not a reset that
  // could destroy our own last bytes still in flight.
  for (auto& peer : peers_) {
    if (!peer->socket) continue;
    ::shutdown(peer->socket.get(), SHUT_WR);
    std::byte sink[4096];
    while (::recv(peer->socket.get(), sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
  }
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
  loop_.stop();
}

std::string Engine::describe(int world_rank) const {
  return describe_peer(address_of(world_rank));
}

// ---- mailboxes

Mailbox& Engine::mailbox(std::uint64_t context, const std::vector<int>& members, int my_rank,
                         bool collective_channel) {
  std::lock_guard lock(contexts_mutex_);
  Context& c = contexts_[context];
  if (!c.box) {
    c.box = std::make_unique<Mailbox>(my_rank);
    if (lost_) c.box->fail_all(lost_);
  }
  if (c.members.empty()) {
    c.members = members;
    c.collective_channel = collective_channel;
    // Peers that finished before this communicator was made here can no longer send to it.
    for (const auto& [world_rank, error] : finished_)
      for (int r = 0; r < static_cast<int>(members.size()); ++r)
        if (members[static_cast<std::size_t>(r)] == world_rank) c.box->fail_source(r, error, false);
  }
  return *c.box;
}

Mailbox& Engine::mailbox_for_frame(Peer& peer, const FrameHeader& header) {
  const std::uint64_t context = header.context;
  const std::vector<int>* members = nullptr;
  Mailbox* box = nullptr;
  bool collective_channel = false;
  if (peer.cached_box != nullptr && peer.cached_context == context) {
    box = peer.cached_box;
    members = peer.cached_members;
    collective_channel = peer.cached_collective_channel;
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
      collective_channel = c.collective_channel;
      peer.cached_context = context;
      peer.cached_box = box;
      peer.cached_members = members;
      peer.cached_collective_channel = collective_channel;
    }
  }
  if (members != nullptr) {
    const int source = header.source;
    if (source >= static_cast<int>(members->size()) ||
        (*members)[static_cast<std::size_t>(source)] != peer.rank)
      detail::throw_error<Error>("malformed frame header: it claims to come from rank ", source,
                                 " of its communicator, which is not the sender");
    if (header.stamp != 0 && !collective_channel) [[unlikely]]
      detail::throw_error<Error>("malformed frame header: a collective stamp (", header.stamp,
                                 ") on a message of a communicator's user channel");
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
  auto delivery =
      box->begin(Envelope{header.source, header.tag, header.length, header.type, 0, header.stamp});
  if (header.length > 0) std::memcpy(delivery.destination, data, header.length);
  box->finish(std::move(delivery));
}

// ---- sending

void Engine::send(int world_dest, const FrameHeader& header, const void* data, Deadline deadline) {
  if (world_dest == rank()) return deliver_to_self(header, data);
  Peer& peer = *peers_[static_cast<std::size_t>(world_dest)];
  auto frame = queue_message(peer, header, data, nullptr, /*write_at_once=*/true);
  if (!frame) return;  // the socket took it all at once
  wait_for(peer, frame, deadline);
}

std::shared_ptr<OutgoingFrame> Engine::queue_message(Peer& peer, const FrameHeader& header,
                                                     const void* data,
                                                     std::shared_ptr<const void> keep_alive,
                                                     bool write_at_once) {
  std::shared_ptr<OutgoingFrame> frame;
  {
    std::lock_guard lock(peer.send_mutex);
    frame = peer.queue_message_locked(header, data, std::move(keep_alive), write_at_once);
  }
  if (frame && frame->awaits_clearance()) loop_.hand_over();  // to read its clear-to-send soon
  return frame;
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
  // No "on rank": this is the world rank, and the communicator's call names itself and its own
  // rank in front (Communicator::named).
  detail::throw_error<Timeout>("hilo: to ", describe(peer.rank),
                               ": the peer did not take the message within ",
                               common::seconds_text(Clock::now() - start),
                               " (it is alive but not reading: stalled?); ", how);
}

std::unique_ptr<Operation> Engine::isend(int world_dest, const FrameHeader& header,
                                         std::shared_ptr<const void> keep_alive, const void* data) {
  const Status done{header.source, header.tag, header.length};
  if (world_dest == rank()) {
    deliver_to_self(header, data);
    return std::make_unique<CompletedOperation>(done);
  }
  Peer& peer = *peers_[static_cast<std::size_t>(world_dest)];
  auto frame = queue_message(peer, header, data, std::move(keep_alive), /*write_at_once=*/false);
  if (!frame->pending()) return std::make_unique<CompletedOperation>(done);
  return std::make_unique<SendOperation>(*this, peer, std::move(frame), header.tag);
}

void Engine::poll_until(const detail::PendingReceive& receive, int world_source) {
  // Whether a peer has a ring is fixed at construction: read without a lock.
  const bool awaited = world_source >= 0 && world_source != rank();
  ShmChannel* ring = awaited ? peers_[static_cast<std::size_t>(world_source)]->shm.get() : nullptr;
  // The ring's CPU word is an atomic read without a lock (a hint: see poll_until).
  loop_.poll_until(receive, awaited ? world_source : -1,
                   ring != nullptr && ring->incoming().producer_on_this_cpu());
}

pid_t Engine::memory_of(int world_rank) {
  return single_copy_.memory_of(*peers_[static_cast<std::size_t>(world_rank)]);
}

// ---- failures

void Engine::report_loss(Peer& peer, const std::string& why) {
  if (!config_.reports || peer.loss_reported || peer.reader.said_goodbye()) return;
  peer.loss_reported = true;
  config_.reports->send({rank(), launch::ReportKind::peer_lost, peer.rank, "hilo: " + why, 0, {}});
}

void Engine::report_lost(int world_rank, const std::string& why) {
  Peer& peer = *peers_[static_cast<std::size_t>(world_rank)];
  std::lock_guard progress(loop_.mutex());
  std::lock_guard send(peer.send_mutex);
  report_loss(peer, why);
}

void Engine::peer_lost(Peer& peer, const std::string& why) {
  auto error = std::make_exception_ptr(
      PeerLost(detail::make_message("hilo: ", why), peer.rank, this->address_of(peer.rank).host));
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
  config_.log.write(detail::LogLevel::error, "tcp", "peer lost: ", why);
  // A job that lost a rank cannot trust any receive to complete (a collective may be waiting on
  // it through others): every receive of this rank fails now, in every communicator.
  std::lock_guard lock(contexts_mutex_);
  if (!lost_) lost_ = error;
  for (auto& [context, c] : contexts_) c.box->fail_all(error);
}

void Engine::peer_finished(Peer& peer) {
  auto error = std::make_exception_ptr(PeerLost(
      detail::make_message("hilo: ", describe(peer.rank),
                           " has finished (its hilo::Runtime ended): nothing more will come from "
                           "it and nothing sent to it will be received"),
      peer.rank, this->address_of(peer.rank).host));
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

}  // namespace hilo::tcp
