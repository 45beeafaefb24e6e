// Memory for a backend's operation objects (one per isend and irecv), kept for reuse; the mpi
// and local backends use it.
//
// Why not plain new and delete: a window of outstanding requests (64 in benchmarks/p2p, as in
// osu_bw) overflows glibc's per-thread cache of freed blocks (7 per size). The rest go to its
// fastbins, and the next allocation of 1 KiB or more (the statuses wait_all returns, the caller's
// vector of requests) consolidates them, so the next window's operations are carved out of merged
// chunks again: per 8-byte isend, malloc and free then cost more than MPI_Isend itself
// (benchmarks/analysis.md, "Measurements behind constants in the code", has the instruction
// counts).
//
// Why no lock on release: a block is returned by whichever thread drops the request, often
// while the owning thread allocates the next one; two mutexes per operation were most of the
// pool's cost (benchmarks/analysis.md, "hilo-local's small-message rate"). A returned block is
// pushed onto returned_ with one compare-exchange; allocate() takes blocks from spare_, refilled
// from returned_ with one exchange when empty, under mutex_, which only allocating threads lock
// (a lock-free pop by several of them would be open to ABA).
//
// An operation class takes its memory from a pool by deriving from PooledOperation and being
// created with `new (pool) Type(...)`; `delete` (through std::unique_ptr<Operation>) returns it.
//
// Lifetime: a hilo::Request may outlive its communicator, so a pool may not vanish while a block
// is out. Its owner (OperationPool::Owner) holds one reference and every block out one more; the
// pool frees itself when the last is dropped.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <new>

namespace hilo::detail {

class OperationPool {
 public:
  // The largest operation a block holds (the mpi backend's are 64 to 80 bytes, the local
  // backend's receive, which holds its PendingReceive, up to 120).
  static constexpr std::size_t block_bytes = 128;

  // Owns a pool: creates it, and closes it on destruction.
  class Owner {
   public:
    Owner() : pool_(new OperationPool) {}
    ~Owner() { pool_->close(); }
    Owner(const Owner&) = delete;
    Owner& operator=(const Owner&) = delete;
    OperationPool& operator*() const { return *pool_; }

   private:
    OperationPool* pool_;
  };

  // A block of `bytes` (at most block_bytes), from the pool's kept blocks if it has any.
  void* allocate(std::size_t bytes);
  // Gives a block from allocate() back to the pool it came from. Any thread; takes no lock.
  static void release(void* block) noexcept;

 private:
  OperationPool() = default;
  ~OperationPool();
  void close() noexcept;
  // Drops one reference (the owner's or a block's); the last one frees the pool.
  void drop_reference() noexcept;

  // Kept blocks beyond this go back to the system: bounds what a burst of requests leaves behind.
  // Counted loosely (kept_ is read, then changed): concurrent releases may overshoot it by the
  // number of releasing threads.
  static constexpr std::size_t max_kept = 1024;

  std::mutex mutex_;       // only allocate() locks it
  void* spare_ = nullptr;  // guarded by mutex_: kept blocks, linked through their bodies
  std::atomic<void*> returned_{nullptr};    // blocks released since, newest first
  std::atomic<std::size_t> kept_{0};        // blocks on spare_ and returned_
  std::atomic<std::size_t> references_{1};  // the owner's, and one per block handed out
  std::atomic<bool> closed_{false};         // the owner is gone: free blocks as they come back
};

// The base of an operation class whose objects live in an OperationPool.
struct PooledOperation {
  static void* operator new(std::size_t bytes, OperationPool& pool) { return pool.allocate(bytes); }
  // Called if the constructor throws.
  static void operator delete(void* object, OperationPool&) noexcept {
    OperationPool::release(object);
  }
  static void operator delete(void* object) noexcept { OperationPool::release(object); }
};

}  // namespace hilo::detail
