#include "backends/local/delayed_delivery.hpp"

#include <algorithm>
#include <cstring>

namespace hilo::local {

DelayedDelivery::DelayedDelivery() : worker_([this] { run(); }) {}

DelayedDelivery::~DelayedDelivery() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void DelayedDelivery::post(detail::Mailbox& box, const detail::Envelope& envelope, const void* data,
                           std::chrono::nanoseconds delay, int world_source) {
  Item item;
  item.box = &box;
  item.envelope = envelope;
  item.payload.resize(envelope.bytes);
  if (envelope.bytes > 0) std::memcpy(item.payload.data(), data, envelope.bytes);
  const auto due = Clock::now() + delay;
  std::lock_guard lock(mutex_);
  Clock::time_point& channel = channel_due_[{&box, envelope.source}];
  channel = std::max(channel, due);  // never before the message posted before it
  enqueue(channel, world_source, std::move(item));
}

void DelayedDelivery::after_messages_from(int world_source, std::function<void()> action) {
  Item item;
  item.action = std::move(action);
  std::lock_guard lock(mutex_);
  const auto it = source_due_.find(world_source);
  const auto due = it == source_due_.end() ? Clock::now() : std::max(Clock::now(), it->second);
  enqueue(due, world_source, std::move(item));
}

void DelayedDelivery::enqueue(Clock::time_point due, int world_source, Item item) {
  Clock::time_point& last = source_due_[world_source];
  last = std::max(last, due);
  queue_.emplace(Key{due, posted_++}, std::move(item));
  changed_.notify_all();
}

void DelayedDelivery::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_) return;
    if (queue_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const Clock::time_point due = queue_.begin()->first.first;
    if (Clock::now() < due) {
      changed_.wait_until(lock, due);
      continue;
    }
    Item item = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    lock.unlock();
    if (item.box == nullptr) {
      item.action();
    } else {
      detail::Mailbox::Delivery delivery = item.box->begin(item.envelope);
      if (item.envelope.bytes > 0)
        std::memcpy(delivery.destination, item.payload.data(), item.envelope.bytes);
      item.box->finish(std::move(delivery));
    }
    lock.lock();
  }
}

}  // namespace hilo::local
