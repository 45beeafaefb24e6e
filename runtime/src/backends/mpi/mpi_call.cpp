#include "backends/mpi/mpi_call.hpp"

#include <climits>
#include <string_view>
#include <thread>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail::mpi {

void check(int rc, const std::string& what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  if (length > 0) throw_error<Error>("hilo: ", what, " failed: ", std::string_view(text, length));
  throw_error<Error>("hilo: ", what, " failed: MPI error ", rc);
}

void fail(int rc, const char* what) {
  check(rc, std::string(what));
  throw_error<Error>("hilo: internal error: mpi::fail without an MPI error in ", what);
}

void Count::describe_in_blocks(MPI_Datatype element, std::size_t count) {
  // count = blocks * 2^20 + rest, as one struct type of (blocks x chunk) then (rest x element).
  constexpr std::size_t chunk_elements = std::size_t{1} << 20;
  const std::size_t blocks = count / chunk_elements, rest = count % chunk_elements;
  MPI_Datatype chunk;
  check(MPI_Type_contiguous(static_cast<int>(chunk_elements), element, &chunk),
        "MPI_Type_contiguous");
  MPI_Aint lower, extent;
  check(MPI_Type_get_extent(element, &lower, &extent), "MPI_Type_get_extent");
  int lengths[2] = {static_cast<int>(blocks), static_cast<int>(rest)};
  MPI_Aint displacements[2] = {0, static_cast<MPI_Aint>(blocks * chunk_elements) * extent};
  MPI_Datatype types[2] = {chunk, element};
  check(MPI_Type_create_struct(2, lengths, displacements, types, &type_), "MPI_Type_create_struct");
  check(MPI_Type_commit(&type_), "MPI_Type_commit");
  MPI_Type_free(&chunk);
  count_ = 1;
  derived_ = true;
}

std::size_t bytes_counted(const MPI_Status& status) {
  // MPI_Get_count is the cheaper call (Open MPI: a division, against a datatype traversal in
  // MPI_Get_elements_x) but its count is an int; past INT_MAX bytes it says MPI_UNDEFINED.
  int count = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  if (count != MPI_UNDEFINED) return static_cast<std::size_t>(count);
  MPI_Count bytes = 0;
  check(MPI_Get_elements_x(&status, MPI_BYTE, &bytes), "MPI_Get_elements_x");
  return static_cast<std::size_t>(bytes);
}

std::string CallSite::text() const {
  const bool outgoing = std::string_view(op).ends_with("send");
  // "recv on rank 1: from rank 0 with tag 7": after "hilo: ", the prefix every message has.
  std::string s =
      std::string(op) + " on rank " + std::to_string(rank) + (outgoing ? ": to " : ": from ");
  s += peer == MPI_ANY_SOURCE ? "any source" : "rank " + std::to_string(peer);
  s += tag == MPI_ANY_TAG ? " with any tag" : " with tag " + std::to_string(tag);
  return s;
}

}  // namespace hilo::detail::mpi
