#include "hilo/comm/detail/collective_call.hpp"

#include <array>
#include <string>

#include "hilo/comm/detail/pending_operations.hpp"
#include "hilo/detail/error_message.hpp"

namespace hilo::detail {

CollectiveCallView view_of(const CollectiveCall& call) {
  return {
      call.sequence,    call.operation, call.root, call.shape, base_name(call.where.file_name()),
      call.where.line()};
}

bool same_collective(const CollectiveCallView& a, const CollectiveCallView& b) {
  if (a.sequence != b.sequence || a.operation != b.operation || a.root != b.root) return false;
  if (a.shape.fixed != b.shape.fixed) return false;
  return !a.shape.fixed || (a.shape.type == b.shape.type && a.shape.count == b.shape.count);
}

namespace {

// The low 8 bits of FNV-1a over the name: the code need only tell the operations apart, and
// these differ for every name in known_operations (folding the four bytes together did not:
// scan and scatter_v shared a code).
std::uint8_t operation_code(std::string_view operation) {
  std::uint32_t hash = 2166136261u;
  for (char c : operation) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  return static_cast<std::uint8_t>(hash);
}

// Every blocking collective's operation name, for operation_of_stamp.
constexpr std::array<std::string_view, 17> known_operations{
    "all_gather",     "all_gather_v", "all_reduce", "all_to_all", "all_to_all_v", "barrier",
    "broadcast",      "dup",          "exscan",     "gather",     "gather_v",     "reduce",
    "reduce_scatter", "scan",         "scatter",    "scatter_v",  "split"};

}  // namespace

StampedOperation stamped_operation(std::string_view operation) {
  // Not a scan's count: a scan first agrees on the lengths itself and raises hilo::Error on
  // every rank naming both, leaving the communicator usable (which a stamp mismatch does not).
  return {operation_code(operation), operation != "scan" && operation != "exscan"};
}

std::uint32_t collective_stamp(const CollectiveCall& call) {
  return collective_stamp(call, stamped_operation(call.operation));
}

std::string_view operation_of_stamp(std::uint32_t stamp) {
  const auto code = static_cast<std::uint8_t>(stamp >> 8);
  std::string_view found;
  for (std::string_view operation : known_operations) {
    if (operation_code(operation) != code) continue;
    if (!found.empty()) return "an unknown collective";  // two share the code: say neither
    found = operation;
  }
  return found.empty() ? "an unknown collective" : found;
}

namespace {

// One rank's side: "rank 0 is in broadcast (root 0) at main.cpp:12". The details in parentheses
// are those that tell the two calls apart: the root always (the form), the type and count
// only when the operations are the same, the sequence number only when nothing else differs.
std::string side(int rank, const CollectiveCallView& call, const CollectiveCallView& other) {
  std::string details;
  auto add = [&](const auto&... parts) {
    details += details.empty() ? "" : ", ";
    details += make_message(parts...);
  };
  if (call.root >= 0) add("root ", call.root);
  const bool same_operation = call.operation == other.operation && call.root == other.root;
  if (same_operation && call.shape.fixed &&
      (!other.shape.fixed || call.shape.type != other.shape.type ||
       call.shape.count != other.shape.count))
    add(call.shape.count, call.shape.count == 1 ? " element of " : " elements of ",
        call.shape.type.name());
  else if (same_operation && call.shape.fixed == other.shape.fixed &&
           call.sequence != other.sequence)
    add("collective call ", call.sequence, " on this communicator");
  // An empty file: a peer that never described its call (only its stamp is known).
  return make_message("rank ", rank, " is in ", call.operation,
                      details.empty() ? std::string() : " (" + details + ")",
                      call.file.empty() ? std::string(" at an unknown call site")
                                        : make_message(" at ", call.file, ":", call.line));
}

}  // namespace

std::string collective_mismatch_message(std::string_view communicator, int rank_a,
                                        const CollectiveCallView& a, int rank_b,
                                        const CollectiveCallView& b) {
  return make_message("hilo: collective mismatch on ", communicator, ": ", side(rank_a, a, b), ", ",
                      side(rank_b, b, a));
}

}  // namespace hilo::detail
