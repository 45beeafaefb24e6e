#include "comm/operation_pool.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {

using hilo::detail::OperationPool;
using hilo::detail::PooledOperation;

// Counts live objects, so a test sees every destructor run.
std::atomic<int> live{0};

struct Base {
  virtual ~Base() = default;
};

struct Small final : Base, PooledOperation {
  explicit Small(int v) : value(v) { ++live; }
  ~Small() override { --live; }
  int value;
  char padding[40] = {};
};

struct Throws final : Base, PooledOperation {
  Throws() { throw std::runtime_error("constructor failed"); }
};

struct TooBig final : Base, PooledOperation {
  char bytes[OperationPool::block_bytes + 1] = {};
};

}  // namespace

TEST_CASE("a pooled object is built, used and destroyed through its base", "[operation_pool]") {
  OperationPool::Owner pool;
  {
    std::unique_ptr<Base> object(new (*pool) Small(7));
    REQUIRE(live == 1);
    REQUIRE(dynamic_cast<Small&>(*object).value == 7);
    REQUIRE(reinterpret_cast<std::uintptr_t>(object.get()) % alignof(std::max_align_t) == 0);
  }
  REQUIRE(live == 0);
}

TEST_CASE("a returned block is handed out again", "[operation_pool]") {
  OperationPool::Owner pool;
  void* first = nullptr;
  {
    std::unique_ptr<Base> object(new (*pool) Small(1));
    first = object.get();
  }
  std::unique_ptr<Base> again(new (*pool) Small(2));
  REQUIRE(static_cast<void*>(again.get()) == first);
  // Two outstanding at once never share a block.
  std::unique_ptr<Base> other(new (*pool) Small(3));
  REQUIRE(other.get() != again.get());
}

TEST_CASE("objects may outlive the pool's owner", "[operation_pool]") {
  std::vector<std::unique_ptr<Base>> survivors;
  {
    OperationPool::Owner pool;
    for (int i = 0; i < 10; ++i) survivors.emplace_back(new (*pool) Small(i));
  }  // the owner is gone; the pool lives until its last block comes back
  REQUIRE(live == 10);
  for (int i = 0; i < 10; ++i) REQUIRE(dynamic_cast<Small&>(*survivors[i]).value == i);
  survivors.clear();  // ASan/LSan in the sanitizer presets catch a leak or a use after free here
  REQUIRE(live == 0);
}

TEST_CASE("a constructor that throws gives its block back", "[operation_pool]") {
  OperationPool::Owner pool;
  REQUIRE_THROWS_AS(std::unique_ptr<Base>(new (*pool) Throws()), std::runtime_error);
  std::unique_ptr<Base> next(new (*pool) Small(5));
  REQUIRE(dynamic_cast<Small&>(*next).value == 5);
}

TEST_CASE("an object larger than a block is refused", "[operation_pool]") {
  OperationPool::Owner pool;
  REQUIRE_THROWS_AS(std::unique_ptr<Base>(new (*pool) TooBig()), std::logic_error);
}

TEST_CASE("threads take and return blocks concurrently", "[operation_pool]") {
  OperationPool::Owner pool;
  std::atomic<int> overwritten{0};  // objects whose value another thread's object replaced
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&pool, &overwritten, t] {
      std::vector<std::unique_ptr<Base>> window;
      for (int round = 0; round < 200; ++round) {
        for (int i = 0; i < 64; ++i) window.emplace_back(new (*pool) Small(t * 1000 + i));
        for (int i = 0; i < 64; ++i)
          if (dynamic_cast<Small&>(*window[i]).value != t * 1000 + i) ++overwritten;
        window.clear();
      }
    });
  for (auto& thread : threads) thread.join();
  REQUIRE(overwritten == 0);
  REQUIRE(live == 0);
}

TEST_CASE("blocks another thread releases are handed out again", "[operation_pool]") {
  OperationPool::Owner pool;
  std::vector<std::unique_ptr<Base>> window;
  std::set<void*> first;
  for (int i = 0; i < 64; ++i) {
    window.emplace_back(new (*pool) Small(i));
    first.insert(window.back().get());
  }
  std::jthread([&window] { window.clear(); }).join();
  REQUIRE(live == 0);
  for (int i = 0; i < 64; ++i) {
    window.emplace_back(new (*pool) Small(i));
    REQUIRE(first.count(window.back().get()) == 1);
  }
}

// The local backend's pattern: the owning thread allocates while the peer's thread (or its own
// later) releases. Under the tsan preset this checks that a block's reuse is ordered after its
// last use by the releasing thread.
TEST_CASE("one thread allocates while another releases", "[operation_pool]") {
  OperationPool::Owner pool;
  constexpr int objects = 20000;
  std::mutex mutex;
  std::vector<std::unique_ptr<Base>> handed_over;
  std::atomic<bool> done{false};
  int wrong = 0;
  std::jthread releaser([&] {
    for (;;) {
      std::vector<std::unique_ptr<Base>> batch;
      {
        std::lock_guard lock(mutex);
        batch.swap(handed_over);
      }
      for (auto& object : batch)
        if (dynamic_cast<Small&>(*object).padding[0] != static_cast<char>(1)) ++wrong;
      batch.clear();  // released here, on this thread
      if (done.load() && batch.empty()) {
        std::lock_guard lock(mutex);
        if (handed_over.empty()) return;
      }
      std::this_thread::yield();
    }
  });
  for (int i = 0; i < objects; ++i) {
    std::unique_ptr<Base> object(new (*pool) Small(i));
    dynamic_cast<Small&>(*object).padding[0] = 1;
    std::lock_guard lock(mutex);
    handed_over.push_back(std::move(object));
  }
  done.store(true);
  releaser.join();
  REQUIRE(wrong == 0);
  REQUIRE(live == 0);
}
