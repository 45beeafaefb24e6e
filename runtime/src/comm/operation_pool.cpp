#include "comm/operation_pool.hpp"

#include <stdexcept>
#include <string>

namespace hilo::detail {

namespace {
// Each block starts with the address of its pool, so that release() (called from operator
// delete, which gets nothing but the object's address) knows where it goes. A whole max_align_t
// keeps the object after it as aligned as plain new would.
constexpr std::size_t header_bytes = alignof(std::max_align_t);
static_assert(header_bytes >= sizeof(OperationPool*));

OperationPool*& pool_of(void* block) {
  return *static_cast<OperationPool**>(block);
}
}  // namespace

OperationPool::OperationPool() {
  kept_.reserve(max_kept);  // so that release() never allocates
}

void* OperationPool::allocate(std::size_t bytes) {
  if (bytes > block_bytes)
    throw std::logic_error("hilo: internal error: an operation of " + std::to_string(bytes) +
                           " bytes does not fit an OperationPool block");
  void* block = nullptr;
  {
    std::lock_guard lock(mutex_);
    ++outstanding_;
    if (!kept_.empty()) {
      block = kept_.back();
      kept_.pop_back();
    }
  }
  if (!block) {
    try {
      block = ::operator new(header_bytes + block_bytes);
    } catch (...) {
      std::lock_guard lock(mutex_);
      --outstanding_;
      throw;
    }
  }
  pool_of(block) = this;
  return static_cast<std::byte*>(block) + header_bytes;
}

void OperationPool::release(void* object) noexcept {
  if (!object) return;
  void* block = static_cast<std::byte*>(object) - header_bytes;
  OperationPool* pool = pool_of(block);
  bool free_block = false, free_pool = false;
  {
    std::lock_guard lock(pool->mutex_);
    --pool->outstanding_;
    if (pool->closed_ || pool->kept_.size() >= max_kept) {
      free_block = true;
    } else {
      pool->kept_.push_back(block);  // kept_ has room: reserved up to max_kept, never throws
    }
    free_pool = pool->closed_ && pool->outstanding_ == 0;
  }
  if (free_block) ::operator delete(block);
  if (free_pool) delete pool;
}

void OperationPool::close() noexcept {
  bool free_pool = false;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    free_pool = outstanding_ == 0;
  }
  if (free_pool) delete this;
}

OperationPool::~OperationPool() {
  for (void* block : kept_) ::operator delete(block);
}

}  // namespace hilo::detail
