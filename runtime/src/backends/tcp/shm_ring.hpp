// A lock-free single-producer single-consumer byte ring in memory shared by two processes: one
// direction of a same-host pair's shared-memory channel (shm_channel.hpp). The engine writes the
// same frames into it that it would write into the pair's socket, so everything the frames carry
// (order, single-copy envelopes, goodbye, abort) holds unchanged.
//
// Layout (in the segment, at a 64-byte aligned offset): RingControl, then `capacity` bytes of
// data (a power of two). `tail` and `head` count bytes ever written and ever read; a byte at
// position p lives at data[p % capacity]. They never wrap in practice (2^64 bytes).
//
// Who touches what. Exactly one producer (the sending rank, under its connection's send mutex)
// writes the data bytes between tail and head + capacity, and `tail`. Exactly one consumer (the
// receiving rank, under its engine's progress mutex) reads the bytes between head and tail, and
// writes `head`. The flags are set by one side and cleared by the other; producer_cpu is the
// producer's alone.
//
// Memory ordering (the contract, in the manner of Abseil's barrier.h):
//   - The producer stores `tail` with release after copying the bytes; the consumer loads it with
//     acquire before copying them out. So every byte below a tail the consumer has seen is there.
//   - The consumer stores `head` with release after copying bytes out; the producer loads it with
//     acquire before overwriting. So no byte is overwritten before the consumer has read it.
//   - Sleeping without losing a wake-up (Dekker's pattern, sequentially consistent fences on both
//     sides): the consumer sets consumer_sleeping, fences, then checks for bytes; the producer
//     publishes tail, fences, then checks consumer_sleeping. At least one of them sees the
//     other's store, so either the consumer does not sleep or the producer wakes it. The same
//     holds for producer_waiting (room) with the roles swapped. Waking is the engine's doorbell
//     (a byte on the pair's socket, which the sleeper's epoll watches): see engine.hpp.
// A dead or hostile peer can leave any values here: the consumer never reads more than
// `capacity` bytes past head, and the frame decoder checks everything it reads.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace hilo::tcp {

struct RingControl {
  alignas(64) std::atomic<std::uint64_t> tail;               // written by the producer only
  alignas(64) std::atomic<std::uint64_t> head;               // written by the consumer only
  alignas(64) std::atomic<std::uint32_t> consumer_sleeping;  // set by the consumer
  alignas(64) std::atomic<std::uint32_t> producer_waiting;   // set by the producer
  // 1 + the CPU the producer last wrote from (0: none yet), written by the producer only, when it
  // changes. A hint, read relaxed: it only decides whether a waiting consumer may spin.
  alignas(64) std::atomic<std::uint32_t> producer_cpu;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "ring words must be lock-free to work between processes");

class ShmRing {
 public:
  // Bytes a ring of `capacity` data bytes takes in the segment (a multiple of 64).
  static std::size_t footprint(std::size_t capacity);
  // A view of the ring at `base` (64-byte aligned, zero-filled when new). Not owning.
  // `publish_every`: see default_publish_every (the producer's choice alone; tests make it small).
  ShmRing(std::byte* base, std::size_t capacity, std::size_t publish_every = default_publish_every);

  // Bytes the producer copies before it publishes them (stores `tail`), so that the consumer
  // copies one piece out while the producer copies the next in, instead of waiting for the whole
  // write. Measured (benchmarks/analysis.md, "Shared-memory rings: ring size and pipelining"):
  // 64 KiB pieces in a 512 KiB ring moved 1-16 MiB messages fastest of the sizes tried.
  static constexpr std::size_t default_publish_every = std::size_t{64} << 10;

  // ---- producer
  // Copies as much of `pieces` as fits, publishing it every `publish_every` bytes and at the end;
  // returns the bytes written.
  std::size_t write(const iovec* pieces, int count);
  // After a write: whether the consumer sleeps and must be woken (its flag stays set until the
  // sleeper clears it: consumer_awake).
  bool consumer_needs_wake();
  // The producer has bytes it could not write: it asks to be woken when room appears. Returns
  // true when there is room already (then write again instead of waiting).
  bool wait_for_room();

  // ---- consumer
  // Copies up to `want` bytes out; returns how many.
  std::size_t read(void* into, std::size_t want);
  bool readable() const;
  // After a read: whether the producer waits for room and must be woken (clears its flag).
  bool producer_needs_wake();
  // The consumer is about to sleep: returns true if bytes are there already (do not sleep).
  bool consumer_sleeps();
  // Whether the producer last wrote from the CPU the calling thread runs on now (or has not
  // written yet). Then a consumer that waits for it must not spin without yielding: it would
  // keep its own producer off the core.
  bool producer_on_this_cpu() const;
  void consumer_awake();

 private:
  RingControl* control_;
  std::byte* data_;
  std::size_t capacity_;       // a power of two
  std::size_t publish_every_;  // > 0
};

}  // namespace hilo::tcp
