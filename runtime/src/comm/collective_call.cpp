#include "hilo/comm/detail/collective_call.hpp"

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
  return make_message("rank ", rank, " is in ", call.operation,
                      details.empty() ? std::string() : " (" + details + ")", " at ", call.file,
                      ":", call.line);
}

}  // namespace

std::string collective_mismatch_message(std::string_view communicator, int rank_a,
                                        const CollectiveCallView& a, int rank_b,
                                        const CollectiveCallView& b) {
  return make_message("hilo: collective mismatch on ", communicator, ": ", side(rank_a, a, b), ", ",
                      side(rank_b, b, a));
}

}  // namespace hilo::detail
