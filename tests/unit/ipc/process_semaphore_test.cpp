#include "hilo/ipc/process_semaphore.hpp"

#include <semaphore.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "fork_helpers.hpp"
#include "hilo/ipc/shared_memory.hpp"

using hilo::ipc::ProcessSemaphore;
using hilo::ipc::SharedMemory;
using namespace std::chrono_literals;

namespace {

struct HolderCount {
  std::uint32_t holders;     // processes holding a unit right now
  std::uint32_t high_water;  // the most that ever held one at once
};

constexpr std::size_t kCountOffset = 256;
static_assert(ProcessSemaphore::storage_bytes <= kCountOffset);

HolderCount& count_in(SharedMemory& segment) {
  return *reinterpret_cast<HolderCount*>(segment.bytes().data() + kCountOffset);
}

}  // namespace

TEST_CASE("at most k processes hold the semaphore at once, and k do") {
  constexpr unsigned kUnits = 2;
  constexpr int kProcesses = 6;
  constexpr int kRounds = 100;
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("sem"), 4096);
  ProcessSemaphore semaphore = ProcessSemaphore::create_in(segment, 0, kUnits);

  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    children.push_back(hilo_test::fork_child([&] {
      SharedMemory view = SharedMemory::open(segment.name());
      ProcessSemaphore licences = ProcessSemaphore::attach_in(view, 0);
      HolderCount& count = count_in(view);
      std::atomic_ref<std::uint32_t> holders(count.holders);
      std::atomic_ref<std::uint32_t> high_water(count.high_water);
      for (int round = 0; round < kRounds; ++round) {
        licences.acquire();
        std::uint32_t now = holders.fetch_add(1) + 1;
        std::uint32_t seen = high_water.load();
        while (now > seen && !high_water.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(200us);
        holders.fetch_sub(1);
        licences.release();
      }
      return 0;
    }));
  }
  for (pid_t child : children) CHECK(hilo_test::wait_child(child) == 0);
  CHECK(count_in(segment).high_water == kUnits);
  CHECK(count_in(segment).holders == 0);
  CHECK(semaphore.value() == static_cast<int>(kUnits));
}

TEST_CASE("try_acquire takes only free units and release gives them back") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("try"), 4096);
  ProcessSemaphore semaphore = ProcessSemaphore::create_in(segment, 0, 3);
  CHECK(semaphore.value() == 3);
  CHECK(semaphore.try_acquire());
  CHECK(semaphore.try_acquire());
  CHECK(semaphore.try_acquire());
  CHECK_FALSE(semaphore.try_acquire());
  CHECK(semaphore.value() == 0);
  semaphore.release(2);
  CHECK(semaphore.value() == 2);
  semaphore.acquire();
  CHECK(semaphore.value() == 1);
}

TEST_CASE("try_acquire_for times out when no unit comes, and not early") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("semto"), 4096);
  ProcessSemaphore semaphore = ProcessSemaphore::create_in(segment, 0, 0);
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(semaphore.try_acquire_for(150ms));
  CHECK(std::chrono::steady_clock::now() - start >= 150ms);
}

TEST_CASE("a unit released by another process wakes a waiter") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("wake"), 4096);
  ProcessSemaphore semaphore = ProcessSemaphore::create_in(segment, 0, 0);
  pid_t releaser = hilo_test::fork_child([&] {
    std::this_thread::sleep_for(50ms);
    ProcessSemaphore::attach_in(segment, 0).release();
    return 0;
  });
  CHECK(semaphore.try_acquire_for(30s));
  CHECK(hilo_test::wait_child(releaser) == 0);
  CHECK(semaphore.value() == 0);
}

TEST_CASE("a holder that dies takes its unit with it (documented limitation)") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("semdead"), 4096);
  ProcessSemaphore semaphore = ProcessSemaphore::create_in(segment, 0, 1);
  CHECK(hilo_test::run_in_child([&] {
          semaphore.acquire();
          return 0;  // exits without release
        }) == 0);
  CHECK(semaphore.value() == 0);
  CHECK_FALSE(semaphore.try_acquire_for(50ms));  // the timeout is how a waiter finds out
}

TEST_CASE("create_in and attach_in check what is at the offset and the initial count") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("semplace"), 4096);
  CHECK_THROWS_AS(ProcessSemaphore::attach_in(segment, 0), hilo::Error);
  CHECK_THROWS_WITH(ProcessSemaphore::attach_in(segment, 0),
                    Catch::StartsWith("hilo: ipc::ProcessSemaphore::attach_in: there is no "
                                      "ProcessSemaphore at offset 0"));
  ProcessSemaphore semaphore = ProcessSemaphore::create_in(segment, 0, 1);
  CHECK_THROWS_AS(ProcessSemaphore::create_in(segment, 0, 1), hilo::Error);
  CHECK_THROWS_AS(ProcessSemaphore::create_in(segment, 3, 1), std::invalid_argument);
  CHECK_THROWS_AS(ProcessSemaphore::create_in(segment, 4096, 1), std::invalid_argument);
  CHECK_THROWS_AS(
      ProcessSemaphore::create_in(segment, 512, static_cast<unsigned>(SEM_VALUE_MAX) + 1u),
      std::invalid_argument);
  CHECK_THROWS_WITH(
      ProcessSemaphore::create_in(segment, 512, static_cast<unsigned>(SEM_VALUE_MAX) + 1u),
      Catch::StartsWith("hilo: ipc::ProcessSemaphore::create_in: initial count "));

  ProcessSemaphore full = ProcessSemaphore::create_in(segment, 512, SEM_VALUE_MAX);
  CHECK_THROWS_AS(full.release(), hilo::Error);  // past SEM_VALUE_MAX
  CHECK_THROWS_WITH(full.release(), Catch::StartsWith("hilo: ipc::ProcessSemaphore::release: the "
                                                      "count would pass SEM_VALUE_MAX"));

  ProcessSemaphore attached = ProcessSemaphore::attach_in(segment, 0);
  CHECK(attached.try_acquire());
  CHECK_FALSE(semaphore.try_acquire());  // one semaphore, two handles
  ProcessSemaphore moved = std::move(attached);
  CHECK_THROWS_AS(attached.release(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_WITH(attached.release(),                   // NOLINT(bugprone-use-after-move)
                    "hilo: ipc::ProcessSemaphore: this handle was moved from; use the one it "
                    "moved to");
  moved.release();
  CHECK(semaphore.value() == 1);
}
