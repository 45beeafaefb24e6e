#include "backends/mpi/mpi_call.hpp"

#include <climits>
#include <string_view>
#include <thread>

#include "common/seconds_text.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::mpi {

using detail::throw_error;

namespace {
// MPI's words for an error code.
std::string error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  return length > 0 ? std::string(text, length) : "MPI error " + std::to_string(rc);
}
}  // namespace

void check(int rc, const std::string& what) {
  if (rc == MPI_SUCCESS) return;
  throw_error<Error>("hilo: ", what, " failed: ", error_text(rc));
}

void fail(int rc, const char* what) {
  check(rc, std::string(what));
  throw_error<Error>("hilo: internal error: mpi::fail without an MPI error in ", what);
}

// Numbers take the arithmetic operations, integers and bool the logical ones, integers the
// bitwise ones (MPI-4.0, 6.9.2); ReduceKind::other has none. Constant-initialised: Open MPI's
// handles are addresses of its predefined objects.
const MPI_Op op_table[10][4] = {
    {MPI_OP_NULL, MPI_SUM, MPI_SUM, MPI_OP_NULL},          // sum
    {MPI_OP_NULL, MPI_PROD, MPI_PROD, MPI_OP_NULL},        // product
    {MPI_OP_NULL, MPI_MIN, MPI_MIN, MPI_OP_NULL},          // min
    {MPI_OP_NULL, MPI_MAX, MPI_MAX, MPI_OP_NULL},          // max
    {MPI_OP_NULL, MPI_LAND, MPI_OP_NULL, MPI_LAND},        // logical_and
    {MPI_OP_NULL, MPI_LOR, MPI_OP_NULL, MPI_LOR},          // logical_or
    {MPI_OP_NULL, MPI_BAND, MPI_OP_NULL, MPI_OP_NULL},     // bit_and
    {MPI_OP_NULL, MPI_BOR, MPI_OP_NULL, MPI_OP_NULL},      // bit_or
    {MPI_OP_NULL, MPI_BXOR, MPI_OP_NULL, MPI_OP_NULL},     // bit_xor
    {MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL},  // other
};
static_assert(static_cast<int>(ReduceKind::other) == 9 &&
                  static_cast<int>(ReduceKind::bit_xor) == 8 &&
                  static_cast<int>(ReduceKind::logical_and) == 4,
              "op_table's rows follow ReduceKind's order");
static_assert(static_cast<int>(DataType::Kind::serialized) == 6 &&
                  static_cast<int>(DataType::Kind::boolean) == 5 &&
                  static_cast<int>(DataType::Kind::floating) == 3 &&
                  static_cast<int>(DataType::Kind::signed_int) == 1,
              "op_family follows DataType::Kind's order");

void check(int rc, const CollectiveSite& site) {
  if (rc == MPI_SUCCESS) return;
  const std::string where = detail::make_message(detail::OnRank{site.op, site.rank});
  constexpr const char* rule =
      "every rank must receive from each rank exactly what that rank sends to it";
  int error_class = MPI_SUCCESS;
  MPI_Error_class(rc, &error_class);
  if (error_class == MPI_ERR_TRUNCATE)
    detail::throw_error<Error>(where, "a rank sent more elements than this rank expects from it (",
                               site.call, " reported a truncation without naming the rank); ",
                               rule);
  std::string message = where + site.call + " failed: " + error_text(rc);
  if (site.counts_per_rank)
    message +=
        " (the usual cause is counts that disagree between ranks: " + std::string(rule) + ")";
  detail::throw_error<Error>(message);
}

void throw_collective_timeout(const CollectiveSite& site,
                              std::chrono::steady_clock::duration waited) {
  throw_error<Timeout>(detail::OnRank{site.op, site.rank}, "not every rank took part within ",
                       common::seconds_text(waited), "; MPI cannot cancel a collective (",
                       site.call, "), so do not use this communicator again");
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

}  // namespace hilo::mpi
