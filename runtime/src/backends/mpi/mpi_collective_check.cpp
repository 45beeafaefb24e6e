// HILO_CHECK=collectives on the mpi backend: before each blocking collective, every rank gives
// what identifies its call in one MPI_Allgather of a fixed-size descriptor on the same
// communicator, and compares. MPI's wire is not hilo's to stamp, so this is the one extra
// collective per call the check costs; without HILO_CHECK nothing here runs.
//
// The descriptor is compared as a whole on every rank, so every rank raises the same
// hilo::CollectiveMismatch, and none goes on into an MPI collective the others are not in. (If the
// ranks are in different collectives, their descriptors' MPI_Allgather is what matches first: it
// is the same call, of the same size, on every rank.)
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

#include "backends/mpi/mpi_call.hpp"
#include "backends/mpi/mpi_transport.hpp"
#include "hilo/comm/detail/collective_call.hpp"
#include "hilo/errors.hpp"

namespace hilo::mpi {

namespace {

// One rank's CollectiveCall on the wire: numbers, and the strings cut to a fixed length (a cut
// file name still names the file; the operation names all fit).
struct Descriptor {
  std::uint64_t sequence;
  std::uint64_t count;
  std::int32_t root;
  std::uint32_t line;
  std::uint32_t type_size;
  std::uint8_t type_kind;
  std::uint8_t fixed;
  char operation[26];
  char file[64];
};
static_assert(std::is_trivially_copyable_v<Descriptor>);

// Copies `text` into `to`, cut to leave the terminating zero.
template <std::size_t N>
void copy_text(char (&to)[N], std::string_view text) {
  const std::size_t n = std::min(text.size(), N - 1);
  std::memcpy(to, text.data(), n);
  to[n] = '\0';
}

Descriptor descriptor_of(const CollectiveCall& call) {
  const CollectiveCallView view = detail::view_of(call);
  Descriptor d{};
  d.sequence = view.sequence;
  d.count = view.shape.fixed ? view.shape.count : 0;
  d.root = view.root;
  d.line = view.line;
  d.type_size = view.shape.fixed ? view.shape.type.size : 0;
  d.type_kind = view.shape.fixed ? static_cast<std::uint8_t>(view.shape.type.kind) : 0;
  d.fixed = view.shape.fixed ? 1 : 0;
  copy_text(d.operation, view.operation);
  copy_text(d.file, view.file);
  return d;
}

// A view of a descriptor (valid while it lives).
CollectiveCallView view_of(const Descriptor& d) {
  CollectiveCallView view;
  view.sequence = d.sequence;
  view.operation = std::string_view(d.operation, strnlen(d.operation, sizeof d.operation));
  view.root = d.root;
  view.shape.fixed = d.fixed != 0;
  view.shape.count = d.count;
  view.shape.type = DataType{static_cast<DataType::Kind>(d.type_kind), d.type_size};
  view.file = std::string_view(d.file, strnlen(d.file, sizeof d.file));
  view.line = d.line;
  return view;
}

}  // namespace

void MpiTransport::check_same_collective(const CollectiveCall& call, Deadline deadline) {
  // On the heap: after a timeout MPI may still write into them (as split's agreement).
  struct Exchange {
    Descriptor mine;
    std::vector<Descriptor> all;
  };
  auto exchange = std::make_shared<Exchange>(
      Exchange{descriptor_of(call), std::vector<Descriptor>(static_cast<std::size_t>(size_))});
  constexpr int bytes = sizeof(Descriptor);
  if (deadline.is_never()) {
    mpi::check(MPI_Allgather(&exchange->mine, bytes, MPI_BYTE, exchange->all.data(), bytes,
                             MPI_BYTE, comm_),
               "MPI_Allgather of the collective calls (HILO_CHECK=collectives)");
  } else {
    MPI_Request request;
    mpi::check(MPI_Iallgather(&exchange->mine, bytes, MPI_BYTE, exchange->all.data(), bytes,
                              MPI_BYTE, comm_, &request),
               "MPI_Iallgather of the collective calls (HILO_CHECK=collectives)");
    finish_collective(request, deadline,
                      "MPI_Iallgather of the collective calls (HILO_CHECK=collectives)", exchange);
  }
  const CollectiveCallView first = view_of(exchange->all[0]);
  for (int q = 1; q < size_; ++q) {
    const CollectiveCallView other = view_of(exchange->all[static_cast<std::size_t>(q)]);
    if (!detail::same_collective(first, other))
      throw CollectiveMismatch(
          detail::collective_mismatch_message(call.communicator, 0, first, q, other));
  }
}

}  // namespace hilo::mpi
