// The MPI backend's transport: one hilo communicator over one MPI communicator. A raw or
// contiguous message is a plain MPI message (no hilo header), typed with the matching MPI
// datatype, so C, Fortran or mpi4py programs in the same job exchange messages with hilo.
// Serialized values are one MPI_BYTE message; their size comes from a matched probe
// (MPI_Mprobe/MPI_Mrecv), which is safe with several threads receiving at once.
//
// Differences from the local and tcp backends, all imposed by MPI:
//  - a message whose size does not fit the receive is consumed (MPI has matched it) before the
//    error is raised, and element types are not checked (MPI carries no type);
//  - a collective that times out cannot be cancelled: the communicator is unusable afterwards,
//    and MPI may still write into the timed-out call's buffers if the missing ranks join later.
//    split and dup time out the same way: split first agrees on colours and keys with an
//    MPI_Iallgather under the deadline (MPI_Comm_split has no nonblocking form), dup is an
//    MPI_Comm_idup.
#pragma once

#include <mpi.h>

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "backends/mpi/mpi_call.hpp"
#include "comm/operation_pool.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::mpi {

class MpiProgress;

class MpiTransport final : public Transport, public NativeCollectives, public CollectiveChecker {
 public:
  // Uses `comm` (freeing it on destruction if `owned`). Local: starts no collective.
  // A collective channel (`is_channel`) is itself the channel of hilo's generic collectives.
  // `log`: the rank's (hilo/detail/log.hpp); communicators derived from this one share it, and
  // `check_collectives` (HILO_CHECK=collectives: this is their CollectiveChecker) too.
  MpiTransport(MPI_Comm comm, bool owned, std::shared_ptr<MpiProgress> progress,
               detail::Log log = {}, bool is_channel = false, bool check_collectives = false);
  ~MpiTransport() override;

  MPI_Comm comm() const { return comm_; }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string_view backend_name() const override { return "mpi"; }
  std::string host_of(int rank) const override;
  const detail::Log& log() const override { return log_; }

  void send(int dest, int tag, const void* data, std::size_t bytes, DataType type,
            Deadline deadline) override;
  std::unique_ptr<Operation> isend(int dest, int tag, std::shared_ptr<const void> keep_alive,
                                   const void* data, std::size_t bytes, DataType type) override;
  Status recv(int source, int tag, const Sink& sink, Deadline deadline) override;
  std::unique_ptr<Operation> irecv(int source, int tag, Sink sink) override;
  // MPI_Sendrecv when the receive's size is known and nothing bounds it; otherwise MPI_Isend,
  // then the receive (matched by a probe when its size is unknown) under the deadline, then the
  // send's completion. The deadline bounds the receive only: as for send, MPI cannot take back a
  // send it has started, so it completes before sendrecv returns or throws.
  Status sendrecv(int dest, int send_tag, const void* data, std::size_t send_bytes,
                  DataType send_type, int source, int recv_tag, const Sink& sink,
                  Deadline deadline) override;
  Status probe(int source, int tag, Deadline deadline) override;
  std::optional<Status> iprobe(int source, int tag) override;

  std::unique_ptr<Transport> derive(std::uint64_t context, std::vector<int> members) override;
  std::unique_ptr<Transport> native_split(int color, int key, Deadline deadline) override;
  std::unique_ptr<Transport> native_dup(Deadline deadline) override;
  std::uint64_t context() const override { return 0; }
  Transport& collective_channel() override;
  NativeCollectives* native_collectives() override { return this; }
  CollectiveChecker* collective_checker() override { return check_collectives_ ? this : nullptr; }
  // HILO_CHECK=collectives (mpi_collective_check.cpp): one MPI_Allgather of a fixed-size
  // descriptor of `call` on this communicator; every rank raises the same
  // hilo::CollectiveMismatch, naming the lowest rank and the first rank whose call differs.
  void check_same_collective(const CollectiveCall& call, Deadline deadline) override;

  bool barrier(Deadline) override;
  bool broadcast(void* data, std::size_t count, DataType type, int root, Deadline) override;
  bool reduce(const void* in, void* out, std::size_t count, DataType type, ReduceKind op, int root,
              Deadline) override;
  bool gather(const void* in, void* out, std::size_t count, DataType type, int root,
              Deadline) override;
  bool scatter(const void* in, void* out, std::size_t count, DataType type, int root,
               Deadline) override;
  // The collectives below are in mpi_collectives.cpp. Each maps to its MPI call; counts over
  // INT_MAX elements and reductions MPI does not define return false (hilo's generic algorithm).
  // all_to_all_v: counts that disagree between ranks raise hilo::Error on the receiver, naming
  // the sender and both counts. MPI reports a receiver expecting more than it gets by nothing at
  // all, so the send counts go first in one MPI_Alltoall of an int per pair (a plain MPI program
  // taking part in the same call makes that MPI_Alltoall too); a receiver whose counts disagree
  // then takes what was really sent into a buffer of its own, so every rank completes the
  // MPI_Alltoallv before one raises. gather_v's counts come from the senders themselves. A
  // truncation MPI still reports (MPI does not say which rank sent more) raises hilo::Error too;
  // Open MPI's blocking v-forms report it as another error, named with this likely cause.
  bool all_to_all(const void* in, void* out, std::size_t count, DataType type, Deadline) override;
  bool all_to_all_v(const void* in, const int* send_counts, const int* send_displs, void* out,
                    const int* recv_counts, const int* recv_displs, DataType type,
                    Deadline) override;
  bool gather_v(const void* in, std::size_t count, void* out, const int* recv_counts,
                const int* recv_displs, DataType type, int root, Deadline) override;
  bool scan(const void* in, void* out, std::size_t count, DataType type, ReduceKind op,
            bool exclusive, Deadline) override;
  bool reduce_scatter(const void* in, void* out, std::size_t count, DataType type, ReduceKind op,
                      Deadline) override;
  // Nonblocking: progress inside test() and wait() (and in any other MPI call of this process).
  // Destroying an unfinished one waits for it, since MPI may write the caller's buffers until it
  // completes, unless its wait timed out (the communicator is then unusable, as for blocking
  // collectives).
  std::unique_ptr<Operation> ibarrier() override;
  std::unique_ptr<Operation> ibroadcast(void* data, std::size_t count, DataType type,
                                        int root) override;
  std::unique_ptr<Operation> iall_reduce(const void* in, void* out, std::size_t count,
                                         DataType type, ReduceKind op) override;
  std::unique_ptr<Operation> iall_gather(const void* in, void* out, std::size_t count,
                                         DataType type) override;
  std::unique_ptr<Operation> iall_to_all(const void* in, void* out, std::size_t count,
                                         DataType type) override;

 private:
  // all_to_all's other cases, out of its usual one's way: a deadline (polled MPI_Ialltoall), an
  // element of more than one byte that MPI has no name for (a derived datatype), a count over
  // INT_MAX (false: the generic algorithm runs).
  bool all_to_all_other(const void* in, void* out, std::size_t count, DataType type,
                        Deadline deadline);
  // scan's other cases, out of its usual one's way: a deadline (polled MPI_Iscan/MPI_Iexscan),
  // and MPI_Exscan on rank 0 (into scratch, so that `out` is left untouched).
  bool scan_polled_or_scratch(const void* in, void* out, int count, MPI_Datatype type, MPI_Op op,
                              bool exclusive, std::size_t bytes, Deadline deadline);
  // Receives a message already matched by MPI_Mprobe/MPI_Improbe into the sink.
  Status receive_matched(MPI_Message& message, MPI_Status& probed, const Sink& sink, int source,
                         int tag);
  // Completes a nonblocking collective by the deadline, or raises hilo::Timeout. On a timeout
  // the request stays active (MPI can neither cancel nor free it) and the buffers it was given
  // stay MPI's: `owned` (buffers hilo allocated for it) is kept until MPI_Finalize.
  void finish_collective(MPI_Request& request, Deadline deadline, const char* what,
                         std::shared_ptr<const void> owned = nullptr);
  void finish_collective(MPI_Request& request, Deadline deadline, const mpi::CollectiveSite& site,
                         std::shared_ptr<const void> owned = nullptr);
  std::string describe(const char* op, int peer, int tag) const;
  // The error of a blocking send or of a receive of known size that MPI_Send or MPI_Recv
  // reported (rc) or whose size was not the one expected; out of line so that the fast paths stay
  // small.
  [[noreturn]] void throw_send_failed(int rc, int dest, int tag) const;
  [[noreturn]] void throw_fixed_receive_failed(int rc, const MPI_Status& status,
                                               std::size_t expected, int source, int tag) const;
  Status recv_probed(int source, int tag, const Sink& sink, Deadline deadline);

  MPI_Comm comm_;
  bool owned_;
  bool is_channel_;
  bool check_collectives_;
  int rank_ = 0, size_ = 0;
  std::shared_ptr<MpiProgress> progress_;
  detail::Log log_;
  std::unique_ptr<MpiTransport> collectives_;
};

// Moves nonblocking receives of unknown size forward in the background: MPI cannot post a
// receive before it knows the size, so a thread matches them with MPI_Improbe as messages come
// and posts MPI_Imrecv. Without it a serialized irecv would only progress inside wait/test, and
// a sender blocked in a large send would deadlock against it (Boost.MPI's issue #72).
class MpiProgress {
 public:
  explicit MpiProgress(bool threads_allowed);
  ~MpiProgress();
  // One receive of unknown size: matched (Improbe), then posted (Imrecv), then done.
  struct Pending {
    enum Stage { unmatched, receiving, done, failed };
    MPI_Comm comm;
    int source, tag;
    Sink sink;
    Stage stage = unmatched;
    MPI_Request request = MPI_REQUEST_NULL;
    Status status;
    std::exception_ptr error;
  };
  std::shared_ptr<Pending> add(MPI_Comm comm, int source, int tag, Sink sink);
  // Advances `p` now; true once its data has arrived (then p's status is valid).
  bool poll(Pending& p);
  void remove(const std::shared_ptr<Pending>& p);
  // Takes over a send whose Request was dropped before it completed: MPI still reads its
  // buffer, so `keep_alive` is held until MPI_Test says done (waiting in the destructor instead
  // would deadlock a thread that sends to itself and receives afterwards).
  void adopt_send(MPI_Request request, std::shared_ptr<const void> keep_alive);
  // Keeps the buffers of a nonblocking collective that timed out until MPI_Finalize. MPI forbids
  // cancelling or freeing its request (MPI 3.1, 5.12) and writes into the buffers if the missing
  // ranks ever join. The request is never tested again: its communicator is unusable, and
  // polling it would keep the progress thread awake for ranks that may never come.
  void keep_until_finalize(std::shared_ptr<const void> buffers);
  void stop();
  // Where the operations of every transport sharing this engine take their memory.
  detail::OperationPool& operations() { return *operations_; }

 private:
  void run();
  struct State;
  std::unique_ptr<State> state_;
  detail::OperationPool::Owner operations_;
};

}  // namespace hilo::mpi
