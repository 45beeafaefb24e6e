// Delivers the local backend's messages late, for a FaultPlan with delay() (hilo/testing.hpp):
// a thread of its own holds each message until its due time, then puts it into the receiver's
// mailbox as a sending thread would.
//
// Order: messages on one channel (one receiving mailbox, one source) are delivered in the order
// they were posted, whatever their delays: a message is never due before the one posted before
// it on its channel, and messages due at the same time go in posting order. An action queued
// with after_messages_from runs after every message its source had posted by then.
//
// Locking: mutex_ guards the queue and the due-time tables; deliveries and actions run on the
// worker without it. They take mailbox and LocalWorld locks, so nobody may call in here while
// holding one of those.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "comm/mailbox.hpp"

namespace hilo::local {

class DelayedDelivery {
 public:
  using Clock = std::chrono::steady_clock;

  DelayedDelivery();
  // Stops the worker; what is still held is dropped (every rank has ended by then).
  ~DelayedDelivery();
  DelayedDelivery(const DelayedDelivery&) = delete;
  DelayedDelivery& operator=(const DelayedDelivery&) = delete;

  // Copies the message and delivers it into `box` after `delay` (or later, to keep its
  // channel's order). `world_source` is the sender's world rank, for after_messages_from.
  void post(detail::Mailbox& box, const detail::Envelope& envelope, const void* data,
            std::chrono::nanoseconds delay, int world_source);
  // Runs `action` on the worker once every message posted so far by world rank `world_source`
  // has been delivered.
  void after_messages_from(int world_source, std::function<void()> action);

 private:
  struct Item {
    detail::Mailbox* box = nullptr;  // null for an action
    detail::Envelope envelope;
    ByteBuffer payload;
    std::function<void()> action;
  };
  using Key = std::pair<Clock::time_point, std::uint64_t>;  // due time, posting order

  void enqueue(Clock::time_point due, int world_source, Item item);
  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<Key, Item> queue_;
  std::map<std::pair<detail::Mailbox*, int>, Clock::time_point> channel_due_;  // last due
  std::map<int, Clock::time_point> source_due_;  // by world rank: its last message's due time
  std::uint64_t posted_ = 0;
  bool stopping_ = false;
  std::thread worker_;  // last: started once everything above exists
};

}  // namespace hilo::local
