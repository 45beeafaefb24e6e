#include "comm/mailbox.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <thread>

#include "common/seconds_text.hpp"
#include "hilo/comm/detail/collective_call.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::detail {

namespace {
// How a receive waits before it sleeps. A message between thread ranks lands a cache-line
// transfer after the sender moves, while a futex sleep and wake-up cost many times that (more
// under virtualisation, where a wake-up is an inter-processor interrupt). So: a few microseconds
// of pure spinning (the peer is running on another core), then rounds that yield the core (the
// peer may be waiting for this one: with more ranks than cores a long pure spin starves it),
// then sleep, about one wake-up later. The budget is fixed, not adaptive: one halved after each
// failed spin collapsed to its floor in a ping-pong, after which every hop paid a wake-up.
// (benchmarks/analysis.md, "Measurements behind constants in the code", has the numbers.)
constexpr auto receive_spin = std::chrono::microseconds(3);
constexpr auto receive_yield_until = std::chrono::microseconds(1000);

// Counts a receiving thread among a mailbox's sleepers while it exists (see Mailbox::push).
class CountedSleeper {
 public:
  explicit CountedSleeper(std::atomic<int>& sleepers) : sleepers_(sleepers) {
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
  }
  ~CountedSleeper() { sleepers_.fetch_sub(1, std::memory_order_relaxed); }
  CountedSleeper(const CountedSleeper&) = delete;
  CountedSleeper& operator=(const CountedSleeper&) = delete;

 private:
  std::atomic<int>& sleepers_;
};

}  // namespace

std::string Mailbox::describe(const char* op, int source, int tag) const {
  return make_message(
      OnRank{op, owner_}, "from ",
      source == any_source ? std::string("any source") : make_message("rank ", source),
      tag == any_tag ? std::string(" with any tag") : make_message(" with tag ", tag));
}

std::exception_ptr Mailbox::failure_for(int source) const {
  if (failed_all_) return failed_all_;
  if (source == any_source) return failed_any_;
  for (const auto& [failed, error] : failed_sources_)
    if (failed == source) return error;
  return nullptr;
}

Mailbox::~Mailbox() {
  destroy_all(pushed_.load(std::memory_order_acquire));
  destroy_all(recycled_.load(std::memory_order_acquire));
  destroy_all(spare_blocks_);
}

void Mailbox::destroy_all(Pushed* list) {
  while (list != nullptr) {
    Pushed* next = list->next;
    Pushed::destroy(list);
    list = next;
  }
}

std::unique_lock<std::mutex> Mailbox::lock_soon() {
  constexpr int attempts = 64;  // a few microseconds at most; then block
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (mutex_.try_lock()) return std::unique_lock(mutex_, std::adopt_lock);
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  return std::unique_lock(mutex_);
}

void Mailbox::settle(PendingReceive& r, PendingReceive::State final_state) {
  // Release: the payload, status_ and error_ written before are visible to whoever sees this.
  const std::uint32_t before = r.state_.exchange(final_state, std::memory_order_acq_rel);
  if (before & PendingReceive::kSleeping) futex_wake(r.state_, INT_MAX);
}

void Mailbox::complete(PendingReceive& r, const Envelope& e) {
  r.status_ = Status{e.source, e.tag, e.bytes};
  settle(r, PendingReceive::kDone);
}

void Mailbox::fail(PendingReceive& r, std::exception_ptr error) {
  r.error_ = std::move(error);
  settle(r, PendingReceive::kFailed);
}

bool Mailbox::wait_settled(PendingReceive& r, Deadline deadline) {
  auto done = [&] {
    if (r.done()) return true;
    match_pushed_soon();
    return r.done();
  };
  if (done() || spin_pausing_for(done, receive_spin)) return true;
  const auto stop_yielding = std::chrono::steady_clock::now() + receive_yield_until;
  while (std::chrono::steady_clock::now() < stop_yielding) {
    std::this_thread::yield();
    if (done()) return true;
  }
  // Counted as a sleeper, this thread has every later push matched for it by the pusher (see
  // push()); the pushes before are matched by the look at the top of the loop.
  const CountedSleeper sleeper(sleepers_);
  for (;;) {
    match_pushed_soon();
    std::uint32_t word = r.state_.load(std::memory_order_acquire);
    if (PendingReceive::state_of(word) >= PendingReceive::kDone) return true;
    if (!(word & PendingReceive::kSleeping)) {
      // Announce the sleep in the word itself: settle()'s exchange then sees it and wakes us,
      // and if settle() comes first this compare-exchange fails and we look again.
      if (!r.state_.compare_exchange_weak(word, word | PendingReceive::kSleeping,
                                          std::memory_order_acq_rel)) {
        continue;
      }
      word |= PendingReceive::kSleeping;
    }
    if (deadline.is_never()) {
      futex_wait(r.state_, word);
    } else if (!futex_wait_until(r.state_, word, deadline.at)) {
      return r.done();
    }
  }
}

Mailbox::Pushed* Mailbox::Pushed::allocate() {
  static_assert(alignof(Pushed) <= alignof(std::max_align_t));
  return new (::operator new(sizeof(Pushed) + push_max_bytes)) Pushed{nullptr, {}};
}

void Mailbox::Pushed::destroy(Pushed* p) {
  p->~Pushed();
  ::operator delete(p);
}

Mailbox::Pushed* Mailbox::take_block() {
  std::lock_guard lock(pool_mutex_);
  // Acquire: the receiving side's last reads of these blocks happen before our writes.
  if (spare_blocks_ == nullptr)
    spare_blocks_ = recycled_.exchange(nullptr, std::memory_order_acquire);
  if (spare_blocks_ == nullptr) {
    live_blocks_.fetch_add(1, std::memory_order_relaxed);
    return Pushed::allocate();
  }
  Pushed* block = spare_blocks_;
  spare_blocks_ = block->next;
  return block;
}

void Mailbox::recycle(Pushed* oldest_first) {
  Pushed* kept_first = nullptr;
  Pushed* kept_last = nullptr;
  while (oldest_first != nullptr) {
    Pushed* block = oldest_first;
    oldest_first = block->next;
    // Beyond the bound (after a burst), blocks are freed as they come back.
    if (live_blocks_.load(std::memory_order_relaxed) > pool_max_blocks) {
      live_blocks_.fetch_sub(1, std::memory_order_relaxed);
      Pushed::destroy(block);
      continue;
    }
    block->next = kept_first;
    kept_first = block;
    if (kept_last == nullptr) kept_last = block;
  }
  if (kept_first == nullptr) return;
  // Release: our reads of the blocks' payloads happen before a sender's next writes to them.
  kept_last->next = recycled_.load(std::memory_order_relaxed);
  while (!recycled_.compare_exchange_weak(kept_last->next, kept_first, std::memory_order_release,
                                          std::memory_order_relaxed)) {
  }
}

int Mailbox::pooled_blocks() {
  std::lock_guard lock(pool_mutex_);
  int count = 0;
  for (Pushed* p = spare_blocks_; p != nullptr; p = p->next) ++count;
  for (Pushed* p = recycled_.load(std::memory_order_acquire); p != nullptr; p = p->next) ++count;
  return count;
}

void Mailbox::push(const Envelope& e, const void* data) {
  Pushed* node = take_block();
  node->envelope = e;
  if (e.bytes > 0) std::memcpy(node->payload(), data, e.bytes);
  // Release: the payload is visible to whoever takes the list. Sequentially consistent with the
  // sleepers_ load below and a sleeper's count-then-look (wait_settled, probe): either this push
  // sees the sleeper and matches for it, or the sleeper sees the push.
  node->next = pushed_.load(std::memory_order_relaxed);
  while (!pushed_.compare_exchange_weak(node->next, node, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
  }
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    auto lock = lock_soon();
    match_pushed();
  }
}

void Mailbox::match_pushed_soon() {
  // Sequentially consistent: a sleeper's look after counting itself (see push()).
  if (pushed_.load(std::memory_order_seq_cst) == nullptr) return;
  auto lock = lock_soon();
  match_pushed();
}

void Mailbox::match_pushed() {
  if (pushed_.load(std::memory_order_seq_cst) == nullptr) return;  // always, for tcp
  Pushed* newest_first = pushed_.exchange(nullptr, std::memory_order_seq_cst);
  Pushed* oldest_first = nullptr;
  while (newest_first != nullptr) {
    Pushed* next = newest_first->next;
    newest_first->next = oldest_first;
    oldest_first = newest_first;
    newest_first = next;
  }
  for (Pushed* node = oldest_first; node != nullptr; node = node->next) {
    // Straight from the node into the receive that takes it; copied out only if none does.
    if (!offer_to_posted(node->envelope, node->payload())) {
      ByteBuffer payload;
      payload.resize(node->envelope.bytes);
      if (node->envelope.bytes > 0)
        std::memcpy(payload.data(), node->payload(), node->envelope.bytes);
      queue(Queued{node->envelope, std::move(payload)});
    }
  }
  recycle(oldest_first);
}

bool Mailbox::offer_to_posted(const Envelope& e, const std::byte* payload) {
  if (abandoned(e)) [[unlikely]]
    return true;  // a leftover: dropped as if taken
  for (auto it = posted_.begin(); it != posted_.end();) {
    if (out_of_step(**it, e)) [[unlikely]] {
      fail_out_of_step(**it, e);
      it = posted_.erase(it);
      continue;
    }
    if (!matches((*it)->source_, (*it)->tag_, e)) {
      ++it;
      continue;
    }
    // Moved out, and popped when first (nearly always): no reference count traffic, no shifting.
    std::shared_ptr<PendingReceive> receive = std::move(*it);
    if (it == posted_.begin()) {
      posted_.pop_front();
      it = posted_.begin();
    } else {
      it = posted_.erase(it);
    }
    if (deliver(e, payload, *receive)) return true;  // else that receive failed: try the next
  }
  return false;
}

void Mailbox::queue(Queued&& message) {
  const Envelope& e = message.envelope;
  if (e.tag == collective_notice_tag && notice_from_.load(std::memory_order_relaxed) < 0)
      [[unlikely]]
    poison(e.source);
  unexpected_.push_back(std::move(message));
  arrived_.notify_all();
}

std::exception_ptr Mailbox::notice_error(int peer) const {
  return std::make_exception_ptr(
      CollectiveOutOfStep(make_message(OnRank{"collective", owner_}, "rank ", peer,
                                       " found this rank in a different collective call"),
                          peer, 0, true));
}

void Mailbox::poison(int peer) {
  notice_from_.store(peer, std::memory_order_release);
  const std::exception_ptr error = notice_error(peer);
  for (auto it = posted_.begin(); it != posted_.end();) {
    if ((*it)->tag_ == collective_notice_tag) {
      ++it;
      continue;
    }
    fail(**it, error);
    it = posted_.erase(it);
  }
}

void Mailbox::abandon(std::uint32_t stamp) {
  std::lock_guard lock(mutex_);
  match_pushed();
  if (abandoned_.size() == abandoned_max) abandoned_.erase(abandoned_.begin());
  abandoned_.push_back(stamp);
  std::erase_if(unexpected_, [&](const Queued& m) { return m.envelope.stamp == stamp; });
}

void Mailbox::fail_out_of_step(PendingReceive& r, const Envelope& e) {
  fail(r, std::make_exception_ptr(CollectiveOutOfStep(describe("recv", r.source_, r.tag_) +
                                                          ": rank " + std::to_string(e.source) +
                                                          " is in a different collective call",
                                                      e.source, e.stamp, false)));
}

bool Mailbox::deliver(const Envelope& e, const std::byte* payload, PendingReceive& r) {
  std::string why = sink_mismatch(r.sink_, e.type, e.bytes);
  if (!why.empty()) {
    fail(r, std::make_exception_ptr(Error(describe("recv", r.source_, r.tag_) + ": " + why +
                                          " (the message stays queued)")));
    return false;
  }
  void* to = r.sink_.has_fixed_size() ? r.sink_.fixed : r.sink_.resize(e.bytes);
  if (e.bytes > 0) std::memcpy(to, payload, e.bytes);
  complete(r, e);
  return true;
}

void Mailbox::keep_as_spare(ByteBuffer&& payload) {
  const std::size_t capacity = payload.capacity();
  if (capacity >= spare_min_bytes && capacity <= spare_max_bytes && capacity > spare_.capacity())
    spare_ = std::move(payload);
}

std::deque<Mailbox::Queued>::iterator Mailbox::find_unexpected(int source, int tag) {
  auto first = std::find_if(unexpected_.begin(), unexpected_.end(),
                            [&](const Queued& m) { return matches(source, tag, m.envelope); });
  if (!reorder_any_source_ || source != any_source || first == unexpected_.end()) [[likely]]
    return first;
  // Only each source's first match may be taken: the one after it would overtake it.
  auto chosen = first;
  std::vector<int> sources_seen{first->envelope.source};
  for (auto it = std::next(first); it != unexpected_.end(); ++it) {
    if (!matches(source, tag, it->envelope)) continue;
    if (std::find(sources_seen.begin(), sources_seen.end(), it->envelope.source) !=
        sources_seen.end())
      continue;
    sources_seen.push_back(it->envelope.source);
    if (it->envelope.order_key < chosen->envelope.order_key) chosen = it;
  }
  return chosen;
}

std::shared_ptr<PendingReceive> Mailbox::post(int source, int tag, Sink sink, std::uint32_t stamp) {
  auto r = std::make_shared<PendingReceive>(source, tag, std::move(sink), stamp);
  post_shared(r);
  return r;
}

void Mailbox::post(PendingReceive& receive) {
  // Aliasing an empty owner: a pointer with no reference count, so no allocation; the caller
  // keeps the receive alive (see the header).
  post_shared(std::shared_ptr<PendingReceive>(std::shared_ptr<void>(), &receive));
}

void Mailbox::post_shared(const std::shared_ptr<PendingReceive>& receive) {
  PendingReceive& r = *receive;
  auto lock = lock_soon();
  match_pushed();
  // A receive of a collective call (stamped): after a peer's notice, none is taken.
  if (r.stamp_ != 0 && notice_from_.load(std::memory_order_relaxed) >= 0) [[unlikely]] {
    fail(r, notice_error(notice_from_.load(std::memory_order_relaxed)));
    return;
  }
  auto it = unexpected_.end();
  if (r.stamp_ == 0 || r.source_ == any_source) {
    it = find_unexpected(r.source_, r.tag_);
  } else {
    // The next message from the source, whatever its tag, must be of this call. Nearly always
    // it is the one this receive takes, so one look finds both.
    it = std::find_if(unexpected_.begin(), unexpected_.end(), [&](const Queued& m) {
      return m.envelope.source == r.source_ && m.envelope.tag >= 0;
    });
    if (it != unexpected_.end() && out_of_step(r, it->envelope)) [[unlikely]] {
      fail_out_of_step(r, it->envelope);
      return;
    }
    if (it != unexpected_.end() && it->envelope.tag != r.tag_)
      it = find_unexpected(r.source_, r.tag_);
  }
  if (it != unexpected_.end()) {
    if (deliver(it->envelope, it->payload.data(), r)) {
      keep_as_spare(std::move(it->payload));
      unexpected_.erase(it);
    }
    return;
  }
  if (auto error = failure_for(r.source_)) {
    fail(r, error);
    return;
  }
  posted_.push_back(receive);
}

Status Mailbox::wait(PendingReceive& r, Deadline deadline) {
  const auto start = Deadline::Clock::now();
  if (!wait_settled(r, deadline)) {
    std::unique_lock lock(mutex_);
    match_pushed();  // a message pushed just in time takes it
    if (r.state() == PendingReceive::kPosted) {
      std::erase_if(posted_, [&](const auto& p) { return p.get() == &r; });
      detail::throw_error<Timeout>(describe("recv", r.source_, r.tag_), ": no message within ",
                                   common::seconds_text(deadline.at - start),
                                   " (the receive was withdrawn)");
    }
    lock.unlock();
    wait_settled(r, Deadline::never());  // bytes are flowing into it: finish, not tear them
  }
  // done() read the state with acquire: the payload and status_ (or error_) are visible.
  if (r.state() == PendingReceive::kFailed) rethrow_failure(r);
  return r.status_;
}

void Mailbox::rethrow_failure(PendingReceive& r) {
  // Every path that fails a receive does so, and drops the mailbox's reference to it, under
  // mutex_. Taking it once here orders that drop before this thread's use of the exception.
  // The reference counts already order them, but inside libstdc++ where ThreadSanitizer does
  // not see them: without this it reports the exception's deletion by the failing thread as a
  // race with this thread's what(). A failure is rare; the lock costs nothing that matters.
  { std::lock_guard lock(mutex_); }
  std::rethrow_exception(r.error_);
}

bool Mailbox::test(PendingReceive& r) {
  if (!r.done()) match_pushed_soon();
  if (!r.done()) return false;  // acquire: once done, the bytes are visible
  if (r.state() == PendingReceive::kFailed) rethrow_failure(r);
  return true;
}

void Mailbox::cancel(PendingReceive& r) {
  {
    std::lock_guard lock(mutex_);
    if (r.state() == PendingReceive::kPosted) {
      std::erase_if(posted_, [&](const auto& p) { return p.get() == &r; });
      r.state_.store(PendingReceive::kFailed, std::memory_order_relaxed);  // nobody waits on it
      return;
    }
  }
  wait_settled(r, Deadline::never());  // matched: its bytes are on their way
}

std::optional<Status> Mailbox::iprobe(int source, int tag) {
  std::lock_guard lock(mutex_);
  match_pushed();
  if (auto it = find_unexpected(source, tag); it != unexpected_.end())
    return Status{it->envelope.source, it->envelope.tag, it->envelope.bytes};
  if (auto error = failure_for(source)) std::rethrow_exception(error);
  return std::nullopt;
}

Status Mailbox::probe(int source, int tag, Deadline deadline) {
  std::unique_lock lock(mutex_);
  auto start = Deadline::Clock::now();
  // Counted as a sleeper: a message pushed while this waits is queued at once, and wakes it.
  const CountedSleeper sleeper(sleepers_);
  for (;;) {
    match_pushed();
    if (auto it = find_unexpected(source, tag); it != unexpected_.end())
      return Status{it->envelope.source, it->envelope.tag, it->envelope.bytes};
    if (auto error = failure_for(source)) std::rethrow_exception(error);
    if (deadline.is_never()) {
      arrived_.wait(lock);
    } else if (arrived_.wait_until(lock, deadline.at) == std::cv_status::timeout) {
      detail::throw_error<Timeout>(describe("probe", source, tag), ": no message within ",
                                   common::seconds_text(deadline.at - start));
    }
  }
}

Mailbox::Delivery Mailbox::begin(const Envelope& e) {
  Delivery d{e, nullptr, nullptr, {}};
  auto lock = lock_soon();
  match_pushed();  // messages pushed before this one come first
  // A leftover of an abandoned call is read into a buffer of its own, which finish() drops.
  for (auto it = posted_.begin(); it != posted_.end() && !abandoned(e);) {
    PendingReceive& r = **it;
    if (out_of_step(r, e)) [[unlikely]] {
      fail_out_of_step(r, e);
      it = posted_.erase(it);
      continue;
    }
    if (!matches(r.source_, r.tag_, e)) {
      ++it;
      continue;
    }
    std::string why = sink_mismatch(r.sink_, e.type, e.bytes);
    if (!why.empty()) {
      fail(r, std::make_exception_ptr(Error(describe("recv", r.source_, r.tag_) + ": " + why +
                                            " (the message stays queued)")));
      it = posted_.erase(it);
      continue;
    }
    d.receive = *it;
    posted_.erase(it);
    // Or, not store: keeps the kSleeping bit of a receiver already asleep.
    r.state_.fetch_or(PendingReceive::kMatched, std::memory_order_relaxed);
    // resize() runs user-visible code (a vector's resize) under our lock; it never calls back in.
    d.destination =
        static_cast<std::byte*>(r.sink_.has_fixed_size() ? r.sink_.fixed : r.sink_.resize(e.bytes));
    return d;
  }
  if (e.bytes >= spare_min_bytes && spare_.capacity() >= e.bytes) d.owned = std::move(spare_);
  d.owned.resize(e.bytes);  // no zero-fill: the payload overwrites it
  d.destination = d.owned.data();
  return d;
}

void Mailbox::finish(Delivery&& d) {
  if (d.receive) {
    // Matched in begin(): only this delivery may touch the receive now, so no lock.
    complete(*d.receive, d.envelope);
    return;
  }
  auto lock = lock_soon();
  match_pushed();
  // A receive may have been posted while the payload was being read: it takes the message now.
  if (offer_to_posted(d.envelope, d.owned.data()))
    keep_as_spare(std::move(d.owned));
  else
    queue(Queued{d.envelope, std::move(d.owned)});
}

void Mailbox::abort(Delivery&& d, std::exception_ptr error) {
  if (!d.receive) return;
  // Under the lock although the matched receive is ours alone: see rethrow_failure().
  auto lock = lock_soon();
  fail(*d.receive, std::move(error));
  d.receive.reset();
}

void Mailbox::fail_source(int source, std::exception_ptr error, bool any_source_too) {
  std::lock_guard lock(mutex_);
  match_pushed();  // what arrived before the failure stays receivable
  failed_sources_.emplace_back(source, error);
  if (any_source_too && !failed_any_) failed_any_ = error;
  for (auto it = posted_.begin(); it != posted_.end();) {
    int s = (*it)->source_;
    if (s == source || (any_source_too && s == any_source)) {
      fail(**it, error);
      it = posted_.erase(it);
    } else {
      ++it;
    }
  }
  arrived_.notify_all();
}

void Mailbox::fail_all(std::exception_ptr error) {
  std::lock_guard lock(mutex_);
  match_pushed();
  if (!failed_all_) failed_all_ = error;
  for (auto& r : posted_) fail(*r, error);
  posted_.clear();
  arrived_.notify_all();
}

}  // namespace hilo::detail
