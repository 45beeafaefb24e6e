#include "hilo/comm/detail/pending_operations.hpp"

#include "common/seconds_text.hpp"
#include "hilo/comm/types.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

// This thread's hold on its slot: a reference to the slot's table, so the slot stays live memory
// for as long as this_thread_ names it, and the slot freed when the thread ends (or moves to
// another registry's table). Made at the thread's first binding; destroyed at its exit.
struct PendingOperations::ThreadBinding {
  std::shared_ptr<SlotTable> table;
  Slot* slot = nullptr;

  ThreadBinding() = default;
  ThreadBinding(const ThreadBinding&) = delete;
  ThreadBinding& operator=(const ThreadBinding&) = delete;
  ~ThreadBinding() {
    release();
    // A blocking call made later in this thread's exit (another thread_local's destructor)
    // claims a slot for itself alone rather than making a binding that would never be freed.
    this_thread_.ended = true;
  }

  void bind(std::shared_ptr<SlotTable> to, Slot* claimed) noexcept {
    release();
    table = std::move(to);
    slot = claimed;
    this_thread_.table = table.get();
    this_thread_.slot = slot;
  }

  void release() noexcept {
    if (slot != nullptr) {
      slot->operation.store(nullptr, std::memory_order_relaxed);
      slot->claimed.store(false, std::memory_order_release);
    }
    slot = nullptr;
    table.reset();
    this_thread_.table = nullptr;
    this_thread_.slot = nullptr;
  }
};

PendingOperations::PendingOperations() : table_(std::make_shared<SlotTable>()) {}

// The threads holding slots of table_ keep it; they free their slots when they end.
PendingOperations::~PendingOperations() = default;

PendingOperations::Slot* PendingOperations::claim_free_slot() noexcept {
  for (Slot& slot : table_->slots) {
    // The load first: a taken slot is skipped without writing its cache line.
    if (slot.claimed.load(std::memory_order_relaxed) ||
        slot.claimed.exchange(true, std::memory_order_acquire))
      continue;
    return &slot;
  }
  return nullptr;
}

PendingOperations::Slot* PendingOperations::Entry::begin_elsewhere(
    PendingOperations& registry) noexcept {
  const ThreadSlot& mine = this_thread_;
  // The thread's slot (of another registry) is live while mine.table names its table.
  const bool inside_recorded_call =
      mine.slot != nullptr && mine.slot->operation.load(std::memory_order_relaxed) != nullptr;
  if (inside_recorded_call || mine.ended) {
    // Inside a recorded call on another registry (whose slot stays the thread's), or in the
    // thread's exit: a slot for this call alone, as many as are free.
    Slot* slot = registry.claim_free_slot();
    temporary_ = slot != nullptr;
    return slot;
  }
  Slot* slot = registry.claim_free_slot();
  if (slot == nullptr) return nullptr;  // every slot is held: this call is not recorded
  thread_local ThreadBinding binding;
  binding.bind(registry.table_, slot);
  return slot;
}

const char* PendingOperations::intern(std::string name) {
  std::lock_guard lock(names_mutex_);
  return names_.emplace_back(std::move(name)).c_str();
}

std::vector<PendingOperation> PendingOperations::snapshot() const {
  const std::int64_t now = pending_clock_now();
  std::vector<PendingOperation> pending;
  for (const Slot& slot : table_->slots) {
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
      const std::source_location where = slot.where.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);  // the copy before the second look
      if (slot.sequence.load(std::memory_order_relaxed) != before) continue;
      if (operation == nullptr) break;  // free, or its call has returned
      row.operation = operation;
      row.communicator = communicator != nullptr ? communicator : "";
      row.file = where.file_name();
      row.line = where.line();
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
