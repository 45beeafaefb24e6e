#include "comm/operation_pool.hpp"

#include <stdexcept>
#include <string>

namespace hilo::detail {

namespace {
// Each block starts with the address of its pool, so that release() (called from operator
// delete, which gets nothing but the object's address) knows where it goes. A whole max_align_t
// keeps the object after it as aligned as plain new would. A kept block links to the next kept
// one through the first bytes of its body.
constexpr std::size_t header_bytes = alignof(std::max_align_t);
static_assert(header_bytes >= sizeof(OperationPool*));
static_assert(OperationPool::block_bytes >= sizeof(void*));

OperationPool*& pool_of(void* block) {
  return *static_cast<OperationPool**>(block);
}
void*& next_of(void* block) {
  return *reinterpret_cast<void**>(static_cast<std::byte*>(block) + header_bytes);
}
void free_all(void* list) {
  while (list != nullptr) {
    void* next = next_of(list);
    ::operator delete(list);
    list = next;
  }
}
}  // namespace

void* OperationPool::allocate(std::size_t bytes) {
  if (bytes > block_bytes)
    throw std::logic_error("hilo: internal error: an operation of " + std::to_string(bytes) +
                           " bytes does not fit an OperationPool block");
  void* block = nullptr;
  {
    std::lock_guard lock(mutex_);
    // Acquire: the releasing threads' last uses of these blocks happen before our reuse.
    if (spare_ == nullptr) spare_ = returned_.exchange(nullptr, std::memory_order_acquire);
    if (spare_ != nullptr) {
      block = spare_;
      spare_ = next_of(block);
    }
  }
  if (block) {
    kept_.fetch_sub(1, std::memory_order_relaxed);
  } else {
    block = ::operator new(header_bytes + block_bytes);  // on failure nothing has changed
  }
  references_.fetch_add(1, std::memory_order_relaxed);  // the owner's keeps it above zero
  pool_of(block) = this;
  return static_cast<std::byte*>(block) + header_bytes;
}

void OperationPool::release(void* object) noexcept {
  if (!object) return;
  void* block = static_cast<std::byte*>(object) - header_bytes;
  OperationPool* pool = pool_of(block);
  if (pool->closed_.load(std::memory_order_acquire) ||
      pool->kept_.load(std::memory_order_relaxed) >= max_kept) {
    ::operator delete(block);
  } else {
    pool->kept_.fetch_add(1, std::memory_order_relaxed);
    // Release: our uses of the block happen before the allocating thread's next ones.
    void*& next = next_of(block);
    next = pool->returned_.load(std::memory_order_relaxed);
    while (!pool->returned_.compare_exchange_weak(next, block, std::memory_order_release,
                                                  std::memory_order_relaxed)) {
    }
  }
  pool->drop_reference();
}

void OperationPool::close() noexcept {
  closed_.store(true, std::memory_order_release);
  drop_reference();
}

void OperationPool::drop_reference() noexcept {
  // Acq_rel: every push onto returned_ happens before the destructor that frees the blocks.
  if (references_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

OperationPool::~OperationPool() {
  free_all(spare_);
  free_all(returned_.load(std::memory_order_acquire));
}

}  // namespace hilo::detail
