// Small helpers around the MPI C API: errors to exceptions, hilo DataTypes to MPI datatypes and
// ReduceKinds to MPI_Ops, 64-bit counts, and deadline-bounded completion of MPI requests.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstddef>
#include <string>
#include <thread>

#include "hilo/comm/detail/transport.hpp"
#include "hilo/comm/types.hpp"

namespace hilo::mpi {

// Names a point-to-point call for error messages ("isend on rank 0 to rank 1 with tag 7").
// Operations keep this, not the text: the text is built only when an error is raised, so a
// call that succeeds costs what the MPI call costs.
struct CallSite {
  const char* op;
  int rank, peer, tag;
  std::string text() const;
};

// Throws hilo::Error "hilo: <what> failed: <MPI's error string>" unless rc is MPI_SUCCESS.
void check(int rc, const std::string& what);
// The same for a call's name: the std::string is made only on failure. (Converting the name on
// every call cost a heap allocation for names over 15 characters, such as bytes_of's
// "MPI_Get_elements_x": more work per receive than that MPI call itself.)
// (The string is made out of line, in fail(): inline, its construction made every caller save
// registers around the MPI call on the path that succeeds.)
[[noreturn]] void fail(int rc, const char* what);
inline void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) [[unlikely]]
    fail(rc, what);
}
inline void check(int rc, const CallSite& site) {
  if (rc != MPI_SUCCESS) check(rc, site.text());
}

// The MPI datatype for one element of `type`: built-in arithmetic types as themselves (so plain
// MPI programs see MPI_INT, MPI_DOUBLE, ...), everything else as MPI_BYTE.
// (Inline, with Count's usual case below: they run on every send and receive.)
inline MPI_Datatype datatype_of(DataType type) {
  using K = DataType::Kind;
  switch (type.kind) {
    case K::signed_int:
      switch (type.size) {
        case 1:
          return MPI_INT8_T;
        case 2:
          return MPI_INT16_T;
        case 4:
          return MPI_INT32_T;
        case 8:
          return MPI_INT64_T;
      }
      break;
    case K::unsigned_int:
      switch (type.size) {
        case 1:
          return MPI_UINT8_T;
        case 2:
          return MPI_UINT16_T;
        case 4:
          return MPI_UINT32_T;
        case 8:
          return MPI_UINT64_T;
      }
      break;
    case K::floating:
      if (type.size == sizeof(float)) return MPI_FLOAT;
      if (type.size == sizeof(double)) return MPI_DOUBLE;
      if (type.size == sizeof(long double)) return MPI_LONG_DOUBLE;
      break;
    case K::character:
      return MPI_CHAR;
    case K::boolean:
      return MPI_CXX_BOOL;
    case K::bytes:
    case K::serialized:
      break;
  }
  return MPI_BYTE;
}

// op_of's table: [ReduceKind][family of the element type: 0 none (bytes, char, archives),
// 1 integer, 2 floating point, 3 bool]. (A table, not a switch: op_of runs on every native
// reduction and scan, and its cascade of tests was a visible part of a small MPI_Scan's cost.)
extern const MPI_Op op_table[10][4];
inline constexpr unsigned char op_family[] = {0, 1, 1, 2, 0, 3, 0};  // by DataType::Kind

// The MPI_Op for `op` on elements of `type`, or MPI_OP_NULL where MPI does not define it (the
// caller then runs hilo's generic algorithm).
inline MPI_Op op_of(ReduceKind op, DataType type) {
  return op_table[static_cast<unsigned>(op)][op_family[static_cast<unsigned>(type.kind)]];
}

// Names a collective for error messages: hilo's operation ("all_to_all_v") and the MPI call that
// carries it ("MPI_Ialltoallv"). Like CallSite, the text is built only when an error is raised.
// `counts_per_rank` marks the v-forms, whose counts the ranks can get wrong between them.
struct CollectiveSite {
  const char* op;
  const char* call;
  int rank;
  bool counts_per_rank = false;
};
// Throws unless rc is MPI_SUCCESS. A truncation (MPI_ERR_TRUNCATE: some rank sent this rank more
// than it expects) is said in those words: MPI does not say which rank sent it. Open MPI's
// blocking v-forms report the same mistake as MPI_ERR_OTHER, so their other errors name it as
// the likely cause.
void check(int rc, const CollectiveSite& site);
// The hilo::Timeout of a collective that not every rank joined within `waited`.
[[noreturn]] void throw_collective_timeout(const CollectiveSite& site,
                                           std::chrono::steady_clock::duration waited);

// 1 for bytes and archives, the type's size otherwise.
inline std::size_t element_bytes(DataType type) {
  return datatype_of(type) == MPI_BYTE ? 1 : type.size;
}

inline std::size_t elements_in(DataType type, std::size_t bytes) {
  const std::size_t size = element_bytes(type);  // never 0
  // The power-of-two test by hand: std::has_single_bit is a call to libgcc's __popcountdi2 on
  // x86-64 built without -mpopcnt (as Debian builds), on every send and receive.
  const bool power_of_two = (size & (size - 1)) == 0;
  return power_of_two ? bytes >> std::countr_zero(size) : bytes / size;
}

// A (datatype, count) pair that can describe more than INT_MAX elements: MPI-3 counts are int,
// so large messages are described as blocks of a contiguous type plus a remainder. Frees the
// derived datatype it made.
class Count {
 public:
  Count(MPI_Datatype element, std::size_t count) : type_(element), count_(static_cast<int>(count)) {
    if (count > static_cast<std::size_t>(INT_MAX)) [[unlikely]]
      describe_in_blocks(element, count);
  }
  // The elements of `type` in `bytes`. Their sizes are powers of two, so this is a shift: a 64-bit
  // division costs tens of cycles, on every send and receive.
  Count(DataType type, std::size_t bytes) : Count(datatype_of(type), elements_in(type, bytes)) {}
  Count(const Count&) = delete;
  Count& operator=(const Count&) = delete;
  ~Count() {
    if (derived_) MPI_Type_free(&type_);
  }
  MPI_Datatype type() const { return type_; }
  int count() const { return count_; }

 private:
  void describe_in_blocks(MPI_Datatype element, std::size_t count);

  MPI_Datatype type_;
  int count_;
  bool derived_ = false;
};

// Bytes in a received message (64-bit, unlike MPI_Get_count), asking MPI.
std::size_t bytes_counted(const MPI_Status& status);

// Bytes in a received message. Open MPI keeps them in the status, and its MPI_Get_count is that
// field divided by the type's size after parameter checks: a few percent of an 8-byte receive's
// work, and so of hilo-mpi's latency against raw MPI. The field
// is Open MPI's own (its mpi.h calls it internal), so it is read only in the major versions known
// to keep the byte count there (2 to 5); the conformance cases "a message that does not fit the
// receive" and "a message over 2 GiB" fail if that ever changes.
inline std::size_t bytes_of(const MPI_Status& status) {
#if defined(OPEN_MPI) && OMPI_MAJOR_VERSION >= 2 && OMPI_MAJOR_VERSION <= 5
  return status._ucount;
#else
  return bytes_counted(status);
#endif
}

// Whether MPI_Finalize has run. A request or communicator that outlived the hilo::Runtime must
// not call MPI any more: Open MPI aborts the whole job for that.
inline bool finalized() {
  int done = 0;
  MPI_Finalized(&done);
  return done != 0;
}

// Completes `request` by the deadline. A finite deadline polls (yielding, then sleeping briefly)
// instead of blocking in MPI_Wait; returns false if the deadline passed first.
// `what` names the call for errors: a CallSite, the name of a collective, or a type of the
// caller's with its own check(int rc, const What&) (found by argument-dependent lookup).
template <class What>
bool wait_until(MPI_Request& request, MPI_Status& status, Deadline deadline, const What& what) {
  if (deadline.is_never()) {
    check(MPI_Wait(&request, &status), what);
    return true;
  }
  auto pause = std::chrono::microseconds(0);
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, &status), what);
    if (done) return true;
    if (deadline.expired()) return false;
    // MPI progresses only inside MPI calls: poll often at first, then back off to spare the core.
    if (pause.count() == 0)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(pause);
    pause = std::min(pause + std::chrono::microseconds(5), std::chrono::microseconds(200));
  }
}

}  // namespace hilo::mpi
