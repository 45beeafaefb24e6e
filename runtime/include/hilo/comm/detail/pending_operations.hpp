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
struct RequestOrigin {
  std::shared_ptr<PendingOperations> pending;  // null: the wait is not recorded
  const char* communicator = nullptr;          // interned in *pending
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

/// The blocking calls in progress on one rank: a fixed array of slots, one per blocked thread.
/// Owned (shared) by the rank's communicators, world and the ones split or dup'ed from it.
///
/// Cost on the fast path: a blocking call claims a slot with one atomic exchange on a cache line
/// only this rank's threads touch (the first free slot: slot 0 when one thread communicates),
/// writes its fields with relaxed stores between two stores of the slot's sequence number (a
/// seqlock: odd while the fields change), and frees it with two stores. No allocation, no lock.
/// A reader (snapshot) copies a slot's fields and keeps them only if the sequence number was even
/// and unchanged around the copy. When more than slot_count threads of a rank block at once, the
/// extra ones are not recorded (their calls work as ever; the report just omits them).
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
    std::atomic<const char*> file{nullptr};
    std::atomic<std::uint_least32_t> line{0};
  };

 public:
  static constexpr std::size_t slot_count = 64;

  /// A name that lives as long as this registry (the communicators' names: a report may read a
  /// slot of a communicator being destroyed). Names are kept until the registry goes, one per
  /// communicator made: not on the fast path.
  const char* intern(std::string name);

  /// The operations pending now, in slot order.
  std::vector<PendingOperation> snapshot() const;

  /// Records one blocking call for its lifetime (RAII) in `registry` (nullptr: nowhere).
  /// `operation`, `communicator` and the location's file name must outlive it (string literals,
  /// intern()ed names).
  class Entry {
   public:
    Entry(PendingOperations* registry, const char* operation, int peer, PeerRole role, int tag,
          const char* communicator, const std::source_location& where) noexcept;
    ~Entry();
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

   private:
    Slot* slot_ = nullptr;  // nullptr: every slot was taken, this call is not recorded
  };

 private:
  std::array<Slot, slot_count> slots_;
  std::mutex names_mutex_;
  std::deque<std::string> names_;  // guarded by names_mutex_; a deque never moves its elements
};

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
  for (Slot& slot : registry->slots_) {
    // The load first: a taken slot is skipped without writing its cache line.
    if (slot.claimed.load(std::memory_order_relaxed) ||
        slot.claimed.exchange(true, std::memory_order_acquire))
      continue;
    slot_ = &slot;
    break;
  }
  if (slot_ == nullptr) return;
  // Only this thread writes the slot while it is claimed: the plain load of sequence is exact.
  const std::uint64_t sequence = slot_->sequence.load(std::memory_order_relaxed);
  slot_->sequence.store(sequence + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);  // the odd number before the fields
  slot_->operation.store(operation, std::memory_order_relaxed);
  slot_->peer.store(peer, std::memory_order_relaxed);
  slot_->role.store(static_cast<std::uint8_t>(role), std::memory_order_relaxed);
  slot_->tag.store(tag, std::memory_order_relaxed);
  slot_->communicator.store(communicator, std::memory_order_relaxed);
  slot_->since.store(pending_clock_now(), std::memory_order_relaxed);
  slot_->file.store(where.file_name(), std::memory_order_relaxed);
  slot_->line.store(where.line(), std::memory_order_relaxed);
  slot_->sequence.store(sequence + 2, std::memory_order_release);  // published
}

inline PendingOperations::Entry::~Entry() {
  if (slot_ == nullptr) return;
  // A reader that copied the fields before this saw a call that was pending then; the next
  // owner's odd sequence number tells a reader still copying that its copy is stale.
  slot_->operation.store(nullptr, std::memory_order_relaxed);
  slot_->claimed.store(false, std::memory_order_release);
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
