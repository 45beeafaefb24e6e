// The backend interface. A backend moves bytes between the ranks of one communicator; it knows
// nothing of C++ types beyond the DataType tag. hilo::Communicator (communicator.hpp) turns values
// into bytes and picks the collective algorithm. This follows Gloo's split between transport and
// algorithm: local, mpi and tcp each implement Transport; the algorithms are written once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hilo/comm/byte_buffer_cache.hpp"
#include "hilo/comm/types.hpp"

namespace hilo {

// Where a receive wants its bytes. Either `fixed` (the size is known before the message arrives,
// e.g. an int or a std::array) or `resize` (called once with the message size, e.g. to size a
// std::vector, returning where to write). A backend checks `type` and the size against the
// message before writing a byte, and raises hilo::Error naming both on a mismatch.
struct Sink {
  DataType type;
  void* fixed = nullptr;
  std::size_t fixed_bytes = 0;
  std::function<void*(std::size_t bytes)> resize;

  bool has_fixed_size() const { return !resize; }
};

// Whether a message described by (type, bytes) fits `sink`; an empty string means yes, otherwise
// a sentence saying what differs. Shared by every backend so the error reads the same everywhere.
std::string sink_mismatch(const Sink& sink, DataType type, std::size_t bytes);

// A nonblocking operation in flight inside a backend.
class Operation {
 public:
  virtual ~Operation() = default;  // an incomplete receive is cancelled, a send completes first
  virtual bool test() = 0;         // true once complete; throws what the operation failed with
  virtual Status wait(Deadline deadline) = 0;
};

// An operation that finished when it was started (an eager send, for instance).
class CompletedOperation final : public Operation {
 public:
  explicit CompletedOperation(Status status) : status_(status) {}
  bool test() override { return true; }
  Status wait(Deadline) override { return status_; }

 private:
  Status status_;
};

// Collectives a backend runs natively (MPI), for element types and operations it can map.
// Each returns false when it cannot do the call, and the communicator falls back to the generic
// algorithm.
enum class ReduceKind {
  sum,
  product,
  min,
  max,
  logical_and,
  logical_or,
  bit_and,
  bit_or,
  bit_xor,
  other
};

class NativeCollectives {
 public:
  virtual ~NativeCollectives() = default;
  virtual bool barrier(Deadline) = 0;
  virtual bool broadcast(void* data, std::size_t count, DataType type, int root, Deadline) = 0;
  // root < 0 means all-reduce. `out` may equal `in` (in place).
  virtual bool reduce(const void* in, void* out, std::size_t count, DataType type, ReduceKind op,
                      int root, Deadline) = 0;
  // Fixed-size blocks of `count` elements per rank. root < 0 means all-gather.
  virtual bool gather(const void* in, void* out, std::size_t count, DataType type, int root,
                      Deadline) = 0;
  virtual bool scatter(const void* in, void* out, std::size_t count, DataType type, int root,
                       Deadline) = 0;
};

// Read access to the memory of a communicator's other ranks, for collectives that copy each
// byte once instead of through the network (direct_all_reduce in algorithms.hpp). The tcp
// backend has it between processes of one host (cross-memory attach, as its single copy).
class PeerMemory {
 public:
  virtual ~PeerMemory() = default;
  // Whether this rank may read rank `rank`'s memory now. Ranks may answer differently
  // (permissions, a peer's offer not yet in), so a collective agrees on it before relying on it.
  virtual bool reachable(int rank) = 0;
  // Copies `bytes` bytes from address `from` in rank `rank` to `to` here. Returns false if that
  // range is not mapped in the rank (any more): the rank has left the operation that told where
  // it was. Throws hilo::PeerLost if the rank's process is gone, hilo::Error for other failures.
  virtual bool read(int rank, std::uintptr_t from, void* to, std::size_t bytes) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string_view backend_name() const = 0;
  // The host a rank runs on, for error messages ("rank 2 on node7").
  virtual std::string host_of(int rank) const = 0;

  // Point to point. Per pair and communicator, messages are received in the order they were sent.
  // A blocking send may return before the message is received (eager) or after (rendezvous).
  virtual void send(int dest, int tag, const void* data, std::size_t bytes, DataType type,
                    Deadline deadline) = 0;
  // `keep_alive` owns the bytes until the operation completes, so a Request can be dropped.
  virtual std::unique_ptr<Operation> isend(int dest, int tag,
                                           std::shared_ptr<const void> keep_alive, const void* data,
                                           std::size_t bytes, DataType type) = 0;
  virtual Status recv(int source, int tag, const Sink& sink, Deadline deadline) = 0;
  virtual std::unique_ptr<Operation> irecv(int source, int tag, Sink sink) = 0;
  virtual Status probe(int source, int tag, Deadline deadline) = 0;
  virtual std::optional<Status> iprobe(int source, int tag) = 0;

  // A transport for a new communicator made of `members` (ranks of this one, in new-rank order,
  // including this rank), identified by `context`, a number every member computed the same way.
  // Its messages never mix with this communicator's.
  virtual std::unique_ptr<Transport> derive(std::uint64_t context, std::vector<int> members) = 0;
  // Backends with their own split/dup (MPI) return non-null; others get the generic one. Both are
  // collective: a rank that is not there by `deadline` makes them raise hilo::Timeout.
  virtual std::unique_ptr<Transport> native_split(int /*color*/, int /*key*/, Deadline) {
    return nullptr;
  }
  virtual std::unique_ptr<Transport> native_dup(Deadline) { return nullptr; }
  virtual std::uint64_t context() const = 0;

  // The channel for hilo's own collective traffic on this communicator: the same ranks, a
  // separate matching space, so a user's any_source/any_tag receive never takes a collective's
  // message.
  virtual Transport& collective_channel() = 0;
  // The backend's own collectives (MPI's), if it has them; the same answer for the transport's
  // whole life (a Communicator asks once).
  virtual NativeCollectives* native_collectives() { return nullptr; }

  // The smallest piece a pipelined collective (the ring and halving-doubling all-reduces) should
  // split a large step into. Smaller pieces overlap combining with arrival better; a transport
  // with a per-message handshake for large messages asks for pieces big enough to take that path.
  // Every rank must return the same value (the pieces' sizes are matched between sender and
  // receiver).
  virtual std::size_t min_pipeline_segment_bytes() const { return std::size_t{256} * 1024; }

  // Non-null when every rank of this communicator runs on this rank's host and the backend can
  // reach their memory there; the same on every rank (it depends only on the hosts).
  virtual PeerMemory* peer_memory() { return nullptr; }

  // Where the typed layer borrows the buffers it encodes serialized values into and receives
  // them in (byte_buffer_cache.hpp).
  ByteBufferCache& byte_buffers() { return byte_buffers_; }

 private:
  ByteBufferCache byte_buffers_;
};

// For derive(): the world ranks of a new communicator's members (given as ranks of the parent,
// whose world ranks are `parent_world_ranks`), and the calling rank's position among them.
struct DerivedMembers {
  std::vector<int> world_ranks;
  int rank;
};
DerivedMembers derive_members(const std::vector<int>& parent_world_ranks,
                              const std::vector<int>& members, int parent_rank);

// Derives the context number of a communicator made from `parent` by its n-th split/dup with
// `color`. Every member computes the same number without talking to the others.
std::uint64_t derive_context(std::uint64_t parent, std::uint64_t sequence, std::uint64_t color);

}  // namespace hilo
