#include "backends/tcp/shm_ring.hpp"

#include <sched.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>
#include <type_traits>

#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::tcp {

namespace {

constexpr std::size_t control_bytes = (sizeof(RingControl) + 63) / 64 * 64;

// 1 + the CPU the calling thread runs on (0: unknown).
std::uint32_t this_cpu() {
  const int cpu = ::sched_getcpu();
  return cpu < 0 ? 0 : static_cast<std::uint32_t>(cpu) + 1;
}

}  // namespace

std::size_t ShmRing::footprint(std::size_t capacity) {
  return control_bytes + capacity;
}

ShmRing::ShmRing(std::byte* base, std::size_t capacity, std::size_t publish_every)
    : control_(reinterpret_cast<RingControl*>(base)),
      data_(base + control_bytes),
      capacity_(capacity),
      publish_every_(publish_every) {
  if (!std::has_single_bit(capacity))
    detail::throw_error<Error>("hilo: tcp: a ring of ", capacity,
                               " bytes (its capacity must be a power of two)");
  if (publish_every == 0)
    detail::throw_error<Error>("hilo: tcp: a ring that publishes every 0 bytes");
  // The segment is zero-filled, which is a valid RingControl of lock-free atomics.
  static_assert(std::is_standard_layout_v<RingControl>);
}

std::size_t ShmRing::write(const iovec* pieces, int count) {
  const std::uint64_t tail = control_->tail.load(std::memory_order_relaxed);  // ours
  const std::uint64_t head = control_->head.load(std::memory_order_acquire);
  std::size_t room =
      capacity_ - static_cast<std::size_t>(std::min<std::uint64_t>(tail - head, capacity_));
  std::uint64_t at = tail;
  std::uint64_t published = tail;
  for (int i = 0; i < count && room > 0; ++i) {
    const auto* from = static_cast<const std::byte*>(pieces[i].iov_base);
    std::size_t left = std::min(pieces[i].iov_len, room);
    room -= left;
    while (left > 0) {
      const std::size_t offset = static_cast<std::size_t>(at) & (capacity_ - 1);
      const std::size_t chunk = std::min({left, capacity_ - offset, publish_every_});
      std::memcpy(data_ + offset, from, chunk);
      from += chunk;
      at += chunk;
      left -= chunk;
      if (at - published >= publish_every_) {
        control_->tail.store(at, std::memory_order_release);
        published = at;
      }
    }
  }
  if (at != published) control_->tail.store(at, std::memory_order_release);
  if (at != tail) {
    // Written only when it changes, so the consumer's reads of it stay cache hits.
    const std::uint32_t cpu = this_cpu();
    if (control_->producer_cpu.load(std::memory_order_relaxed) != cpu)
      control_->producer_cpu.store(cpu, std::memory_order_relaxed);
  }
  return static_cast<std::size_t>(at - tail);
}

bool ShmRing::consumer_needs_wake() {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // tail's store before the flag's load
  // Not cleared here: only the consumer clears it, when its sleeper is up. A doorbell may be
  // taken by another of its threads (one polling for its receive), which leaves the sleeper
  // asleep; every later write must ring again until the sleeper itself says it is awake.
  return control_->consumer_sleeping.load(std::memory_order_relaxed) != 0;
}

bool ShmRing::wait_for_room() {
  control_->producer_waiting.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the flag's store before head's load
  const std::uint64_t tail = control_->tail.load(std::memory_order_relaxed);
  const std::uint64_t head = control_->head.load(std::memory_order_acquire);
  return tail - head < capacity_;
}

std::size_t ShmRing::read(void* into, std::size_t want) {
  const std::uint64_t head = control_->head.load(std::memory_order_relaxed);  // ours
  const std::uint64_t tail = control_->tail.load(std::memory_order_acquire);
  std::size_t left = std::min<std::size_t>(
      want, static_cast<std::size_t>(std::min<std::uint64_t>(tail - head, capacity_)));
  auto* to = static_cast<std::byte*>(into);
  std::uint64_t at = head;
  while (left > 0) {
    const std::size_t offset = static_cast<std::size_t>(at) & (capacity_ - 1);
    const std::size_t chunk = std::min(left, capacity_ - offset);
    std::memcpy(to, data_ + offset, chunk);
    to += chunk;
    at += chunk;
    left -= chunk;
  }
  if (at != head) control_->head.store(at, std::memory_order_release);
  return static_cast<std::size_t>(at - head);
}

bool ShmRing::readable() const {
  return control_->tail.load(std::memory_order_acquire) !=
         control_->head.load(std::memory_order_relaxed);
}

bool ShmRing::producer_on_this_cpu() const {
  const std::uint32_t cpu = control_->producer_cpu.load(std::memory_order_relaxed);
  return cpu == 0 || cpu == this_cpu();
}

bool ShmRing::producer_needs_wake() {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // head's store before the flag's load
  if (control_->producer_waiting.load(std::memory_order_relaxed) == 0) return false;
  return control_->producer_waiting.exchange(0, std::memory_order_relaxed) != 0;
}

bool ShmRing::consumer_sleeps() {
  control_->consumer_sleeping.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the flag's store before tail's load
  return readable();
}

void ShmRing::consumer_awake() {
  control_->consumer_sleeping.store(0, std::memory_order_relaxed);
}

}  // namespace hilo::tcp
