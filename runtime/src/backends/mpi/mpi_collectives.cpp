// The mpi backend's exchange and prefix collectives (MPI_Alltoall(v), MPI_Allgatherv/MPI_Gatherv,
// MPI_Scan/MPI_Exscan, MPI_Reduce_scatter_block) and its nonblocking collectives (MPI_Ibarrier,
// MPI_Ibcast, MPI_Iallreduce, MPI_Iallgather, MPI_Ialltoall). Each is the MPI call a hand-written
// MPI program makes, with the same datatypes, so a plain C program in the same job can take part.
//
// As for the collectives in mpi_transport.cpp: without a deadline the blocking MPI call runs;
// with one, the nonblocking call is polled until the deadline (finish_collective), and a timeout
// leaves the communicator unusable because MPI cannot cancel a collective.
#include <climits>
#include <cstddef>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "backends/mpi/mpi_call.hpp"
#include "backends/mpi/mpi_transport.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::mpi {

namespace {

bool fits_int(std::size_t count) {
  return count <= static_cast<std::size_t>(INT_MAX);
}

// One element of `type` as an MPI datatype: the built-in type MPI programs use for it, or a block
// of type.size bytes for a type MPI does not know, so that counts and displacements stay in
// elements of `type` (a C program's MPI_BYTE counts match it: MPI compares type signatures).
// MPI allows freeing a datatype while a nonblocking call that uses it is still running.
class ElementType {
 public:
  explicit ElementType(DataType type) : type_(datatype_of(type)) {
    if (type_ != MPI_BYTE || type.size <= 1) return;
    check(MPI_Type_contiguous(static_cast<int>(type.size), MPI_BYTE, &type_),
          "MPI_Type_contiguous");
    check(MPI_Type_commit(&type_), "MPI_Type_commit");
    derived_ = true;
  }
  ElementType(const ElementType&) = delete;
  ElementType& operator=(const ElementType&) = delete;
  ~ElementType() {
    if (derived_) MPI_Type_free(&type_);
  }
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_;
  bool derived_ = false;
};

// A nonblocking collective on the caller's buffers.
class CollectiveOperation final : public Operation {
 public:
  CollectiveOperation(MPI_Request request, CollectiveSite site) : request_(request), site_(site) {}
  CollectiveOperation(const CollectiveOperation&) = delete;
  CollectiveOperation& operator=(const CollectiveOperation&) = delete;
  ~CollectiveOperation() override {
    // MPI writes the caller's buffers until the collective completes and can neither cancel nor
    // free its request: wait, unless a wait already timed out (the communicator is unusable
    // then, and the missing ranks may never come) or MPI is gone.
    if (request_ == MPI_REQUEST_NULL || abandoned_ || finalized()) return;
    MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  bool test() override {
    if (request_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), site_);
    return done != 0;
  }
  Status wait(Deadline deadline) override {
    if (request_ == MPI_REQUEST_NULL) return Status{};
    const auto start = Deadline::Clock::now();
    MPI_Status status;
    if (!wait_until(request_, status, deadline, site_)) {
      abandoned_ = true;
      throw_collective_timeout(site_, deadline.at - start);
    }
    return Status{};
  }

 private:
  MPI_Request request_;
  CollectiveSite site_;
  bool abandoned_ = false;
};

std::unique_ptr<Operation> started(MPI_Request request, const CollectiveSite& site) {
  return std::make_unique<CollectiveOperation>(request, site);
}

}  // namespace

// The usual case (no deadline, an element MPI names without a derived type) is the MPI call and
// a test, as scan's below: at small sizes what surrounds MPI_Alltoall shows against a bare MPI
// loop. The other cases are in all_to_all_other.
bool MpiTransport::all_to_all(const void* in, void* out, std::size_t count, DataType type,
                              Deadline deadline) {
  const MPI_Datatype t = datatype_of(type);
  if (!fits_int(count) || !deadline.is_never() || (t == MPI_BYTE && type.size > 1)) [[unlikely]]
    return all_to_all_other(in, out, count, type, deadline);
  if (in == out) in = MPI_IN_PLACE;  // MPI forbids aliased buffers
  const int n = static_cast<int>(count);
  const int rc = MPI_Alltoall(in, n, t, out, n, t, comm_);
  if (rc != MPI_SUCCESS) [[unlikely]]
    check(rc, CollectiveSite{"all_to_all", "MPI_Alltoall", rank_});
  return true;
}

bool MpiTransport::all_to_all_other(const void* in, void* out, std::size_t count, DataType type,
                                    Deadline deadline) {
  if (!fits_int(count)) return false;
  const ElementType t(type);
  const int n = static_cast<int>(count);
  if (in == out) in = MPI_IN_PLACE;  // MPI forbids aliased buffers
  if (deadline.is_never()) {
    check(MPI_Alltoall(in, n, t.get(), out, n, t.get(), comm_),
          CollectiveSite{"all_to_all", "MPI_Alltoall", rank_});
    return true;
  }
  const CollectiveSite site{"all_to_all", "MPI_Ialltoall", rank_};
  MPI_Request request;
  check(MPI_Ialltoall(in, n, t.get(), out, n, t.get(), comm_, &request), site);
  finish_collective(request, deadline, site);
  return true;
}

bool MpiTransport::all_to_all_v(const void* in, const int* send_counts, const int* send_displs,
                                void* out, const int* recv_counts, const int* recv_displs,
                                DataType type, Deadline deadline) {
  // What each rank sends this one, from one MPI_Alltoall of the send counts: MPI reports a
  // receiver expecting more than it gets by nothing at all, so the counts are compared first.
  const int n = size();
  std::vector<int> sent_here(static_cast<std::size_t>(n));
  const CollectiveSite counts_site{"all_to_all_v",
                                   deadline.is_never() ? "MPI_Alltoall" : "MPI_Ialltoall", rank_};
  if (deadline.is_never()) {
    check(MPI_Alltoall(send_counts, 1, MPI_INT, sent_here.data(), 1, MPI_INT, comm_), counts_site);
  } else {
    MPI_Request request;
    check(MPI_Ialltoall(send_counts, 1, MPI_INT, sent_here.data(), 1, MPI_INT, comm_, &request),
          counts_site);
    finish_collective(request, deadline, counts_site);
  }
  int disagreeing = -1;
  for (int q = 0; q < n && disagreeing < 0; ++q)
    if (sent_here[q] != recv_counts[q]) disagreeing = q;

  // On a disagreement this rank still takes what every rank sends it (into a buffer of its own,
  // from which the blocks of the right size are copied out), so that no rank is left waiting.
  std::vector<int> actual_displs;
  std::vector<std::byte> spill;
  void* into = out;
  const int* counts = recv_counts;
  const int* displs = recv_displs;
  if (disagreeing >= 0) {
    actual_displs.resize(sent_here.size());
    std::exclusive_scan(sent_here.begin(), sent_here.end(), actual_displs.begin(), 0);
    spill.resize(static_cast<std::size_t>(actual_displs.back() + sent_here.back()) * type.size);
    into = spill.data();
    counts = sent_here.data();
    displs = actual_displs.data();
  }
  const ElementType t(type);
  if (deadline.is_never()) {
    check(
        MPI_Alltoallv(in, send_counts, send_displs, t.get(), into, counts, displs, t.get(), comm_),
        CollectiveSite{"all_to_all_v", "MPI_Alltoallv", rank_, true});
  } else {
    const CollectiveSite site{"all_to_all_v", "MPI_Ialltoallv", rank_, true};
    MPI_Request request;
    check(MPI_Ialltoallv(in, send_counts, send_displs, t.get(), into, counts, displs, t.get(),
                         comm_, &request),
          site);
    finish_collective(request, deadline, site);
  }
  if (disagreeing < 0) return true;
  for (int q = 0; q < n; ++q)
    if (sent_here[q] == recv_counts[q] && sent_here[q] > 0)
      std::memcpy(
          static_cast<std::byte*>(out) + static_cast<std::size_t>(recv_displs[q]) * type.size,
          spill.data() + static_cast<std::size_t>(actual_displs[q]) * type.size,
          static_cast<std::size_t>(sent_here[q]) * type.size);
  detail::throw_error<Error>(detail::OnRank{"all_to_all_v", rank_}, "rank ", disagreeing, " sends ",
                             sent_here[disagreeing], " elements to rank ", rank_,
                             ", which expects ", recv_counts[disagreeing], " from it (recv_counts[",
                             disagreeing, "]); the counts must agree between ranks");
}

bool MpiTransport::gather_v(const void* in, std::size_t count, void* out, const int* recv_counts,
                            const int* recv_displs, DataType type, int root, Deadline deadline) {
  if (!fits_int(count)) return false;
  const ElementType t(type);
  const int n = static_cast<int>(count);
  MPI_Request request;
  if (root < 0) {
    if (deadline.is_never()) {
      check(MPI_Allgatherv(in, n, t.get(), out, recv_counts, recv_displs, t.get(), comm_),
            CollectiveSite{"all_gather_v", "MPI_Allgatherv", rank_, true});
      return true;
    }
    const CollectiveSite site{"all_gather_v", "MPI_Iallgatherv", rank_, true};
    check(MPI_Iallgatherv(in, n, t.get(), out, recv_counts, recv_displs, t.get(), comm_, &request),
          site);
    finish_collective(request, deadline, site);
    return true;
  }
  if (deadline.is_never()) {
    check(MPI_Gatherv(in, n, t.get(), out, recv_counts, recv_displs, t.get(), root, comm_),
          CollectiveSite{"gather_v", "MPI_Gatherv", rank_, true});
    return true;
  }
  const CollectiveSite site{"gather_v", "MPI_Igatherv", rank_, true};
  check(MPI_Igatherv(in, n, t.get(), out, recv_counts, recv_displs, t.get(), root, comm_, &request),
        site);
  finish_collective(request, deadline, site);
  return true;
}

// The usual case (no deadline; not rank 0 of an exclusive scan) is the MPI call and little else:
// at small sizes everything around MPI_Scan shows against a bare MPI loop, so the other cases,
// with their scratch buffer and polling, are in a function of their own.
bool MpiTransport::scan(const void* in, void* out, std::size_t count, DataType type, ReduceKind op,
                        bool exclusive, Deadline deadline) {
  const MPI_Op mop = op_of(op, type);
  if (mop == MPI_OP_NULL || !fits_int(count)) [[unlikely]]
    return false;
  const MPI_Datatype t = datatype_of(type);
  const int n = static_cast<int>(count);
  if (!deadline.is_never() || (exclusive && rank_ == 0)) [[unlikely]]
    return scan_polled_or_scratch(in, out, n, t, mop, exclusive, count * type.size, deadline);
  if (in == out) in = MPI_IN_PLACE;  // MPI forbids aliased buffers
  const int rc =
      exclusive ? MPI_Exscan(in, out, n, t, mop, comm_) : MPI_Scan(in, out, n, t, mop, comm_);
  if (rc != MPI_SUCCESS) [[unlikely]]
    check(rc, CollectiveSite{exclusive ? "exscan" : "scan", exclusive ? "MPI_Exscan" : "MPI_Scan",
                             rank_});
  return true;
}

bool MpiTransport::scan_polled_or_scratch(const void* in, void* out, int n, MPI_Datatype t,
                                          MPI_Op mop, bool exclusive, std::size_t bytes,
                                          Deadline deadline) {
  // MPI leaves MPI_Exscan's result on rank 0 undefined (Open MPI may write it); the contract
  // leaves `out` untouched there, so rank 0 receives into scratch it owns.
  std::shared_ptr<std::vector<std::byte>> scratch;
  if (exclusive && rank_ == 0) {
    scratch = std::make_shared<std::vector<std::byte>>(bytes);
    out = scratch->data();
  } else if (in == out) {
    in = MPI_IN_PLACE;  // MPI forbids aliased buffers
  }
  const char* name = exclusive ? "exscan" : "scan";
  if (deadline.is_never()) {
    const CollectiveSite site{name, exclusive ? "MPI_Exscan" : "MPI_Scan", rank_};
    check(exclusive ? MPI_Exscan(in, out, n, t, mop, comm_) : MPI_Scan(in, out, n, t, mop, comm_),
          site);
    return true;
  }
  const CollectiveSite site{name, exclusive ? "MPI_Iexscan" : "MPI_Iscan", rank_};
  MPI_Request request;
  check(exclusive ? MPI_Iexscan(in, out, n, t, mop, comm_, &request)
                  : MPI_Iscan(in, out, n, t, mop, comm_, &request),
        site);
  finish_collective(request, deadline, site, std::move(scratch));
  return true;
}

bool MpiTransport::reduce_scatter(const void* in, void* out, std::size_t count, DataType type,
                                  ReduceKind op, Deadline deadline) {
  const MPI_Op mop = op_of(op, type);
  if (mop == MPI_OP_NULL || !fits_int(count)) return false;
  const MPI_Datatype t = datatype_of(type);
  const int n = static_cast<int>(count);
  // In place, MPI takes the size() blocks from `out` and leaves the result in its first block.
  if (in == out) in = MPI_IN_PLACE;
  if (deadline.is_never()) {
    check(MPI_Reduce_scatter_block(in, out, n, t, mop, comm_),
          CollectiveSite{"reduce_scatter", "MPI_Reduce_scatter_block", rank_});
    return true;
  }
  const CollectiveSite site{"reduce_scatter", "MPI_Ireduce_scatter_block", rank_};
  MPI_Request request;
  check(MPI_Ireduce_scatter_block(in, out, n, t, mop, comm_, &request), site);
  finish_collective(request, deadline, site);
  return true;
}

// ---- nonblocking collectives

std::unique_ptr<Operation> MpiTransport::ibarrier() {
  const CollectiveSite site{"ibarrier", "MPI_Ibarrier", rank_};
  MPI_Request request;
  check(MPI_Ibarrier(comm_, &request), site);
  return started(request, site);
}

std::unique_ptr<Operation> MpiTransport::ibroadcast(void* data, std::size_t count, DataType type,
                                                    int root) {
  if (!fits_int(count)) return nullptr;
  const ElementType t(type);
  const CollectiveSite site{"ibroadcast", "MPI_Ibcast", rank_};
  MPI_Request request;
  check(MPI_Ibcast(data, static_cast<int>(count), t.get(), root, comm_, &request), site);
  return started(request, site);
}

std::unique_ptr<Operation> MpiTransport::iall_reduce(const void* in, void* out, std::size_t count,
                                                     DataType type, ReduceKind op) {
  const MPI_Op mop = op_of(op, type);
  if (mop == MPI_OP_NULL || !fits_int(count)) return nullptr;
  if (in == out) in = MPI_IN_PLACE;  // MPI forbids aliased buffers
  const CollectiveSite site{"iall_reduce", "MPI_Iallreduce", rank_};
  MPI_Request request;
  check(MPI_Iallreduce(in, out, static_cast<int>(count), datatype_of(type), mop, comm_, &request),
        site);
  return started(request, site);
}

std::unique_ptr<Operation> MpiTransport::iall_gather(const void* in, void* out, std::size_t count,
                                                     DataType type) {
  if (!fits_int(count)) return nullptr;
  const ElementType t(type);
  const int n = static_cast<int>(count);
  const CollectiveSite site{"iall_gather", "MPI_Iallgather", rank_};
  MPI_Request request;
  check(MPI_Iallgather(in, n, t.get(), out, n, t.get(), comm_, &request), site);
  return started(request, site);
}

std::unique_ptr<Operation> MpiTransport::iall_to_all(const void* in, void* out, std::size_t count,
                                                     DataType type) {
  if (!fits_int(count)) return nullptr;
  const ElementType t(type);
  const int n = static_cast<int>(count);
  if (in == out) in = MPI_IN_PLACE;  // MPI forbids aliased buffers
  const CollectiveSite site{"iall_to_all", "MPI_Ialltoall", rank_};
  MPI_Request request;
  check(MPI_Ialltoall(in, n, t.get(), out, n, t.get(), comm_, &request), site);
  return started(request, site);
}

}  // namespace hilo::mpi
