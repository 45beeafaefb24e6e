/// \file
/// What each thread of one rank is blocked in, for the report of a hang (a hilo::Timeout's
/// message, hilorun's wait-for report). Internal.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include <time.h>  // clock_gettime, CLOCK_MONOTONIC_COARSE

namespace hilo::detail {

/// What the peer of a pending operation is to it.
enum class PeerRole : std::uint8_t {
  source,  // a receive or probe waits for a message from `peer` (any_source: from anyone)
  dest,    // a send waits for `peer` to take its message
  root,    // a rooted collective; `peer` is its root
  none,    // a collective of all ranks (barrier, all_reduce, ...): no one peer
};

/// What a blocking call is, as Communicator records it while the call is in progress.
struct BlockingCall {
  const char* operation;  // a string literal
  int peer = -1;
  PeerRole role = PeerRole::none;
  int tag = -1;
};

class PendingOperations;

/// Where a Request came from, for its wait to be recorded and reported like a blocking call.
/// Not a reference that keeps the registry: a shared one would cost every isend and irecv two
/// atomic read-modify-writes. The registry lives as long as the communicators of its world
/// (world and those split or dup'ed from it, which share it), and a Request's wait touches it
/// only while the request is unfinished, which hilo::Request's contract limits to their lifetime.
struct RequestOrigin {
  PendingOperations* pending = nullptr;  // nullptr: the wait is not recorded
  const char* communicator = nullptr;    // interned in *pending
  int rank = -1;
  BlockingCall call{"wait"};
};

/// One row of PendingOperations::snapshot().
struct PendingOperation {
  std::string_view operation;  // "recv", "barrier", ... (a string literal)
  int peer = -1;
  PeerRole role = PeerRole::none;
  int tag = -1;                   // -1 for a collective (or any_tag)
  std::string_view communicator;  // "world", "world.split(3)#0", ...
  std::chrono::nanoseconds waiting{0};
  std::string_view file;  // the caller's source file, as the compiler named it
  std::uint_least32_t line = 0;
};

/// The blocking calls in progress on one rank: a fixed array of slots, one per thread.
/// Owned (shared) by the rank's communicators, world and the ones split or dup'ed from it.
///
/// Cost on the fast path: a thread claims a slot once, at its first blocking call (the first free
/// slot, with one atomic exchange), and keeps it until it ends; this_thread_ remembers which.
/// A blocking call then writes its fields with relaxed stores between two stores of the slot's
/// sequence number (a seqlock: odd while the fields change), and clears it with one store. No
/// allocation, no lock, no read-modify-write. A call made inside another of the same thread
/// (sendrecv's, a collective's inner calls) is not recorded: the outer one says what the thread
/// is blocked in (the thread's own slot still names an operation: only its thread writes it, so
/// that one load tells, and no nesting depth is counted). A reader (snapshot) copies a slot's
/// fields and keeps them only if the sequence number was even and unchanged around the copy. When
/// more than slot_count threads of a rank have made blocking calls, the extra ones are not recorded
/// (their calls work as ever; the report just omits them) until a thread holding a slot ends.
///
/// Threads: an Entry is made and destroyed by one thread (it is RAII on the caller's stack).
class PendingOperations {
 private:
  // One thread's pending call. `claimed` says which thread owns the slot (only the owner writes
  // the other fields); `sequence` is odd while the owner writes them. Every field is atomic so a
  // concurrent reader is no data race; the sequence number tells it whether its copy is whole.
  struct alignas(64) Slot {
    std::atomic<bool> claimed{false};
    std::atomic<std::uint64_t> sequence{0};
    std::atomic<const char*> operation{nullptr};  // nullptr: nothing pending
    std::atomic<int> peer{-1};
    std::atomic<std::uint8_t> role{0};
    std::atomic<int> tag{-1};
    std::atomic<const char*> communicator{nullptr};
    std::atomic<std::int64_t> since{0};  // pending_clock_now()
    // The caller's call site: one pointer to the compiler's static record of file and line
    // (copied, not its fields: the record lives as long as the program).
    std::atomic<std::source_location> where{};
  };
  static_assert(std::atomic<std::source_location>::is_always_lock_free,
                "a slot's call site is read by other threads without a lock");

 public:
  static constexpr std::size_t slot_count = 64;

 private:
  // The slots, in a block of their own shared by the registry and every thread that holds one
  // of them (ThreadBinding): a thread that outlives the registry still frees its slot in live
  // memory, and while a thread remembers this table no other can be made at its address.
  struct SlotTable {
    std::array<Slot, slot_count> slots;
  };

  // What this thread remembers of the slot it holds: plain data, so reading it is one access to
  // thread-local storage (no guard, no wrapper call). Per thread, so it is no shared state:
  // `table` is the identity of the table the slot is in, and stays valid because this thread's
  // ThreadBinding holds a reference to that table for as long as `table` names it.
  struct ThreadSlot {
    const SlotTable* table = nullptr;  // nullptr: this thread holds no slot
    Slot* slot = nullptr;
    bool ended = false;  // the thread's ThreadBinding is gone (thread exit): bind no more
  };
  struct ThreadBinding;                         // owns this thread's slot; pending_operations.cpp
  static thread_local ThreadSlot this_thread_;  // defined below the class

 public:
  PendingOperations();
  ~PendingOperations();
  PendingOperations(const PendingOperations&) = delete;
  PendingOperations& operator=(const PendingOperations&) = delete;

  /// A name that lives as long as this registry (the communicators' names: a report may read a
  /// slot of a communicator being destroyed). Names are kept until the registry goes, one per
  /// communicator made: not on the fast path.
  const char* intern(std::string name);

  /// The operations pending now, in slot order.
  std::vector<PendingOperation> snapshot() const;

  /// Records one blocking call for its lifetime (RAII) in `registry` (nullptr: nowhere), unless
  /// the calling thread is already in a recorded call of `registry` (then the outer call stays
  /// listed). `operation`, `communicator` and the location's file name must outlive it (string
  /// literals, intern()ed names). Destroyed on the thread that made it.
  class Entry {
   public:
    Entry(PendingOperations* registry, const char* operation, int peer, PeerRole role, int tag,
          const char* communicator, const std::source_location& where) noexcept;
    ~Entry();
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

   private:
    // Not this thread's slot of `registry` (its first call, or another registry's slot): binds
    // the thread to a free slot, or claims one for this call alone (temporary_); nullptr if
    // every slot is taken.
    Slot* begin_elsewhere(PendingOperations& registry) noexcept;

    Slot* slot_ = nullptr;    // written by this entry; nullptr: not recorded (nested, or no slot)
    bool temporary_ = false;  // slot_ was claimed for this call alone: freed at the end
  };

 private:
  // The first free slot, claimed; nullptr if every slot is taken.
  Slot* claim_free_slot() noexcept;

  std::shared_ptr<SlotTable> table_;  // never null
  std::mutex names_mutex_;
  std::deque<std::string> names_;  // guarded by names_mutex_; a deque never moves its elements
};

// Constant-initialised and trivially destructible: a plain thread-local access (no guard).
inline constinit thread_local PendingOperations::ThreadSlot PendingOperations::this_thread_{};

/// The clock of the registry's start times, in nanoseconds: CLOCK_MONOTONIC_COARSE where there is
/// one. It is read on every blocking call, and the coarse clock costs a fraction of
/// steady_clock's read; its resolution (a scheduler tick) is plenty for saying how long a call
/// has been stuck.
inline std::int64_t pending_clock_now() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
#else
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
#endif
}

inline PendingOperations::Entry::Entry(PendingOperations* registry, const char* operation, int peer,
                                       PeerRole role, int tag, const char* communicator,
                                       const std::source_location& where) noexcept {
  if (registry == nullptr) return;
  const ThreadSlot& mine = this_thread_;
  Slot* claimed;
  if (mine.table == registry->table_.get()) [[likely]] {
    claimed = mine.slot;
    // Only this thread writes its slot: an operation there is a call this one is inside.
    if (claimed->operation.load(std::memory_order_relaxed) != nullptr) return;
  } else {
    claimed = begin_elsewhere(*registry);
    if (claimed == nullptr) return;
  }
  slot_ = claimed;
  // Through a local: the atomic stores could alias slot_, which the compiler would reload each.
  Slot& slot = *claimed;
  // Only this thread writes the slot while it is claimed: the plain load of sequence is exact.
  const std::uint64_t sequence = slot.sequence.load(std::memory_order_relaxed);
  slot.sequence.store(sequence + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);  // the odd number before the fields
  slot.operation.store(operation, std::memory_order_relaxed);
  slot.peer.store(peer, std::memory_order_relaxed);
  slot.role.store(static_cast<std::uint8_t>(role), std::memory_order_relaxed);
  slot.tag.store(tag, std::memory_order_relaxed);
  slot.communicator.store(communicator, std::memory_order_relaxed);
  slot.since.store(pending_clock_now(), std::memory_order_relaxed);
  slot.where.store(where, std::memory_order_relaxed);
  slot.sequence.store(sequence + 2, std::memory_order_release);  // published
}

inline PendingOperations::Entry::~Entry() {
  if (slot_ == nullptr) return;
  // A reader that copied the fields before this saw a call that was pending then; the next
  // call's odd sequence number tells a reader still copying that its copy is stale.
  slot_->operation.store(nullptr, std::memory_order_relaxed);
  if (temporary_) slot_->claimed.store(false, std::memory_order_release);
}

/// The pending operations, one per line ("  recv from rank 1, tag 7, on world, for 2.000 s, at
/// main.cpp:12"), after a heading naming `rank`; "" when there are none.
std::string describe_pending(const std::vector<PendingOperation>& pending, int rank);

/// Rethrows `timeout` (being handled) with `pending`'s operations on `rank` after its message,
/// unless there are none or the message lists them already (a call made inside another).
[[noreturn]] void rethrow_with_pending(const std::exception& timeout,
                                       const PendingOperations* pending, int rank);

/// One pending operation as a line of describe_pending (without the indent).
std::string describe_one_pending(const PendingOperation& op);

/// `file`'s last path component ("main.cpp" for "/src/app/main.cpp").
std::string_view base_name(std::string_view file);

}  // namespace hilo::detail
