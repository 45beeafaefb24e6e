#include "backends/tcp/tcp_transport.hpp"

#include <algorithm>
#include <exception>
#include <string_view>

#include "backends/tcp/single_copy.hpp"

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

namespace {

class ReceiveOperation final : public Operation {
 public:
  ReceiveOperation(Engine& engine, int world_source, detail::Mailbox& box,
                   std::shared_ptr<detail::PendingReceive> receive,
                   std::function<void(const Timeout&)> on_timeout)
      : engine_(engine),
        world_source_(world_source),
        box_(box),
        receive_(std::move(receive)),
        on_timeout_(std::move(on_timeout)) {}
  ~ReceiveOperation() override {
    if (!finished_) box_.cancel(*receive_);
  }
  bool test() override { return box_.test(*receive_); }
  Status wait(Deadline deadline) override {
    try {
      engine_.poll_until(*receive_, world_source_);
      Status s = box_.wait(*receive_, deadline);
      finished_ = true;
      return s;
    } catch (const Timeout& timeout) {
      finished_ = true;  // the mailbox withdrew it
      on_timeout_(timeout);
      throw;
    } catch (...) {
      finished_ = true;
      throw;
    }
  }

 private:
  Engine& engine_;
  int world_source_;  // -1: any source
  detail::Mailbox& box_;
  std::shared_ptr<detail::PendingReceive> receive_;
  std::function<void(const Timeout&)> on_timeout_;
  bool finished_ = false;
};

}  // namespace

TcpTransport::TcpTransport(std::shared_ptr<Engine> engine, std::uint64_t context,
                           std::vector<int> members, int rank, bool collective_channel)
    : engine_(std::move(engine)), context_(context), members_(std::move(members)), rank_(rank) {
  mine_ = &engine_->mailbox(context_, members_, rank_, collective_channel);
  if (members_.size() > 1 && TcpPeerMemory::all_on_host_of(*engine_, members_, world_rank(rank_)))
    memory_ = std::make_unique<TcpPeerMemory>(*engine_, members_);
  std::vector<std::string_view> hosts;
  for (int member : members_) {
    const std::string_view host = engine_->address_of(member).host;
    const auto known = std::find(hosts.begin(), hosts.end(), host);
    host_map_.push_back(static_cast<int>(known - hosts.begin()));
    if (known == hosts.end()) hosts.push_back(host);
  }
}

std::string TcpTransport::host_of(int rank) const {
  return engine_->address_of(world_rank(rank)).host;
}

FrameHeader TcpTransport::header(int tag, std::size_t bytes, DataType type) const {
  FrameHeader h;
  h.context = context_;
  h.source = rank_;
  h.tag = tag;
  h.type = type;
  h.length = bytes;
  h.stamp = stamp_.load(std::memory_order_relaxed);
  return h;
}

void TcpTransport::send(int dest, int tag, const void* data, std::size_t bytes, DataType type,
                        Deadline deadline) {
  engine_->send(world_rank(dest), header(tag, bytes, type), data, deadline);
}

std::unique_ptr<Operation> TcpTransport::isend(int dest, int tag,
                                               std::shared_ptr<const void> keep_alive,
                                               const void* data, std::size_t bytes, DataType type) {
  return engine_->isend(world_rank(dest), header(tag, bytes, type), std::move(keep_alive), data);
}

void TcpTransport::timed_out() noexcept {
  if (PendingReporter* reporter = engine_->pending_reporter()) reporter->report_timeout();
}

void TcpTransport::rethrow_naming_peer(const Timeout& timeout, int source) const {
  if (source == any_source) throw timeout;
  detail::throw_error<Timeout>(timeout.what(), "; it was waiting on world ",
                               engine_->describe(world_rank(source)),
                               ", whose connection is still open: stalled, or not sending?");
}

Status TcpTransport::recv(int source, int tag, const Sink& sink, Deadline deadline) {
  auto receive = mine_->post(source, tag, sink, receive_stamp(tag));
  try {
    engine_->poll_until(*receive, source == any_source ? -1 : world_rank(source));
    return mine_->wait(*receive, deadline);
  } catch (const Timeout& timeout) {
    rethrow_naming_peer(timeout, source);
  }
}

std::unique_ptr<Operation> TcpTransport::irecv(int source, int tag, Sink sink) {
  return std::make_unique<ReceiveOperation>(
      *engine_, source == any_source ? -1 : world_rank(source), *mine_,
      mine_->post(source, tag, std::move(sink), receive_stamp(tag)),
      [this, source](const Timeout& timeout) {
        timed_out();  // a Request's wait: Communicator::rethrow_in does not see it
        rethrow_naming_peer(timeout, source);
      });
}

Status TcpTransport::probe(int source, int tag, Deadline deadline) {
  try {
    return mine_->probe(source, tag, deadline);
  } catch (const Timeout& timeout) {
    rethrow_naming_peer(timeout, source);
  }
}

std::optional<Status> TcpTransport::iprobe(int source, int tag) {
  return mine_->iprobe(source, tag);
}

std::unique_ptr<Transport> TcpTransport::derive(std::uint64_t context, std::vector<int> members) {
  DerivedMembers derived = derive_members(members_, members, rank_);
  return std::make_unique<TcpTransport>(engine_, context, std::move(derived.world_ranks),
                                        derived.rank);
}

Transport& TcpTransport::collective_channel() {
  if (!collectives_)
    collectives_ = std::make_unique<TcpTransport>(
        engine_, derive_context(context_, ~std::uint64_t{0}, 0), members_, rank_,
        /*collective_channel=*/true);
  return *collectives_;
}

detail::CollectiveStamping TcpTransport::collective_stamping() {
  TcpTransport& ch = channel();
  return {&ch.stamp_, &ch.mine_->notice_word()};
}

void TcpTransport::raise_collective_notice() {
  const detail::Mailbox& box = *channel().mine_;
  if (const int peer = box.notice_from(); peer >= 0) std::rethrow_exception(box.notice_error(peer));
}

void TcpTransport::abandon_collective(std::uint32_t stamp) {
  channel().mine_->abandon(stamp);
}

std::optional<std::size_t> TcpTransport::min_handshake_message_bytes() const {
  // A constant, not whether this rank has single copy on: every rank must answer alike.
  return single_copy_threshold;
}

}  // namespace hilo::tcp
