#include "comm/mailbox.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

#include "hilo/errors.hpp"

namespace hilo::detail {

namespace {
// A receiver spins this many rounds before sleeping on its condition variable: a wake-up from
// the kernel costs tens of microseconds, a message between threads a fraction of one. After the
// first rounds it yields, so oversubscribed ranks still let the sender run.
constexpr int kSpinRounds = 2000;
constexpr int kPureSpinRounds = 200;

std::string seconds(Deadline::Clock::duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f s", std::chrono::duration<double>(d).count());
  return text;
}
}  // namespace

std::string Mailbox::describe(int source, int tag) const {
  std::string s = "receive on rank " + std::to_string(owner_) + " from ";
  s += source == any_source ? "any source" : "rank " + std::to_string(source);
  s += tag == any_tag ? " with any tag" : " with tag " + std::to_string(tag);
  return s;
}

std::exception_ptr Mailbox::failure_for(int source) const {
  if (failed_all_) return failed_all_;
  if (source == any_source) return failed_any_;
  for (const auto& [failed, error] : failed_sources_)
    if (failed == source) return error;
  return nullptr;
}

void Mailbox::complete(PendingReceive& r, const Envelope& e) {
  r.status_ = Status{e.source, e.tag, e.bytes};
  r.state_.store(PendingReceive::kDone, std::memory_order_release);
  r.changed_.notify_all();
}

void Mailbox::fail(PendingReceive& r, std::exception_ptr error) {
  r.error_ = std::move(error);
  r.state_.store(PendingReceive::kFailed, std::memory_order_release);
  r.changed_.notify_all();
}

bool Mailbox::deliver_queued(Queued& m, PendingReceive& r) {
  std::string why = sink_mismatch(r.sink_, m.envelope.type, m.envelope.bytes);
  if (!why.empty()) {
    fail(r, std::make_exception_ptr(Error("hilo: " + describe(r.source_, r.tag_) + ": " + why +
                                          " (the message stays queued)")));
    return false;
  }
  void* to = r.sink_.has_fixed_size() ? r.sink_.fixed : r.sink_.resize(m.envelope.bytes);
  if (m.envelope.bytes > 0) std::memcpy(to, m.payload.get(), m.envelope.bytes);
  complete(r, m.envelope);
  return true;
}

std::shared_ptr<PendingReceive> Mailbox::post(int source, int tag, Sink sink) {
  auto r = std::make_shared<PendingReceive>(source, tag, std::move(sink));
  std::lock_guard lock(mutex_);
  for (auto it = unexpected_.begin(); it != unexpected_.end(); ++it) {
    if (!matches(source, tag, it->envelope)) continue;
    if (deliver_queued(*it, *r)) unexpected_.erase(it);
    return r;
  }
  if (auto error = failure_for(source)) {
    fail(*r, error);
    return r;
  }
  posted_.push_back(r);
  return r;
}

Status Mailbox::wait(PendingReceive& r, Deadline deadline) {
  for (int round = 0; round < kSpinRounds && !r.done(); ++round)
    if (round >= kPureSpinRounds) std::this_thread::yield();
  std::unique_lock lock(mutex_);
  auto start = Deadline::Clock::now();
  while (!r.done()) {
    if (deadline.is_never()) {
      r.changed_.wait(lock);
    } else if (r.changed_.wait_until(lock, deadline.at) == std::cv_status::timeout && !r.done()) {
      if (r.state_.load() == PendingReceive::kPosted) {
        posted_.remove_if([&](const auto& p) { return p.get() == &r; });
        throw Timeout("hilo: " + describe(r.source_, r.tag_) + ": no message within " +
                      seconds(deadline.at - start) + " (the receive was withdrawn)");
      }
      deadline = Deadline::never();  // bytes are flowing into it: finish rather than tear them
    }
  }
  if (r.state_.load(std::memory_order_acquire) == PendingReceive::kFailed)
    std::rethrow_exception(r.error_);
  return r.status_;
}

bool Mailbox::test(PendingReceive& r) {
  if (!r.done()) return false;
  std::lock_guard lock(mutex_);  // pairs with the writer's unlock: the bytes are visible
  if (r.state_.load() == PendingReceive::kFailed) std::rethrow_exception(r.error_);
  return true;
}

void Mailbox::cancel(PendingReceive& r) {
  std::unique_lock lock(mutex_);
  if (r.state_.load() == PendingReceive::kPosted) {
    posted_.remove_if([&](const auto& p) { return p.get() == &r; });
    r.state_.store(PendingReceive::kFailed);
    return;
  }
  r.changed_.wait(lock, [&] { return r.done(); });
}

std::optional<Status> Mailbox::iprobe(int source, int tag) {
  std::lock_guard lock(mutex_);
  for (const auto& m : unexpected_)
    if (matches(source, tag, m.envelope))
      return Status{m.envelope.source, m.envelope.tag, m.envelope.bytes};
  if (auto error = failure_for(source)) std::rethrow_exception(error);
  return std::nullopt;
}

Status Mailbox::probe(int source, int tag, Deadline deadline) {
  std::unique_lock lock(mutex_);
  auto start = Deadline::Clock::now();
  for (;;) {
    for (const auto& m : unexpected_)
      if (matches(source, tag, m.envelope))
        return Status{m.envelope.source, m.envelope.tag, m.envelope.bytes};
    if (auto error = failure_for(source)) std::rethrow_exception(error);
    if (deadline.is_never()) {
      arrived_.wait(lock);
    } else if (arrived_.wait_until(lock, deadline.at) == std::cv_status::timeout) {
      throw Timeout("hilo: probe for a " + describe(source, tag) + ": no message within " +
                    seconds(deadline.at - start));
    }
  }
}

Mailbox::Delivery Mailbox::begin(const Envelope& e) {
  Delivery d{e, nullptr, nullptr, nullptr};
  std::lock_guard lock(mutex_);
  for (auto it = posted_.begin(); it != posted_.end();) {
    PendingReceive& r = **it;
    if (!matches(r.source_, r.tag_, e)) {
      ++it;
      continue;
    }
    std::string why = sink_mismatch(r.sink_, e.type, e.bytes);
    if (!why.empty()) {
      fail(r, std::make_exception_ptr(Error("hilo: " + describe(r.source_, r.tag_) + ": " + why +
                                            " (the message stays queued)")));
      it = posted_.erase(it);
      continue;
    }
    d.receive = *it;
    posted_.erase(it);
    r.state_.store(PendingReceive::kMatched);
    // resize() runs user-visible code (a vector's resize) under our lock; it never calls back in.
    d.destination =
        static_cast<std::byte*>(r.sink_.has_fixed_size() ? r.sink_.fixed : r.sink_.resize(e.bytes));
    return d;
  }
  d.owned = std::make_unique_for_overwrite<std::byte[]>(e.bytes);
  d.destination = d.owned.get();
  return d;
}

void Mailbox::finish(Delivery&& d) {
  std::lock_guard lock(mutex_);
  if (d.receive) {
    complete(*d.receive, d.envelope);
    return;
  }
  // A receive may have been posted while the payload was being read: it takes the message now.
  Queued message{d.envelope, std::move(d.owned)};
  for (auto it = posted_.begin(); it != posted_.end();) {
    if (!matches((*it)->source_, (*it)->tag_, d.envelope)) {
      ++it;
      continue;
    }
    auto receive = *it;
    it = posted_.erase(it);
    if (deliver_queued(message, *receive)) return;  // else that receive failed: try the next
  }
  unexpected_.push_back(std::move(message));
  arrived_.notify_all();
}

void Mailbox::abort(Delivery&& d, std::exception_ptr error) {
  std::lock_guard lock(mutex_);
  if (d.receive) fail(*d.receive, std::move(error));
}

void Mailbox::fail_source(int source, std::exception_ptr error, bool any_source_too) {
  std::lock_guard lock(mutex_);
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
  if (!failed_all_) failed_all_ = error;
  for (auto& r : posted_) fail(*r, error);
  posted_.clear();
  arrived_.notify_all();
}

}  // namespace hilo::detail
