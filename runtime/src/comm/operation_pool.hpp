// Memory for a backend's operation objects (one per isend and irecv), kept for reuse; the mpi
// backend uses it.
//
// Why not plain new and delete: a window of outstanding requests (64 in benchmarks/p2p, as in
// osu_bw) overflows glibc's per-thread cache of freed blocks (7 per size). The rest go to its
// fastbins, and the next allocation of 1 KiB or more (the statuses wait_all returns, the caller's
// vector of requests) consolidates them, so the next window's operations are carved out of merged
// chunks again: per 8-byte isend, malloc and free then cost more than MPI_Isend itself. The
// pool's cost is two uncontended mutex locks and a vector push and pop (benchmarks/analysis.md,
// "Measurements behind constants in the code", has the instruction counts).
//
// An operation class takes its memory from a pool by deriving from PooledOperation and being
// created with `new (pool) Type(...)`; `delete` (through std::unique_ptr<Operation>) returns it.
//
// Lifetime: a hilo::Request may outlive its communicator, so a pool may not vanish while a block
// is out. Its owner (OperationPool::Owner) closes it; the last block returned after that frees it.
#pragma once

#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

namespace hilo::detail {

class OperationPool {
 public:
  // The largest operation a block holds (the mpi backend's are 64 to 80 bytes).
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
  // Gives a block from allocate() back to the pool it came from.
  static void release(void* block) noexcept;

 private:
  OperationPool();
  ~OperationPool();
  void close() noexcept;

  // Kept blocks beyond this go back to the system: bounds what a burst of requests leaves behind.
  static constexpr std::size_t max_kept = 1024;

  std::mutex mutex_;
  std::vector<void*> kept_;      // whole blocks (header included), ready for reuse
  std::size_t outstanding_ = 0;  // blocks handed out and not yet returned
  bool closed_ = false;          // the owner is gone: free the pool with its last block
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
