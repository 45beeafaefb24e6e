/// \file
/// The backend interface. A backend moves bytes between the ranks of one communicator; it knows
/// nothing of C++ types beyond the DataType tag. hilo::Communicator (communicator.hpp) turns values
/// into bytes and picks the collective algorithm. This follows Gloo's split between transport and
/// algorithm: local, mpi and tcp each implement Transport; the algorithms are written once.
/// Programs do not call it; it is documented for backend authors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hilo/comm/detail/byte_buffer_cache.hpp"
#include "hilo/comm/detail/collective_call.hpp"
#include "hilo/comm/detail/collective_record.hpp"
#include "hilo/comm/types.hpp"
#include "hilo/detail/log.hpp"

namespace hilo {

/// Where a receive wants its bytes. Either `fixed` (the size is known before the message arrives,
/// e.g. an int or a std::array) or `resize` (called once with the message size, e.g. to size a
/// std::vector, returning where to write). A backend checks `type` and the size against the
/// message before writing a byte, and raises hilo::Error naming both on a mismatch.
struct Sink {
  DataType type;                ///< The element type the receiver expects.
  void* fixed = nullptr;        ///< Where to write a message of known size (if no `resize`).
  std::size_t fixed_bytes = 0;  ///< The size a `fixed` receive expects, in bytes.
  std::function<void*(std::size_t bytes)> resize;  ///< Makes room for `bytes`, returns where.

  /// True when the receive's size is known before the message arrives (no `resize`).
  bool has_fixed_size() const { return !resize; }
};

/// Whether a message described by (type, bytes) fits `sink`; an empty string means yes, otherwise
/// a sentence saying what differs. Shared by every backend so the error reads the same everywhere.
std::string sink_mismatch(const Sink& sink, DataType type, std::size_t bytes);

/// A nonblocking operation in flight inside a backend; what a Request holds.
class Operation {
 public:
  /// An incomplete receive is cancelled; a send completes first.
  virtual ~Operation() = default;
  /// True once complete, never blocks; throws what the operation failed with.
  virtual bool test() = 0;
  /// Blocks until complete and returns the Status; throws hilo::Timeout once `deadline` passes,
  /// hilo::PeerLost if the peer is gone, hilo::Error if the operation failed.
  virtual Status wait(Deadline deadline) = 0;
};

/// An operation that finished when it was started (an eager send, for instance).
class CompletedOperation final : public Operation {
 public:
  /// Complete with `status`.
  explicit CompletedOperation(Status status) : status_(status) {}
  /// Always true.
  bool test() override { return true; }
  /// Returns the status at once.
  Status wait(Deadline) override { return status_; }

 private:
  Status status_;
};

/// The reduction operations a backend may run natively (MPI's MPI_Op), as reduce_kind names
/// them.
enum class ReduceKind {
  sum,          ///< std::plus
  product,      ///< std::multiplies
  min,          ///< hilo::minimum
  max,          ///< hilo::maximum
  logical_and,  ///< std::logical_and
  logical_or,   ///< std::logical_or
  bit_and,      ///< std::bit_and
  bit_or,       ///< std::bit_or
  bit_xor,      ///< std::bit_xor
  other         ///< Any other function object: only the generic algorithms run it.
};

/// Collectives a backend runs natively (MPI), for element types and operations it can map.
/// Each returns false when it cannot do the call, and the communicator falls back to the generic
/// algorithm. Each blocks like the Communicator collective it serves, and throws hilo::Timeout
/// once the deadline passes (where the backend can bound it) and hilo::Error on failure.
class NativeCollectives {
 public:
  virtual ~NativeCollectives() = default;
  /// MPI_Barrier.
  virtual bool barrier(Deadline) = 0;
  /// MPI_Bcast of `count` elements of `type` at `data`.
  virtual bool broadcast(void* data, std::size_t count, DataType type, int root, Deadline) = 0;
  /// MPI_Reduce, or MPI_Allreduce when root < 0. `out` may equal `in` (in place).
  virtual bool reduce(const void* in, void* out, std::size_t count, DataType type, ReduceKind op,
                      int root, Deadline) = 0;
  /// Fixed-size blocks of `count` elements per rank (MPI_Gather). root < 0 means all-gather.
  virtual bool gather(const void* in, void* out, std::size_t count, DataType type, int root,
                      Deadline) = 0;
  /// MPI_Scatter of blocks of `count` elements from root's `in` into every rank's `out`.
  virtual bool scatter(const void* in, void* out, std::size_t count, DataType type, int root,
                       Deadline) = 0;
  /// Every rank sends `count` elements to every rank: block j of `in` goes to rank j, block j of
  /// `out` comes from rank j (MPI_Alltoall).
  virtual bool all_to_all(const void* /*in*/, void* /*out*/, std::size_t /*count*/,
                          DataType /*type*/, Deadline) {
    return false;
  }
  /// MPI_Alltoallv: counts and displacements per rank, in elements.
  virtual bool all_to_all_v(const void* /*in*/, const int* /*send_counts*/,
                            const int* /*send_displs*/, void* /*out*/, const int* /*recv_counts*/,
                            const int* /*recv_displs*/, DataType /*type*/, Deadline) {
    return false;
  }
  /// MPI_Allgatherv (root < 0) or MPI_Gatherv to `root`: `count` elements from this rank;
  /// recv_counts/displs describe `out` (significant on the root only for gather_v).
  virtual bool gather_v(const void* /*in*/, std::size_t /*count*/, void* /*out*/,
                        const int* /*recv_counts*/, const int* /*recv_displs*/, DataType /*type*/,
                        int /*root*/, Deadline) {
    return false;
  }
  /// MPI_Scan (inclusive) or MPI_Exscan (exclusive; `out` is left untouched on rank 0).
  virtual bool scan(const void* /*in*/, void* /*out*/, std::size_t /*count*/, DataType /*type*/,
                    ReduceKind /*op*/, bool /*exclusive*/, Deadline) {
    return false;
  }
  /// MPI_Reduce_scatter_block: `in` has size() blocks of `count` elements; rank i gets block i
  /// reduced over every rank into `out` (`count` elements).
  virtual bool reduce_scatter(const void* /*in*/, void* /*out*/, std::size_t /*count*/,
                              DataType /*type*/, ReduceKind /*op*/, Deadline) {
    return false;
  }
  /// Nonblocking forms: an Operation that completes the collective, or nullptr (the
  /// communicator then runs the generic algorithm). Buffers stay alive until it completes.
  /// MPI_Ibarrier.
  virtual std::unique_ptr<Operation> ibarrier() { return nullptr; }
  /// MPI_Ibcast of `count` elements of `type` at `data`.
  virtual std::unique_ptr<Operation> ibroadcast(void* /*data*/, std::size_t /*count*/,
                                                DataType /*type*/, int /*root*/) {
    return nullptr;
  }
  /// MPI_Iallreduce; `out` may equal `in`.
  virtual std::unique_ptr<Operation> iall_reduce(const void* /*in*/, void* /*out*/,
                                                 std::size_t /*count*/, DataType /*type*/,
                                                 ReduceKind /*op*/) {
    return nullptr;
  }
  /// MPI_Iallgather of `count` elements per rank.
  virtual std::unique_ptr<Operation> iall_gather(const void* /*in*/, void* /*out*/,
                                                 std::size_t /*count*/, DataType /*type*/) {
    return nullptr;
  }
  /// MPI_Ialltoall of `count` elements per pair of ranks.
  virtual std::unique_ptr<Operation> iall_to_all(const void* /*in*/, void* /*out*/,
                                                 std::size_t /*count*/, DataType /*type*/) {
    return nullptr;
  }
};

/// Read access to the memory of a communicator's other ranks, for collectives that copy each
/// byte once instead of through the network (direct_all_reduce in all_reduce.hpp). The tcp
/// backend has it between processes of one host (cross-memory attach, as its single copy).
class PeerMemory {
 public:
  virtual ~PeerMemory() = default;
  /// Whether this rank may read rank `rank`'s memory now. Ranks may answer differently
  /// (permissions, a peer's offer not yet in), so a collective agrees on it before relying on it.
  virtual bool reachable(int rank) = 0;
  /// Copies `bytes` bytes from address `from` in rank `rank` to `to` here. Returns false if that
  /// range is not mapped in the rank (any more): the rank has left the operation that told where
  /// it was. Throws hilo::PeerLost if the rank's process is gone, hilo::Error for other failures.
  virtual bool read(int rank, std::uintptr_t from, void* to, std::size_t bytes) = 0;
};

/// Told of each communication call a Communicator makes, before the call starts: how a
/// hilo::testing::FaultPlan (hilo/testing.hpp) counts a rank's calls and kills it. Only the local
/// backend under run_local with a plan has one.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  /// `op` names the call ("send", "all_reduce"); throws to stop it.
  virtual void on_call(const char* op) = 0;
};

/// What a backend implements for one communicator: untyped point-to-point messages between its
/// ranks, and optionally native collectives. Every blocking member gives up with hilo::Timeout
/// once its Deadline passes, throws hilo::PeerLost when the peer is gone (where the backend can
/// tell) and hilo::Error for other failures, including a message that does not fit its Sink.
class Transport {
 public:
  virtual ~Transport() = default;

  /// This rank, 0..size()-1.
  virtual int rank() const = 0;
  /// How many ranks the communicator has.
  virtual int size() const = 0;
  /// "local", "mpi" or "tcp".
  virtual std::string_view backend_name() const = 0;
  /// The host a rank runs on, for error messages ("rank 2 on node7").
  virtual std::string host_of(int rank) const = 0;
  /// A call on this communicator is about to raise hilo::Timeout to its caller (its operation
  /// still recorded as pending): a backend whose launcher collects wait-for reports (tcp under
  /// hilorun) sends this rank's pending operations now. Never throws.
  virtual void timed_out() noexcept {}
  /// Where this rank's log lines go (hilo/detail/log.hpp). The default shows nothing; the
  /// backends started by hilo::Runtime and hilo::run_local return the log they were given.
  virtual const detail::Log& log() const;

  /// Sends `bytes` bytes of `type` to `dest` with `tag`; blocks until the bytes may be reused.
  /// Per pair and communicator, messages are received in the order they were sent. A blocking
  /// send may return before the message is received (eager) or after (rendezvous).
  virtual void send(int dest, int tag, const void* data, std::size_t bytes, DataType type,
                    Deadline deadline) = 0;
  /// Starts a send without blocking. `keep_alive` owns the bytes until the operation completes,
  /// so a Request can be dropped.
  virtual std::unique_ptr<Operation> isend(int dest, int tag,
                                           std::shared_ptr<const void> keep_alive, const void* data,
                                           std::size_t bytes, DataType type) = 0;
  /// Blocks until a message matching `source` and `tag` (wildcards allowed) is written into
  /// `sink`.
  virtual Status recv(int source, int tag, const Sink& sink, Deadline deadline) = 0;
  /// Starts a receive into `sink` without blocking.
  virtual std::unique_ptr<Operation> irecv(int source, int tag, Sink sink) = 0;
  /// Sends `send_bytes` to `dest` and receives one message from `source` into `sink`, in either
  /// order without deadlock (MPI_Sendrecv). The default posts the receive, sends without
  /// blocking, and waits for both; a backend with its own exchange overrides it.
  virtual Status sendrecv(int dest, int send_tag, const void* data, std::size_t send_bytes,
                          DataType send_type, int source, int recv_tag, const Sink& sink,
                          Deadline deadline);
  /// Blocks until a matching message has arrived and describes it without receiving it.
  virtual Status probe(int source, int tag, Deadline deadline) = 0;
  /// probe without blocking: std::nullopt if no matching message has arrived.
  virtual std::optional<Status> iprobe(int source, int tag) = 0;

  /// A transport for a new communicator made of `members` (ranks of this one, in new-rank order,
  /// including this rank), identified by `context`, a number every member computed the same way.
  /// Its messages never mix with this communicator's.
  virtual std::unique_ptr<Transport> derive(std::uint64_t context, std::vector<int> members) = 0;
  /// Backends with their own split (MPI) return non-null; others get the generic one.
  /// Collective: a rank that is not there by `deadline` makes it raise hilo::Timeout.
  virtual std::unique_ptr<Transport> native_split(int /*color*/, int /*key*/, Deadline) {
    return nullptr;
  }
  /// Backends with their own dup (MPI) return non-null; others get the generic one. Collective,
  /// bounded by `deadline` as native_split.
  virtual std::unique_ptr<Transport> native_dup(Deadline) { return nullptr; }
  /// The number that tells this communicator's messages from every other's (see derive).
  virtual std::uint64_t context() const = 0;

  /// The channel for hilo's own collective traffic on this communicator: the same ranks, a
  /// separate matching space, so a user's any_source/any_tag receive never takes a collective's
  /// message.
  virtual Transport& collective_channel() = 0;
  /// The backend's own collectives (MPI's), if it has them; the same answer for the transport's
  /// whole life (a Communicator asks once).
  virtual NativeCollectives* native_collectives() { return nullptr; }
  /// Who is told of each communication call on this communicator, if anyone (CallObserver); the
  /// same answer for the transport's whole life (a Communicator asks once).
  virtual CallObserver* call_observer() { return nullptr; }
  /// What checks that every rank is in the same collective before it runs, if anything
  /// (CollectiveChecker: the mpi backend's, under HILO_CHECK=collectives); the same answer for
  /// the transport's whole life (a Communicator asks once).
  virtual CollectiveChecker* collective_checker() { return nullptr; }
  /// Where a Communicator stores the stamp of each blocking collective (detail::collective_stamp,
  /// never 0) that the messages of collective_channel() carry, on a backend that owns its wire
  /// and finds a peer in a different call from the peer's messages (local, tcp); null pointers
  /// otherwise (the default). The same answer for the transport's whole life (a Communicator
  /// asks once).
  virtual detail::CollectiveStamping collective_stamping() { return {}; }
  /// Throws detail::CollectiveOutOfStep naming the peer that told this rank it is out of step
  /// (CollectiveStamping::notice_from); called only when one did. The default does nothing.
  virtual void raise_collective_notice() {}
  /// The blocking collective with `stamp` failed on this rank (a Timeout, a lost peer, a bad
  /// argument): its peers' messages that come later are leftovers, which a backend that checks
  /// stamps drops instead of finding the next call out of step. The default does nothing.
  virtual void abandon_collective(std::uint32_t /*stamp*/) {}

  /// The smallest message that may take a per-message handshake on this transport (the receiver
  /// answers before the bytes move, as the tcp backend's single copy between ranks of one host
  /// does), or std::nullopt if no message does. A fact about the transport, which the collectives
  /// size their pipeline segments by (pipeline_options.hpp); every rank must return the same
  /// value, whatever the path its own messages take.
  virtual std::optional<std::size_t> min_handshake_message_bytes() const { return std::nullopt; }

  /// Non-null when every rank of this communicator runs on this rank's host and the backend can
  /// reach their memory there; the same on every rank (it depends only on the hosts).
  virtual PeerMemory* peer_memory() { return nullptr; }

  /// Which host each rank runs on, one entry per rank: ranks with equal numbers share a host.
  /// Empty when the backend does not tell (the default). The same on every rank, for the whole
  /// transport's life: the hierarchical all-reduce (all_reduce.hpp) chooses and runs by it.
  virtual std::span<const int> host_map() const { return {}; }

  /// Where the typed layer borrows the buffers it encodes serialized values into and receives
  /// them in (byte_buffer_cache.hpp).
  ByteBufferCache& byte_buffers() { return byte_buffers_; }

 private:
  ByteBufferCache byte_buffers_;
};

/// For derive(): the world ranks of a new communicator's members (given as ranks of the parent,
/// whose world ranks are `parent_world_ranks`), and the calling rank's position among them.
struct DerivedMembers {
  std::vector<int> world_ranks;  ///< The members' world ranks, in new-rank order.
  int rank;                      ///< The calling rank's rank in the new communicator.
};
/// Computes DerivedMembers. Throws hilo::Error if `members` does not hold the calling rank
/// `parent_rank`, std::out_of_range if it names a rank the parent does not have.
DerivedMembers derive_members(const std::vector<int>& parent_world_ranks,
                              const std::vector<int>& members, int parent_rank);

/// Derives the context number of a communicator made from `parent` by its n-th split/dup with
/// `color`. Every member computes the same number without talking to the others. Never throws.
std::uint64_t derive_context(std::uint64_t parent, std::uint64_t sequence, std::uint64_t color);

}  // namespace hilo
