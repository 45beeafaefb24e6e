#include "backends/mpi/mpi_transport.hpp"

#include <climits>
#include <string_view>
#include <thread>

#include "backends/mpi/mpi_call.hpp"
#include "common/seconds_text.hpp"
#include "hilo/comm/communicator.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::mpi {

using detail::make_message;
using detail::OnRank;
using detail::throw_error;

namespace {
int mpi_source(int source) {
  return source == any_source ? MPI_ANY_SOURCE : source;
}
int mpi_tag(int tag) {
  return tag == any_tag ? MPI_ANY_TAG : tag;
}

Status status_of(const MPI_Status& s) {
  return Status{s.MPI_SOURCE, s.MPI_TAG, mpi::bytes_of(s)};
}

// The error of a receive of known size that matched a message of another size.
Error wrong_size(const std::string& call, std::size_t got, std::size_t expected) {
  return Error(make_message("hilo: ", call, ": the message holds ", got,
                            " bytes, the receiver expects exactly ", expected));
}

// The error of a receive of known size that MPI reported (rc): a message larger than the receive
// is MPI_ERR_TRUNCATE, said in the words of wrong_size (MPI does not tell the message's size).
[[noreturn]] void throw_fixed_receive_error(int rc, const std::string& call, std::size_t expected) {
  int error_class = MPI_SUCCESS;
  MPI_Error_class(rc, &error_class);
  if (error_class == MPI_ERR_TRUNCATE)
    throw_error<Error>("hilo: ", call, ": the message is larger than the ", expected,
                       " bytes the receiver expects (MPI has consumed it)");
  mpi::fail(rc, call.c_str());
}

// A receive of known size, for mpi::wait_until's errors: its check() (found by argument-dependent
// lookup) says a truncation in the receiver's terms. (MPI_Wait does not report the error in the
// status, so it cannot be read afterwards.)
struct FixedReceiveCall {
  const mpi::CallSite& site;
  std::size_t expected;
};
void check(int rc, const FixedReceiveCall& call) {
  if (rc != MPI_SUCCESS) throw_fixed_receive_error(rc, call.site.text(), call.expected);
}

class SendOperation final : public Operation, public detail::PooledOperation {
 public:
  SendOperation(MPI_Request request, std::shared_ptr<const void> keep_alive,
                std::shared_ptr<MpiProgress> progress, mpi::CallSite what)
      : request_(request),
        keep_alive_(std::move(keep_alive)),
        progress_(std::move(progress)),
        what_(std::move(what)) {}
  ~SendOperation() override {
    // After MPI_Finalize (a request that outlived its runtime) MPI reads no buffer any more.
    if (request_ == MPI_REQUEST_NULL || mpi::finalized()) return;
    if (keep_alive_)
      progress_->adopt_send(request_, std::move(keep_alive_));
    else
      MPI_Wait(&request_, MPI_STATUS_IGNORE);  // the caller's buffer: it must not outlive us
  }
  bool test() override {
    int done = 0;
    mpi::check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), what_);
    return done != 0;
  }
  Status wait(Deadline deadline) override {
    MPI_Status status;
    if (request_ != MPI_REQUEST_NULL && !mpi::wait_until(request_, status, deadline, what_))
      throw_error<Timeout>("hilo: ", what_.text(), ": not received in time");
    return Status{};
  }

 private:
  MPI_Request request_;
  std::shared_ptr<const void> keep_alive_;
  std::shared_ptr<MpiProgress> progress_;  // only with keep_alive_: see MpiTransport::isend
  mpi::CallSite what_;
};

// A receive of known size, posted with MPI_Irecv straight into the user's object.
class FixedReceive final : public Operation, public detail::PooledOperation {
 public:
  FixedReceive(MPI_Request request, std::size_t expected, mpi::CallSite what)
      : request_(request), expected_(expected), what_(std::move(what)) {}
  ~FixedReceive() override {
    if (request_ == MPI_REQUEST_NULL || mpi::finalized()) return;
    MPI_Cancel(&request_);
    MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  bool test() override {
    if (request_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    const int rc = MPI_Test(&request_, &done, &status_);
    if (rc != MPI_SUCCESS) throw_fixed_receive_error(rc, what_.text(), expected_);
    if (done) check_size();
    return done != 0;
  }
  Status wait(Deadline deadline) override {
    if (request_ != MPI_REQUEST_NULL) {
      if (!mpi::wait_until(request_, status_, deadline, FixedReceiveCall{what_, expected_}))
        throw_error<Timeout>("hilo: ", what_.text(), ": no message in time");
      check_size();
    }
    return status_of(status_);
  }

 private:
  void check_size() {
    if (mpi::bytes_of(status_) != expected_)
      throw wrong_size(what_.text(), mpi::bytes_of(status_), expected_);
  }
  MPI_Request request_;
  MPI_Status status_{};
  std::size_t expected_;
  mpi::CallSite what_;
};

// A receive of unknown size, moved forward by MpiProgress.
class ProbedReceive final : public Operation, public detail::PooledOperation {
 public:
  ProbedReceive(std::shared_ptr<MpiProgress> progress,
                std::shared_ptr<MpiProgress::Pending> pending, mpi::CallSite what)
      : progress_(std::move(progress)), pending_(std::move(pending)), what_(std::move(what)) {}
  ~ProbedReceive() override { progress_->remove(pending_); }
  bool test() override { return progress_->poll(*pending_); }
  Status wait(Deadline deadline) override;

 private:
  std::shared_ptr<MpiProgress> progress_;
  std::shared_ptr<MpiProgress::Pending> pending_;
  mpi::CallSite what_;
};

Status ProbedReceive::wait(Deadline deadline) {
  auto pause = std::chrono::microseconds(0);
  while (!progress_->poll(*pending_)) {
    if (deadline.expired() && pending_->stage == MpiProgress::Pending::unmatched)
      throw_error<Timeout>("hilo: ", what_.text(),
                           ": no message in time (the receive was withdrawn)");
    if (pause.count() == 0)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(pause);
    pause = std::min(pause + std::chrono::microseconds(5), std::chrono::microseconds(200));
  }
  return pending_->status;
}
}  // namespace

MpiTransport::MpiTransport(MPI_Comm comm, bool owned, std::shared_ptr<MpiProgress> progress,
                           detail::Log log, bool is_channel, bool check_collectives)
    : comm_(comm),
      owned_(owned),
      is_channel_(is_channel),
      check_collectives_(check_collectives),
      progress_(std::move(progress)),
      log_(std::move(log)) {
  mpi::check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  mpi::check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  mpi::check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

MpiTransport::~MpiTransport() {
  collectives_.reset();
  if (owned_ && !mpi::finalized()) MPI_Comm_free(&comm_);
}

std::string MpiTransport::host_of(int rank) const {
  // Only this rank's own name is known without a collective, and hilo starts no collective
  // the user did not call (a plain MPI program in the same job would never join it).
  if (rank != rank_) return "the host of rank " + std::to_string(rank);
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(name, &length);
  return std::string(name, length);
}

// Builds the error text only when the call failed: describe() allocates several strings, and a
// send or receive that succeeds should cost what the MPI call costs. (Built on every call, the
// text was over a third of an 8-byte send's work.)
namespace {
template <class Describe>
void check_or_describe(int rc, Describe&& describe_call) {
  if (rc != MPI_SUCCESS) mpi::check(rc, describe_call());
}
}  // namespace

std::string MpiTransport::describe(const char* op, int peer, int tag) const {
  return mpi::CallSite{op, rank_, mpi_source(peer), mpi_tag(tag)}.text();
}

// The fast paths of send and recv below call MPI directly when the count fits an int, and keep
// every error (and mpi::Count's derived datatypes for larger messages) in other functions: with
// them inline, the compiler saved and restored six registers and laid out the error paths around
// each call, over a quarter of hilo's own work per 8-byte round trip.
void MpiTransport::send(int dest, int tag, const void* data, std::size_t bytes, DataType type,
                        Deadline) {
  // Not bounded by the deadline: MPI cannot take back a send it has started. A small send
  // returns at once; a large one returns when the receiver has taken it.
  const std::size_t elements = mpi::elements_in(type, bytes);
  if (elements <= static_cast<std::size_t>(INT_MAX)) [[likely]] {
    const int rc =
        MPI_Send(data, static_cast<int>(elements), mpi::datatype_of(type), dest, tag, comm_);
    if (rc != MPI_SUCCESS) [[unlikely]]
      throw_send_failed(rc, dest, tag);
    return;
  }
  mpi::Count count(type, bytes);
  const int rc = MPI_Send(data, count.count(), count.type(), dest, tag, comm_);
  if (rc != MPI_SUCCESS) throw_send_failed(rc, dest, tag);
}

void MpiTransport::throw_send_failed(int rc, int dest, int tag) const {
  mpi::fail(rc, describe("send", dest, tag).c_str());
}

std::unique_ptr<Operation> MpiTransport::isend(int dest, int tag,
                                               std::shared_ptr<const void> keep_alive,
                                               const void* data, std::size_t bytes, DataType type) {
  mpi::Count count(type, bytes);
  MPI_Request request;
  mpi::CallSite what{"isend", rank_, dest, tag};
  mpi::check(MPI_Isend(data, count.count(), count.type(), dest, tag, comm_, &request), what);
  // Only a send that owns its bytes may be handed to the progress engine when dropped, so only
  // it holds a reference to the engine: copying the shared_ptr costs two atomic updates per send.
  std::shared_ptr<MpiProgress> progress = keep_alive ? progress_ : nullptr;
  return std::unique_ptr<Operation>(new (progress_->operations()) SendOperation(
      request, std::move(keep_alive), std::move(progress), std::move(what)));
}

Status MpiTransport::receive_matched(MPI_Message& message, MPI_Status& probed, const Sink& sink,
                                     int source, int tag) {
  const std::size_t bytes = mpi::bytes_of(probed);
  std::string why = sink_mismatch(sink, sink.type, bytes);
  if (!why.empty()) {
    std::vector<std::byte> scratch(bytes);
    MPI_Mrecv(scratch.data(), static_cast<int>(bytes), MPI_BYTE, &message, MPI_STATUS_IGNORE);
    throw_error<Error>("hilo: ", describe("recv", source, tag), ": ", why,
                       " (MPI has consumed the message)");
  }
  void* into = sink.has_fixed_size() ? sink.fixed : sink.resize(bytes);
  mpi::Count count(sink.type, bytes);
  MPI_Status status;
  check_or_describe(MPI_Mrecv(into, count.count(), count.type(), &message, &status),
                    [&] { return describe("recv", source, tag); });
  return Status{probed.MPI_SOURCE, probed.MPI_TAG, bytes};
}

Status MpiTransport::recv(int source, int tag, const Sink& sink, Deadline deadline) {
  if (sink.has_fixed_size() && deadline.is_never()) {
    // The fast path: one MPI_Recv straight into the object, as a hand-written MPI program would.
    const std::size_t elements = mpi::elements_in(sink.type, sink.fixed_bytes);
    if (elements <= static_cast<std::size_t>(INT_MAX)) [[likely]] {
      MPI_Status status;
      const int rc = MPI_Recv(sink.fixed, static_cast<int>(elements), mpi::datatype_of(sink.type),
                              mpi_source(source), mpi_tag(tag), comm_, &status);
      if (rc != MPI_SUCCESS || mpi::bytes_of(status) != sink.fixed_bytes) [[unlikely]]
        throw_fixed_receive_failed(rc, status, sink.fixed_bytes, source, tag);
      return Status{status.MPI_SOURCE, status.MPI_TAG, sink.fixed_bytes};
    }
  }
  return recv_probed(source, tag, sink, deadline);
}

void MpiTransport::throw_fixed_receive_failed(int rc, const MPI_Status& status,
                                              std::size_t expected, int source, int tag) const {
  if (rc != MPI_SUCCESS) throw_fixed_receive_error(rc, describe("recv", source, tag), expected);
  throw wrong_size(describe("recv", source, tag), mpi::bytes_of(status), expected);
}

// Every other receive: of unknown size (matched with a probe, then received into storage of its
// size), with a deadline, or of more than INT_MAX elements.
Status MpiTransport::recv_probed(int source, int tag, const Sink& sink, Deadline deadline) {
  MPI_Status status;
  MPI_Message message;
  if (deadline.is_never()) {
    check_or_describe(MPI_Mprobe(mpi_source(source), mpi_tag(tag), comm_, &message, &status),
                      [&] { return describe("recv", source, tag); });
  } else {
    auto start = Deadline::Clock::now();
    auto pause = std::chrono::microseconds(0);
    for (;;) {
      int found = 0;
      check_or_describe(
          MPI_Improbe(mpi_source(source), mpi_tag(tag), comm_, &found, &message, &status),
          [&] { return describe("recv", source, tag); });
      if (found) break;
      if (deadline.expired())
        throw_error<Timeout>("hilo: ", describe("recv", source, tag), ": no message within ",
                             common::seconds_text(deadline.at - start));
      if (pause.count() == 0)
        std::this_thread::yield();
      else
        std::this_thread::sleep_for(pause);
      pause = std::min(pause + std::chrono::microseconds(5), std::chrono::microseconds(200));
    }
  }
  return receive_matched(message, status, sink, source, tag);
}

Status MpiTransport::sendrecv(int dest, int send_tag, const void* data, std::size_t send_bytes,
                              DataType send_type, int source, int recv_tag, const Sink& sink,
                              Deadline deadline) {
  const std::size_t send_elements = mpi::elements_in(send_type, send_bytes);
  if (sink.has_fixed_size() && deadline.is_never() &&
      send_elements <= static_cast<std::size_t>(INT_MAX)) {
    const std::size_t recv_elements = mpi::elements_in(sink.type, sink.fixed_bytes);
    if (recv_elements <= static_cast<std::size_t>(INT_MAX)) {
      MPI_Status status;
      const int rc = MPI_Sendrecv(data, static_cast<int>(send_elements),
                                  mpi::datatype_of(send_type), dest, send_tag, sink.fixed,
                                  static_cast<int>(recv_elements), mpi::datatype_of(sink.type),
                                  mpi_source(source), mpi_tag(recv_tag), comm_, &status);
      if (rc != MPI_SUCCESS || mpi::bytes_of(status) != sink.fixed_bytes) {
        const std::string call = describe("sendrecv", source, recv_tag);
        if (rc != MPI_SUCCESS) throw_fixed_receive_error(rc, call, sink.fixed_bytes);
        throw wrong_size(call, mpi::bytes_of(status), sink.fixed_bytes);
      }
      return Status{status.MPI_SOURCE, status.MPI_TAG, sink.fixed_bytes};
    }
  }
  // The send is started first so that two ranks exchanging with each other never wait on one
  // another; the receive then takes any path recv takes (a probe for an unknown size, a deadline).
  mpi::Count count(send_type, send_bytes);
  const mpi::CallSite sent{"sendrecv's send", rank_, dest, send_tag};
  MPI_Request request;
  mpi::check(MPI_Isend(data, count.count(), count.type(), dest, send_tag, comm_, &request), sent);
  // MPI reads the caller's buffer until the send completes, whether or not the receive succeeded.
  struct SendCompletion {
    MPI_Request& request;
    ~SendCompletion() {
      if (request != MPI_REQUEST_NULL) MPI_Wait(&request, MPI_STATUS_IGNORE);
    }
  } completion{request};
  Status received = recv(source, recv_tag, sink, deadline);
  mpi::check(MPI_Wait(&request, MPI_STATUS_IGNORE), sent);
  return received;
}

std::unique_ptr<Operation> MpiTransport::irecv(int source, int tag, Sink sink) {
  mpi::CallSite what{"irecv", rank_, mpi_source(source), mpi_tag(tag)};
  if (sink.has_fixed_size()) {
    mpi::Count count(sink.type, sink.fixed_bytes);
    MPI_Request request;
    mpi::check(MPI_Irecv(sink.fixed, count.count(), count.type(), mpi_source(source), mpi_tag(tag),
                         comm_, &request),
               what);
    return std::unique_ptr<Operation>(new (progress_->operations())
                                          FixedReceive(request, sink.fixed_bytes, std::move(what)));
  }
  auto pending = progress_->add(comm_, source, tag, std::move(sink));
  return std::unique_ptr<Operation>(
      new (progress_->operations()) ProbedReceive(progress_, std::move(pending), std::move(what)));
}

Status MpiTransport::probe(int source, int tag, Deadline deadline) {
  MPI_Status status;
  if (deadline.is_never()) {
    check_or_describe(MPI_Probe(mpi_source(source), mpi_tag(tag), comm_, &status),
                      [&] { return describe("probe", source, tag); });
    return status_of(status);
  }
  auto start = Deadline::Clock::now();
  for (;;) {
    if (auto found = iprobe(source, tag)) return *found;
    if (deadline.expired())
      throw_error<Timeout>("hilo: ", describe("probe", source, tag), ": no message within ",
                           common::seconds_text(deadline.at - start));
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

std::optional<Status> MpiTransport::iprobe(int source, int tag) {
  int found = 0;
  MPI_Status status;
  check_or_describe(MPI_Iprobe(mpi_source(source), mpi_tag(tag), comm_, &found, &status),
                    [&] { return describe("iprobe", source, tag); });
  if (!found) return std::nullopt;
  return status_of(status);
}

std::unique_ptr<Transport> MpiTransport::derive(std::uint64_t, std::vector<int>) {
  throw_error<Error>(
      "hilo: internal error: the mpi backend makes communicators with MPI_Comm_split/MPI_Comm_dup");
}

std::unique_ptr<Transport> MpiTransport::native_split(int color, int key, Deadline deadline) {
  if (!deadline.is_never()) {
    // MPI_Comm_split blocks until every rank calls it and has no nonblocking form (MPI 3.1), so
    // the ranks first meet in an all-gather of (colour, key) that can time out: once it is
    // complete every rank has reached split, and MPI_Comm_split cannot wait on an absent one.
    // A rank that passed a negative colour raised before this and never comes; the others
    // time out here. (A rank whose limit runs out in the very instant the all-gather completes
    // elsewhere leaves the others in MPI_Comm_split: no protocol of collectives closes that.)
    struct Agreement {
      int mine[2];
      std::vector<int> all;
    };
    auto agreement = std::make_shared<Agreement>(
        Agreement{{color, key}, std::vector<int>(2 * static_cast<std::size_t>(size_))});
    MPI_Request request;
    mpi::check(MPI_Iallgather(agreement->mine, 2, MPI_INT, agreement->all.data(), 2, MPI_INT, comm_,
                              &request),
               "MPI_Iallgather");
    finish_collective(request, deadline, "MPI_Iallgather of the colours and keys", agreement);
  }
  MPI_Comm child;
  mpi::check(MPI_Comm_split(comm_, color, key, &child), "MPI_Comm_split");
  return std::make_unique<MpiTransport>(child, true, progress_, log_, false, check_collectives_);
}

std::unique_ptr<Transport> MpiTransport::native_dup(Deadline deadline) {
  if (deadline.is_never()) {
    MPI_Comm child;
    mpi::check(MPI_Comm_dup(comm_, &child), "MPI_Comm_dup");
    return std::make_unique<MpiTransport>(child, true, progress_, log_, false, check_collectives_);
  }
  // MPI writes the new handle when the dup completes, possibly after a timeout: it lives on the
  // heap, kept past a timeout like any collective's buffer.
  auto child = std::make_shared<MPI_Comm>(MPI_COMM_NULL);
  MPI_Request request;
  mpi::check(MPI_Comm_idup(comm_, child.get(), &request), "MPI_Comm_idup");
  finish_collective(request, deadline, "MPI_Comm_idup", child);
  return std::make_unique<MpiTransport>(*child, true, progress_, log_, false, check_collectives_);
}

Transport& MpiTransport::collective_channel() {
  return collectives_ ? *collectives_ : *this;
}

// ---- native collectives

void MpiTransport::finish_collective(MPI_Request& request, Deadline deadline, const char* what,
                                     std::shared_ptr<const void> owned) {
  finish_collective(request, deadline, mpi::CollectiveSite{what, what, rank_}, std::move(owned));
}

void MpiTransport::finish_collective(MPI_Request& request, Deadline deadline,
                                     const mpi::CollectiveSite& site,
                                     std::shared_ptr<const void> owned) {
  MPI_Status status;
  auto start = Deadline::Clock::now();
  if (mpi::wait_until(request, status, deadline, site)) return;
  // The request stays active: MPI may neither cancel nor free a collective's request. If the
  // missing ranks join later it completes inside some later MPI call of this process; until
  // then it holds the communicator, which MPI_Comm_free only marks for freeing.
  if (owned) progress_->keep_until_finalize(std::move(owned));
  mpi::throw_collective_timeout(site, deadline.at - start);
}

bool MpiTransport::barrier(Deadline deadline) {
  if (deadline.is_never()) {
    mpi::check(MPI_Barrier(comm_), "MPI_Barrier");
    return true;
  }
  MPI_Request request;
  mpi::check(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
  finish_collective(request, deadline, "MPI_Ibarrier");
  return true;
}

bool MpiTransport::broadcast(void* data, std::size_t count, DataType type, int root,
                             Deadline deadline) {
  mpi::Count c(type, count * type.size);
  if (deadline.is_never()) {
    mpi::check(MPI_Bcast(data, c.count(), c.type(), root, comm_), "MPI_Bcast");
    return true;
  }
  MPI_Request request;
  mpi::check(MPI_Ibcast(data, c.count(), c.type(), root, comm_, &request), "MPI_Ibcast");
  finish_collective(request, deadline, "MPI_Ibcast");
  return true;
}

bool MpiTransport::reduce(const void* in, void* out, std::size_t count, DataType type,
                          ReduceKind op, int root, Deadline deadline) {
  MPI_Op mop = mpi::op_of(op, type);
  if (mop == MPI_OP_NULL || count > static_cast<std::size_t>(INT_MAX)) return false;
  MPI_Datatype t = mpi::datatype_of(type);
  const int n = static_cast<int>(count);
  // MPI forbids aliased buffers; in place is spelled MPI_IN_PLACE where the result lands.
  if (in == out && (root < 0 || root == rank_)) in = MPI_IN_PLACE;
  MPI_Request request;
  if (root < 0) {
    if (deadline.is_never()) {
      mpi::check(MPI_Allreduce(in, out, n, t, mop, comm_), "MPI_Allreduce");
      return true;
    }
    mpi::check(MPI_Iallreduce(in, out, n, t, mop, comm_, &request), "MPI_Iallreduce");
    finish_collective(request, deadline, "MPI_Iallreduce");
    return true;
  }
  if (deadline.is_never()) {
    mpi::check(MPI_Reduce(in, out, n, t, mop, root, comm_), "MPI_Reduce");
    return true;
  }
  mpi::check(MPI_Ireduce(in, out, n, t, mop, root, comm_, &request), "MPI_Ireduce");
  finish_collective(request, deadline, "MPI_Ireduce");
  return true;
}

bool MpiTransport::gather(const void* in, void* out, std::size_t count, DataType type, int root,
                          Deadline deadline) {
  const std::size_t elements = count * type.size / mpi::element_bytes(type);
  if (elements > static_cast<std::size_t>(INT_MAX)) return false;
  MPI_Datatype t = mpi::datatype_of(type);
  const int n = static_cast<int>(elements);
  MPI_Request request;
  if (root < 0) {
    if (deadline.is_never()) {
      mpi::check(MPI_Allgather(in, n, t, out, n, t, comm_), "MPI_Allgather");
      return true;
    }
    mpi::check(MPI_Iallgather(in, n, t, out, n, t, comm_, &request), "MPI_Iallgather");
    finish_collective(request, deadline, "MPI_Iallgather");
    return true;
  }
  if (deadline.is_never()) {
    mpi::check(MPI_Gather(in, n, t, out, n, t, root, comm_), "MPI_Gather");
    return true;
  }
  mpi::check(MPI_Igather(in, n, t, out, n, t, root, comm_, &request), "MPI_Igather");
  finish_collective(request, deadline, "MPI_Igather");
  return true;
}

bool MpiTransport::scatter(const void* in, void* out, std::size_t count, DataType type, int root,
                           Deadline deadline) {
  const std::size_t elements = count * type.size / mpi::element_bytes(type);
  if (elements > static_cast<std::size_t>(INT_MAX)) return false;
  MPI_Datatype t = mpi::datatype_of(type);
  const int n = static_cast<int>(elements);
  if (deadline.is_never()) {
    mpi::check(MPI_Scatter(in, n, t, out, n, t, root, comm_), "MPI_Scatter");
    return true;
  }
  MPI_Request request;
  mpi::check(MPI_Iscatter(in, n, t, out, n, t, root, comm_, &request), "MPI_Iscatter");
  finish_collective(request, deadline, "MPI_Iscatter");
  return true;
}

}  // namespace hilo::mpi
