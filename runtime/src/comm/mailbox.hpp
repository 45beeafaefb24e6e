// The matching engine shared by the local and tcp backends: MPI's two queues for one rank and
// one communicator. A receive first looks through messages that already arrived ("unexpected"
// queue, in arrival order); if none matches it is posted and waits. An arriving message first
// looks through posted receives (in posting order); if none matches it is queued. Both sides
// keep order, which is what gives MPI's non-overtaking rule per pair.
//
// Small messages between threads (the local backend) are pushed instead: put on a list of their
// own without the lock, and matched by the receiving side when it next looks, oldest first, as
// if each had just arrived (push() says why).
//
// A message that matches a receive by source and tag but not by type or size is never consumed:
// the receive fails with hilo::Error and the message stays queued for a receive that fits.
//
// On a collective channel every message carries its call's stamp (collective_stamp) and every
// receive the stamp of the call it is in. Messages from one rank arrive in the order it sent
// them, and a collective consumes every message it is sent, so the next message from rank p
// that a receive from p sees (whatever its tag) is of p's current call or a later one: if its
// stamp differs from the receive's (and is not of a later call, see out_of_step), p is in a
// different call, and the receive fails with
// detail::CollectiveOutOfStep (at post time if the message is already queued, else when it
// arrives); the message stays queued. A receive from any_source is not checked (no algorithm
// posts one on a collective channel). A notice (collective_notice_tag) that no receive waits for
// poisons the mailbox: every receive of another tag, posted or later, fails with
// CollectiveOutOfStep naming the notice's sender, and notice_from() says who sent it. Messages of
// a call this rank abandoned (abandon()) are dropped, queued or arriving: they are leftovers.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hilo/comm/detail/byte_buffer.hpp"
#include "hilo/comm/detail/collective_call.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/sync/detail/futex.hpp"

namespace hilo::detail {

struct Envelope {
  int source = 0;
  int tag = 0;
  std::size_t bytes = 0;
  DataType type;
  // Where the message stands in a FaultPlan's seeded order among sources (see
  // Mailbox::reorder_any_source); 0 otherwise.
  std::uint64_t order_key = 0;
  // On a collective channel: the stamp of the call it belongs to (collective_stamp); 0 elsewhere.
  std::uint32_t stamp = 0;
};

// A receive waiting in a mailbox. Shared between the receiver and whoever delivers into it.
//
// Its state is a futex word, so that the receiver can spin on it without any lock (a message
// between thread ranks lands a cache-line transfer after it is sent) and sleep on it only after
// that, and the deliverer makes the system call to wake it only when it really sleeps.
class PendingReceive {
 public:
  // `stamp`: on a collective channel, the stamp of the call it is in (0: not checked).
  PendingReceive(int source, int tag, Sink sink, std::uint32_t stamp = 0)
      : source_(source), tag_(tag), stamp_(stamp), sink_(std::move(sink)) {}
  bool done() const { return state_of(state_.load(std::memory_order_acquire)) >= kDone; }

 private:
  friend class Mailbox;
  // kPosted -> kMatched (a delivery is writing into it) -> kDone or kFailed; or straight from
  // kPosted to kDone/kFailed. The first step happens under the mailbox's lock; completing a
  // matched receive needs no lock, since nothing else may touch it any more.
  enum State : std::uint32_t { kPosted = 0, kMatched = 1, kDone = 2, kFailed = 3 };
  // Or-ed into the state by a receiver about to sleep on it: the completer must wake it.
  static constexpr std::uint32_t kSleeping = 4;
  static std::uint32_t state_of(std::uint32_t word) { return word & ~kSleeping; }
  std::uint32_t state() const { return state_of(state_.load(std::memory_order_acquire)); }

  int source_;
  int tag_;
  std::uint32_t stamp_;
  Sink sink_;
  FutexWord state_{kPosted};
  Status status_;
  std::exception_ptr error_;
};

class Mailbox {
 public:
  // `owner_rank` is this mailbox's rank, used only in messages ("recv on rank 1: from ...").
  explicit Mailbox(int owner_rank) : owner_(owner_rank) {}
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // ---- receiver side
  std::shared_ptr<PendingReceive> post(int source, int tag, Sink sink, std::uint32_t stamp = 0);
  // Posts a receive its caller owns, without an allocation (the local backend keeps it in its
  // operation, or on the stack for a blocking recv). The caller must keep `receive` alive until
  // it is settled (done(), or wait() returned or threw) or withdrawn (cancel() returned): the
  // mailbox holds it by a pointer that owns nothing, and whoever settles it touches it no more
  // after the state change that done() observes (but for a private futex wake-up on its address
  // if its receiver slept: the kernel reads nothing there, and a receive that reuses the memory
  // takes it as a spurious wake-up).
  void post(PendingReceive& receive);
  Status wait(PendingReceive& receive, Deadline deadline);
  bool test(PendingReceive& receive);    // throws what the receive failed with
  void cancel(PendingReceive& receive);  // withdraws it if still unmatched, else waits for it
  std::optional<Status> iprobe(int source, int tag);
  Status probe(int source, int tag, Deadline deadline);

  // ---- delivery side: the sending thread (local) or the connection's reader (tcp)
  struct Delivery {
    Envelope envelope;
    std::byte* destination = nullptr;         // write envelope.bytes bytes here
    std::shared_ptr<PendingReceive> receive;  // the posted receive it goes to, or null
    ByteBuffer owned;                         // its own buffer when no receive was posted
  };
  Delivery begin(const Envelope& envelope);
  // A small message from memory (the local backend): copied and left for the receiving side to
  // match when it next looks, without the lock unless the receiver sleeps. Per-sender order
  // holds across push and begin()/finish(), which match every pushed message first. Up to
  // push_max_bytes: above that a second copy (into the node, then out) costs more than the lock
  // saves (benchmarks/analysis.md, "Measurements behind constants in the code").
  static constexpr std::size_t push_max_bytes = 256;
  void push(const Envelope& envelope, const void* data);
  // How many blocks of pushes the mailbox keeps for later ones (see pool_max_blocks); for tests,
  // while no push or receive runs.
  int pooled_blocks();
  static constexpr int pool_max_blocks = 128;  // two windows of 64 messages in flight
  void finish(Delivery&& delivery);
  // The payload could not be read in full (the peer died mid-message): the receive fails.
  void abort(Delivery&& delivery, std::exception_ptr error);

  // ---- fault injection (hilo::testing::FaultPlan::reorder): from now on, a receive or probe
  // from any_source that could take messages of several sources that have arrived takes the one
  // with the smallest order_key among each source's first match, instead of the first to arrive;
  // each source's own order is kept. Called before the mailbox is used.
  void reorder_any_source() { reorder_any_source_ = true; }

  // ---- failures. Receives that can no longer complete fail with `error`: those from `source`,
  // and if `any_source_too`, those posted for any_source. Messages already queued stay receivable.
  void fail_source(int source, std::exception_ptr error, bool any_source_too);
  void fail_all(std::exception_ptr error);

  // The collective call with `stamp` failed here: its messages are dropped from now on.
  void abandon(std::uint32_t stamp);
  // The rank whose notice poisoned this mailbox (see the top of this file), or -1. Lock-free: a
  // collective asks it as it starts.
  int notice_from() const { return notice_from_.load(std::memory_order_acquire); }
  // The word notice_from() reads, for a Communicator to check as each collective starts.
  const std::atomic<int>& notice_word() const { return notice_from_; }
  // The exception a receive of a poisoned mailbox fails with.
  std::exception_ptr notice_error(int peer) const;

 private:
  struct Queued {
    Envelope envelope;
    ByteBuffer payload;
  };
  // A pushed message: its payload follows it in the same block, which has room for
  // push_max_bytes whatever the message's size, so that any block can carry any pushed message.
  struct Pushed {
    Pushed* next;
    Envelope envelope;
    std::byte* payload() { return reinterpret_cast<std::byte*>(this + 1); }
    static Pushed* allocate();
    static void destroy(Pushed* p);
  };
  // A block for a push: a recycled one if any, else a new one. Called by senders.
  Pushed* take_block();
  // Gives back the blocks of matched pushes, `oldest_first` linked by next: kept for later pushes,
  // or freed while more than pool_max_blocks exist. Called with mutex_ held (one receiving side at
  // a time).
  void recycle(Pushed* oldest_first);
  // Frees a list of blocks linked by next.
  static void destroy_all(Pushed* list);
  // Matches every pushed message, oldest first, as if each had arrived through finish(). The
  // caller holds mutex_.
  void match_pushed();
  // The same, taking mutex_, if any message was pushed.
  void match_pushed_soon();
  // One spare buffer for large unexpected messages, kept from the last one received.
  // Why: glibc maps every block over 32 MiB afresh and unmaps it when freed, so each such message
  // queued before its receive was posted cost its size in page faults, which took longer than
  // the copy itself. Smaller blocks are reused by the heap anyway. At most
  // spare_max_bytes is kept, so a mailbox never holds more than that for nothing.
  static constexpr std::size_t spare_min_bytes = std::size_t{1} << 20;
  static constexpr std::size_t spare_max_bytes = std::size_t{64} << 20;
  void keep_as_spare(ByteBuffer&& payload);
  static bool matches(int want_source, int want_tag, const Envelope& e) {
    return (want_source == any_source || want_source == e.source) &&
           (want_tag == any_tag ? e.tag >= 0 : want_tag == e.tag);
  }
  // Copies a message that is already in memory into a receive; returns false (and fails the
  // receive) if it does not fit.
  bool deliver(const Envelope& envelope, const std::byte* payload, PendingReceive& receive);
  // Offers such a message to the posted receives, first posted first: the first that matches
  // and fits takes it (true); one that matches but does not fit fails and the next is tried.
  // The caller holds mutex_.
  bool offer_to_posted(const Envelope& envelope, const std::byte* payload);
  // Queues a message no receive took. The caller holds mutex_.
  void queue(Queued&& message);
  static void complete(PendingReceive& receive, const Envelope& e);
  static void fail(PendingReceive& receive, std::exception_ptr error);
  // Moves a receive to kDone or kFailed and wakes its receiver if it sleeps.
  static void settle(PendingReceive& receive, PendingReceive::State final_state);
  // Spins, then sleeps, until the receive is settled or `deadline`; false if the deadline passed.
  bool wait_settled(PendingReceive& receive, Deadline deadline);
  // Throws what a failed receive failed with.
  [[noreturn]] void rethrow_failure(PendingReceive& receive);
  // Takes mutex_, spinning briefly first: it is held for a few hundred nanoseconds at a time,
  // and std::mutex would otherwise put the second thread to sleep at once.
  std::unique_lock<std::mutex> lock_soon();
  std::exception_ptr failure_for(int source) const;
  // The queued message a receive or probe for (source, tag) takes, or unexpected_.end(). The
  // caller holds mutex_.
  std::deque<Queued>::iterator find_unexpected(int source, int tag);
  // "hilo: recv on rank 1: from rank 0 with tag 7", the start of a receive's error message.
  std::string describe(const char* op, int source, int tag) const;
  // Whether `e`, the next message from the receive's source, is of another collective call
  // (both stamped, different stamps; a notice is of no call).
  // A message of a later call than the receive's proves nothing: its sender may have given up
  // this call (a Timeout) and gone on, while this rank still waits for its own limit.
  static bool out_of_step(const PendingReceive& r, const Envelope& e) {
    return r.stamp_ != 0 && e.stamp != 0 && e.stamp != r.stamp_ && r.source_ == e.source &&
           e.tag >= 0 &&
           static_cast<std::int16_t>(stamp_sequence(e.stamp) - stamp_sequence(r.stamp_)) <= 0;
  }
  // Whether `e` belongs to an abandoned call. The caller holds mutex_.
  bool abandoned(const Envelope& e) const {
    return !abandoned_.empty() && e.stamp != 0 &&
           std::find(abandoned_.begin(), abandoned_.end(), e.stamp) != abandoned_.end();
  }
  // Fails a receive whose source is out of step (out_of_step). The caller holds mutex_.
  void fail_out_of_step(PendingReceive& r, const Envelope& e);
  // A notice nobody waited for was queued: poisons the mailbox. The caller holds mutex_.
  void poison(int peer);
  // post()'s work for a receive held by `receive`, owning or not.
  void post_shared(const std::shared_ptr<PendingReceive>& receive);

  int owner_;
  bool reorder_any_source_ = false;  // set before use, read-only after
  std::mutex mutex_;
  std::condition_variable arrived_;  // for probe
  // Deques, not lists: a message or a receive then costs no node allocation of its own, and
  // both are nearly always taken from the front.
  std::deque<Queued> unexpected_;
  std::deque<std::shared_ptr<PendingReceive>> posted_;
  ByteBuffer spare_;  // see keep_as_spare
  std::vector<std::pair<int, std::exception_ptr>> failed_sources_;
  std::exception_ptr failed_any_;  // receives for any_source fail with this
  std::exception_ptr failed_all_;
  std::atomic<int> notice_from_{-1};  // written under mutex_, once
  // The stamps of the last few calls abandoned here (abandon), oldest first; a stamp's sequence
  // number comes round again after 65536 calls, so only the last few are kept.
  std::vector<std::uint32_t> abandoned_;
  static constexpr std::size_t abandoned_max = 8;
  // Why pushes, not the lock, for small messages between threads: a sender and a receiver that
  // each take the mailbox lock once per message take turns on it, and each turn costs a cache
  // line transfer or a futex wake-up (a window of 64 8-byte messages ran at 1/14 of MPI's
  // rate, ~40% of the time in the lock). A push is one compare-exchange on a list of its own;
  // the receiving side matches the whole list when it next looks (post, wait, test, probe).
  std::atomic<Pushed*> pushed_{nullptr};  // newest first
  // Receiving threads about to sleep (in wait or probe): a push then matches at once itself, so
  // that the receive it completes wakes them.
  std::atomic<int> sleepers_{0};

  // The pool of push blocks. Why: with blocks allocated by the sending thread and freed by the
  // receiving one, a window of messages overflows the receiver's per-thread cache of freed blocks
  // into the sender's arena, and the next large allocation consolidates them: malloc and free
  // then cost more than the rest of a small message together (benchmarks/analysis.md,
  // "hilo-local's small-message rate"). Blocks go round instead: the
  // receiving side gives matched blocks back to recycled_ in one compare-exchange per batch, and
  // a sender takes them from spare_blocks_, refilled from recycled_ with one exchange when empty.
  // Taking a block is under pool_mutex_, which only senders lock: a lock-free pop by several
  // senders would be open to ABA. The receiving side never takes pool_mutex_.
  // Bound: live_blocks_ counts the blocks that exist (in flight or kept); changed only when a
  // block is allocated or freed, so not once per message. While it exceeds pool_max_blocks,
  // blocks coming back are freed, so once the messages of a burst are matched a mailbox keeps
  // at most pool_max_blocks blocks.
  std::atomic<Pushed*> recycled_{nullptr};
  std::atomic<int> live_blocks_{0};
  std::mutex pool_mutex_;
  Pushed* spare_blocks_ = nullptr;  // guarded by pool_mutex_
};

}  // namespace hilo::detail
