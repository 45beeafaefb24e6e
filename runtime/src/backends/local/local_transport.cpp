#include "backends/local/local_transport.hpp"

#include <cstring>

#include "hilo/comm/detail/collective_call.hpp"
#include "hilo/errors.hpp"

namespace hilo::local {

using detail::Envelope;
using detail::Mailbox;
using detail::PendingReceive;

// ---- LocalWorld

LocalWorld::LocalWorld(int size, const testing::FaultPlan& plan) : size_(size) {
  faults_ = std::make_unique<FaultInjector>(
      plan, [this](int world_rank, std::exception_ptr error) { rank_lost(world_rank, error); });
}

Mailbox& LocalWorld::mailbox(std::uint64_t context, const std::vector<int>& members, int rank) {
  std::lock_guard lock(mutex_);
  Group& c = communicators_[context];
  if (c.boxes.empty()) {
    c.members = members;
    for (int r = 0; r < static_cast<int>(members.size()); ++r) {
      c.boxes.push_back(std::make_unique<Mailbox>(r));
      if (faults_ && faults_->reorders()) c.boxes.back()->reorder_any_source();
    }
    // A communicator made after a rank was lost must fail the same way as the older ones.
    for (auto& [world_rank, error] : finished_) fail_finished(c, world_rank, error);
    if (lost_)
      for (auto& box : c.boxes) box->fail_all(lost_);
  }
  return *c.boxes[rank];
}

void LocalWorld::fail_finished(Group& c, int world_rank, std::exception_ptr error) {
  for (int r = 0; r < static_cast<int>(c.members.size()); ++r)
    if (c.members[r] == world_rank)
      for (auto& box : c.boxes) box->fail_source(r, error, false);
}

void LocalWorld::rank_failed(int world_rank, std::exception_ptr error) {
  std::string why = "an exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    why = e.what();
  } catch (...) {
  }
  std::lock_guard lock(mutex_);
  if (first_error_) return;  // the others are already failing because of the first one
  first_error_ = error;
  lost_ = std::make_exception_ptr(PeerLost("hilo: local rank " + std::to_string(world_rank) +
                                               " failed, so this operation cannot complete: " + why,
                                           world_rank, "localhost"));
  failed_.store(true);
  // Any receive may depend on the failed rank through a collective: fail them all.
  for (auto& [context, c] : communicators_)
    for (auto& box : c.boxes) box->fail_all(lost_);
}

void LocalWorld::rank_finished(int world_rank) {
  auto lost =
      std::make_exception_ptr(PeerLost("hilo: local rank " + std::to_string(world_rank) +
                                           " has returned from its function, so nothing more "
                                           "will come from it",
                                       world_rank, "localhost"));
  if (faults_)
    faults_->after_messages_from(world_rank,
                                 [this, world_rank, lost] { finished_now(world_rank, lost); });
  else
    finished_now(world_rank, lost);
}

void LocalWorld::finished_now(int world_rank, std::exception_ptr lost) {
  std::lock_guard lock(mutex_);
  finished_.emplace_back(world_rank, lost);
  for (auto& [context, c] : communicators_) fail_finished(c, world_rank, lost);
}

void LocalWorld::rank_lost(int world_rank, std::exception_ptr error) {
  std::lock_guard lock(mutex_);
  lost_ranks_.emplace(world_rank, error);
  if (!lost_) lost_ = error;  // what communicators made from now on fail with
  for (auto& [context, c] : communicators_)
    for (auto& box : c.boxes) box->fail_all(error);
}

void LocalWorld::throw_if_lost(int world_rank) const {
  std::lock_guard lock(mutex_);
  if (auto it = lost_ranks_.find(world_rank); it != lost_ranks_.end())
    std::rethrow_exception(it->second);
}

std::exception_ptr LocalWorld::first_error() const {
  std::lock_guard lock(mutex_);
  return first_error_;
}

void LocalWorld::throw_if_failed() const {
  if (!failed_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mutex_);
  std::rethrow_exception(lost_);
}

// ---- LocalTransport

namespace {
// Operations come from the transport's OperationPool (operation_pool.hpp says why): a window of
// small messages otherwise spends more in malloc and free than in the messages themselves.
// The receive lives in the operation itself (Mailbox::post(PendingReceive&)): no allocation
// beyond the operation's pooled block. Invariant: the operation outlives the mailbox's pointer to
// the receive, since it is destroyed only once the receive is settled or withdrawn.
class MailboxReceive final : public Operation, public detail::PooledOperation {
 public:
  MailboxReceive(Mailbox& box, int source, int tag, Sink sink, std::uint32_t stamp)
      : box_(box), receive_(source, tag, std::move(sink), stamp) {
    box_.post(receive_);
  }
  // Settled: nothing touches the receive any more, so no lock; else withdrawn or waited for.
  ~MailboxReceive() override {
    if (!receive_.done()) box_.cancel(receive_);
  }
  bool test() override { return box_.test(receive_); }
  Status wait(Deadline deadline) override { return box_.wait(receive_, deadline); }

 private:
  Mailbox& box_;
  PendingReceive receive_;
};

static_assert(sizeof(MailboxReceive) <= detail::OperationPool::block_bytes,
              "MailboxReceive must fit an OperationPool block");

// A send is complete once copied (isend is eager).
class CompletedSend final : public Operation, public detail::PooledOperation {
 public:
  explicit CompletedSend(Status status) : status_(status) {}
  bool test() override { return true; }
  Status wait(Deadline) override { return status_; }

 private:
  Status status_;
};
}  // namespace

LocalTransport::LocalTransport(std::shared_ptr<LocalWorld> world, std::uint64_t context,
                               std::vector<int> members, int rank, detail::Log log)
    : world_(std::move(world)),
      log_(std::move(log)),
      context_(context),
      members_(std::move(members)),
      rank_(rank),
      faults_(world_->faults()) {
  mine_ = &world_->mailbox(context_, members_, rank_);
  for (int r = 0; r < size(); ++r) peers_.push_back(&world_->mailbox(context_, members_, r));
  if (faults_) sent_ = std::make_unique<std::atomic<std::uint64_t>[]>(members_.size());
}

CallObserver* LocalTransport::call_observer() {
  return faults_ ? faults_->observer(members_[rank_]) : nullptr;
}

void LocalTransport::send_with_faults(int dest, int tag, const void* data, std::size_t bytes,
                                      DataType type) {
  world_->throw_if_failed();
  world_->throw_if_lost(members_[dest]);
  const std::uint64_t sequence = sent_[dest].fetch_add(1, std::memory_order_relaxed);
  Envelope envelope{rank_, tag, bytes, type};
  envelope.stamp = stamp_.load(std::memory_order_relaxed);
  envelope.order_key = faults_->order_key(context_, rank_, dest, sequence);
  faults_->deliver(*peers_[dest], envelope, data, context_, dest, sequence, members_[rank_]);
}

std::string LocalTransport::host_of(int) const {
  return "localhost";
}

void LocalTransport::send(int dest, int tag, const void* data, std::size_t bytes, DataType type,
                          Deadline) {
  if (faults_) [[unlikely]]
    return send_with_faults(dest, tag, data, bytes, type);
  world_->throw_if_failed();
  Mailbox& box = *peers_[dest];
  const Envelope envelope{rank_, tag, bytes, type, 0, stamp_.load(std::memory_order_relaxed)};
  if (bytes <= Mailbox::push_max_bytes) {
    box.push(envelope, data);
    return;
  }
  Mailbox::Delivery delivery = box.begin(envelope);
  if (bytes > 0) std::memcpy(delivery.destination, data, bytes);
  box.finish(std::move(delivery));
}

std::unique_ptr<Operation> LocalTransport::isend(int dest, int tag, std::shared_ptr<const void>,
                                                 const void* data, std::size_t bytes,
                                                 DataType type) {
  send(dest, tag, data, bytes, type, Deadline::never());  // eager: done once copied
  return std::unique_ptr<Operation>(new (*operations_) CompletedSend(Status{rank_, tag, bytes}));
}

Status LocalTransport::recv(int source, int tag, const Sink& sink, Deadline deadline) {
  // On the stack: wait() returns or throws only once the receive is settled or withdrawn.
  PendingReceive receive(source, tag, sink, receive_stamp(tag));
  mine_->post(receive);
  return mine_->wait(receive, deadline);
}

std::unique_ptr<Operation> LocalTransport::irecv(int source, int tag, Sink sink) {
  return std::unique_ptr<Operation>(
      new (*operations_) MailboxReceive(*mine_, source, tag, std::move(sink), receive_stamp(tag)));
}

Status LocalTransport::probe(int source, int tag, Deadline deadline) {
  return mine_->probe(source, tag, deadline);
}

std::optional<Status> LocalTransport::iprobe(int source, int tag) {
  return mine_->iprobe(source, tag);
}

std::unique_ptr<Transport> LocalTransport::derive(std::uint64_t context, std::vector<int> members) {
  DerivedMembers derived = derive_members(members_, members, rank_);
  return std::make_unique<LocalTransport>(world_, context, std::move(derived.world_ranks),
                                          derived.rank, log_);
}

detail::CollectiveStamping LocalTransport::collective_stamping() {
  auto& channel = static_cast<LocalTransport&>(collective_channel());
  return {&channel.stamp_, &channel.mine_->notice_word()};
}

void LocalTransport::raise_collective_notice() {
  const detail::Mailbox& box = *static_cast<LocalTransport&>(collective_channel()).mine_;
  if (const int peer = box.notice_from(); peer >= 0) std::rethrow_exception(box.notice_error(peer));
}

void LocalTransport::abandon_collective(std::uint32_t stamp) {
  static_cast<LocalTransport&>(collective_channel()).mine_->abandon(stamp);
}

Transport& LocalTransport::collective_channel() {
  if (!collectives_)
    collectives_ = std::make_unique<LocalTransport>(
        world_, derive_context(context_, ~std::uint64_t{0}, 0), members_, rank_, log_);
  return *collectives_;
}

}  // namespace hilo::local
