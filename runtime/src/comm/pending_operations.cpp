#include "hilo/comm/detail/pending_operations.hpp"

#include "common/seconds_text.hpp"
#include "hilo/comm/types.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

const char* PendingOperations::intern(std::string name) {
  std::lock_guard lock(names_mutex_);
  return names_.emplace_back(std::move(name)).c_str();
}

std::vector<PendingOperation> PendingOperations::snapshot() const {
  const std::int64_t now = pending_clock_now();
  std::vector<PendingOperation> pending;
  for (const Slot& slot : slots_) {
    // A slot whose owner keeps changing it is retried a few times, then left out: its thread is
    // not blocked for long, which is what a report is about.
    for (int attempt = 0; attempt < 4; ++attempt) {
      const std::uint64_t before = slot.sequence.load(std::memory_order_acquire);
      if (before % 2 != 0) continue;
      const char* operation = slot.operation.load(std::memory_order_relaxed);
      PendingOperation row;
      row.peer = slot.peer.load(std::memory_order_relaxed);
      row.role = static_cast<PeerRole>(slot.role.load(std::memory_order_relaxed));
      row.tag = slot.tag.load(std::memory_order_relaxed);
      const char* communicator = slot.communicator.load(std::memory_order_relaxed);
      const std::int64_t since = slot.since.load(std::memory_order_relaxed);
      const char* file = slot.file.load(std::memory_order_relaxed);
      row.line = slot.line.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);  // the copy before the second look
      if (slot.sequence.load(std::memory_order_relaxed) != before) continue;
      if (operation == nullptr) break;  // free, or its call has returned
      row.operation = operation;
      row.communicator = communicator != nullptr ? communicator : "";
      row.file = file != nullptr ? file : "";
      row.waiting = std::chrono::nanoseconds(now - since);
      pending.push_back(row);
      break;
    }
  }
  return pending;
}

std::string_view base_name(std::string_view file) {
  const auto slash = file.find_last_of("/\\");
  return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

namespace {
std::string peer_text(const PendingOperation& op) {
  switch (op.role) {
    case PeerRole::source:
      return op.peer == any_source ? " from any rank" : " from rank " + std::to_string(op.peer);
    case PeerRole::dest:
      return " to rank " + std::to_string(op.peer);
    case PeerRole::root:
      return " (root " + std::to_string(op.peer) + ")";
    case PeerRole::none:
      break;
  }
  return "";
}

std::string tag_text(const PendingOperation& op) {
  if (op.role != PeerRole::source && op.role != PeerRole::dest) return "";
  return op.tag == any_tag ? ", any tag" : ", tag " + std::to_string(op.tag);
}

}  // namespace

std::string describe_one_pending(const PendingOperation& op) {
  std::string line(op.operation);
  line += peer_text(op);
  line += tag_text(op);
  line += ", on ";
  line += op.communicator;
  line += ", for ";
  line += common::seconds_text(op.waiting);
  line += ", at ";
  line += base_name(op.file);
  line += ':';
  line += std::to_string(op.line);
  return line;
}

std::string describe_pending(const std::vector<PendingOperation>& pending, int rank) {
  if (pending.empty()) return "";
  std::string text = "pending on rank " + std::to_string(rank) + ":";
  for (const PendingOperation& op : pending) {
    text += "\n  ";
    text += describe_one_pending(op);
  }
  return text;
}

void rethrow_with_pending(const std::exception& timeout, const PendingOperations* pending,
                          int rank) {
  constexpr std::string_view heading = "\npending on rank ";
  const std::string_view message = timeout.what();
  if (pending == nullptr || message.find(heading) != std::string_view::npos) throw;
  const std::string listed = describe_pending(pending->snapshot(), rank);
  if (listed.empty()) throw;
  throw Timeout(std::string(message) + "\n" + listed);
}

}  // namespace hilo::detail
