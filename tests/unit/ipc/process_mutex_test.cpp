#include "hilo/ipc/process_mutex.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "catch.hpp"
#include "fork_helpers.hpp"
#include "hilo/ipc/shared_memory.hpp"

using hilo::ipc::OwnerDied;
using hilo::ipc::ProcessMutex;
using hilo::ipc::SharedMemory;
using namespace std::chrono_literals;

namespace {

// What the tests keep in the segment after the mutex.
struct Shared {
  std::uint64_t counter;
  std::uint32_t inside;       // processes inside the critical section right now
  std::uint32_t violations;   // times a process found someone else inside
  std::uint32_t child_holds;  // set by a child once it holds the mutex
};

constexpr std::size_t kSharedOffset = 256;
static_assert(ProcessMutex::storage_bytes <= kSharedOffset);

Shared& shared_in(SharedMemory& segment) {
  return *reinterpret_cast<Shared*>(segment.bytes().data() + kSharedOffset);
}

// A child that takes the mutex, says so in shared memory, and waits to be killed. Returns its
// pid once it holds the mutex, or -1 if it never got it.
pid_t start_holder(ProcessMutex& mutex, Shared& shared) {
  std::atomic_ref<std::uint32_t>(shared.child_holds).store(0);
  pid_t holder = hilo_test::fork_child([&] {
    mutex.lock();
    std::atomic_ref<std::uint32_t>(shared.child_holds).store(1);
    for (;;) ::pause();
    return 0;
  });
  if (hilo_test::wait_for_flag(shared.child_holds, 1)) return holder;
  ::kill(holder, SIGKILL);
  hilo_test::wait_child(holder);
  return -1;
}

// Kills the holder while it holds the mutex; returns how wait_child saw it end.
int kill_holder(pid_t holder) {
  ::kill(holder, SIGKILL);
  return hilo_test::wait_child(holder);
}

}  // namespace

TEST_CASE("counter updates from several processes under the mutex add up exactly") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("mutex"), 4096);
  ProcessMutex mutex = ProcessMutex::create_in(segment, 0);
  Shared& shared = shared_in(segment);
  constexpr int kProcesses = 4;
  constexpr int kIncrements = 5000;

  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    children.push_back(hilo_test::fork_child([&] {
      // Each child attaches by name, as an unrelated process would.
      SharedMemory view = SharedMemory::open(segment.name());
      ProcessMutex attached = ProcessMutex::attach_in(view, 0);
      Shared& mine = shared_in(view);
      volatile std::uint64_t* counter = &mine.counter;
      for (int i = 0; i < kIncrements; ++i) {
        std::scoped_lock lock(attached);
        if (mine.inside != 0) ++mine.violations;
        mine.inside = 1;
        std::uint64_t seen = *counter;  // read, yield, write: loses updates without the mutex
        if (i % 64 == 0) sched_yield();
        *counter = seen + 1;
        mine.inside = 0;
      }
      return 0;
    }));
  }
  for (pid_t child : children) CHECK(hilo_test::wait_child(child) == 0);
  CHECK(shared.counter == kProcesses * kIncrements);
  CHECK(shared.violations == 0);
}

TEST_CASE("a holder killed with SIGKILL does not wedge the mutex: lock() says the owner died") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("dead"), 4096);
  ProcessMutex mutex = ProcessMutex::create_in(segment, 0);
  Shared& shared = shared_in(segment);

  pid_t holder = start_holder(mutex, shared);
  REQUIRE(holder > 0);
  CHECK_FALSE(mutex.try_lock());  // really held by the child
  CHECK(kill_holder(holder) == 128 + SIGKILL);

  CHECK_THROWS_AS(mutex.lock(), OwnerDied);
  // The exception left this process holding a consistent mutex: others are kept out...
  CHECK(hilo_test::run_in_child([&] { return mutex.try_lock() ? 1 : 0; }) == 0);
  mutex.unlock();
  // ...and after unlock it works normally again, for us and for other processes.
  CHECK(hilo_test::run_in_child([&] {
          mutex.lock();
          mutex.unlock();
          return 0;
        }) == 0);
  mutex.lock();
  mutex.unlock();
}

TEST_CASE("the header's scoped_lock + catch (OwnerDied) pattern repairs and goes on") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("pattern"), 4096);
  ProcessMutex mutex = ProcessMutex::create_in(segment, 0);
  Shared& shared = shared_in(segment);
  pid_t holder = start_holder(mutex, shared);
  REQUIRE(holder > 0);
  shared.counter = 999;  // the "half-updated" state the dead holder left
  kill_holder(holder);

  bool repaired = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      std::scoped_lock lock(mutex);
      ++shared.counter;
    } catch (const OwnerDied&) {  // scoped_lock never took it: we must unlock
      shared.counter = 0;
      repaired = true;
      mutex.unlock();
    }
  }
  CHECK(repaired);
  CHECK(shared.counter == 1);  // repaired once, then incremented once
  CHECK(mutex.try_lock());
  mutex.unlock();
}

TEST_CASE("lock_robust reports a dead owner through its return value") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("robust"), 4096);
  ProcessMutex mutex = ProcessMutex::create_in(segment, 0);
  Shared& shared = shared_in(segment);

  CHECK_FALSE(mutex.lock_robust());
  mutex.unlock();

  pid_t holder = start_holder(mutex, shared);
  REQUIRE(holder > 0);
  kill_holder(holder);
  CHECK(mutex.lock_robust());
  mutex.unlock();
  CHECK_FALSE(mutex.lock_robust());
  mutex.unlock();
}

TEST_CASE("try_lock and try_lock_for also report a dead owner, holding the mutex") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("trydead"), 4096);
  ProcessMutex mutex = ProcessMutex::create_in(segment, 0);
  Shared& shared = shared_in(segment);

  for (int use_timeout = 0; use_timeout < 2; ++use_timeout) {
    pid_t holder = start_holder(mutex, shared);
    REQUIRE(holder > 0);
    kill_holder(holder);
    if (use_timeout == 1) {
      CHECK_THROWS_AS(mutex.try_lock_for(1s), OwnerDied);
    } else {
      CHECK_THROWS_AS(mutex.try_lock(), OwnerDied);
    }
    CHECK(hilo_test::run_in_child([&] { return mutex.try_lock() ? 1 : 0; }) == 0);
    mutex.unlock();
  }
}

TEST_CASE("try_lock_for times out while another process holds the mutex, and not early") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("timeout"), 4096);
  ProcessMutex mutex = ProcessMutex::create_in(segment, 0);
  Shared& shared = shared_in(segment);

  pid_t holder = start_holder(mutex, shared);
  REQUIRE(holder > 0);
  auto start = std::chrono::steady_clock::now();
  bool got_it = mutex.try_lock_for(150ms);
  auto waited = std::chrono::steady_clock::now() - start;
  kill_holder(holder);
  CHECK_FALSE(got_it);
  CHECK(waited >= 150ms);

  // Free: try_lock_for succeeds (the dead holder is reported first, then it is a plain mutex).
  CHECK_THROWS_AS(mutex.try_lock_for(1s), OwnerDied);
  mutex.unlock();
  CHECK(mutex.try_lock_for(1s));
  mutex.unlock();
}

TEST_CASE("relocking by the holder is reported instead of deadlocking") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("relock"), 4096);
  ProcessMutex mutex = ProcessMutex::create_in(segment, 0);
  mutex.lock();
  CHECK_THROWS_AS(mutex.lock(), hilo::Error);
  CHECK_THROWS_AS(mutex.try_lock(), hilo::Error);
  CHECK_THROWS_AS(mutex.try_lock_for(10ms), hilo::Error);
  CHECK_THROWS_WITH(mutex.lock(), Catch::StartsWith("hilo: ipc::ProcessMutex::lock: this thread "
                                                    "already holds the mutex"));
  mutex.unlock();
}

TEST_CASE("unlocking a mutex one does not hold is reported") {
  if (hilo_test::under_thread_sanitizer()) {
    // TSan itself reports this deliberate misuse ("unlock of an unlocked mutex") and stops the
    // test; hilo's answer to it is checked by the release and asan runs.
    SUCCEED("skipped under ThreadSanitizer");
    return;
  }
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("misuse"), 4096);
  ProcessMutex mutex = ProcessMutex::create_in(segment, 0);
  CHECK_THROWS_AS(mutex.unlock(), hilo::Error);  // nobody holds it
  CHECK_THROWS_WITH(mutex.unlock(), Catch::StartsWith("hilo: ipc::ProcessMutex::unlock: this "
                                                      "thread does not hold the mutex"));
  // A process that does not hold it cannot unlock it either.
  mutex.lock();
  CHECK(hilo_test::run_in_child([&] {
          try {
            mutex.unlock();
          } catch (const hilo::Error&) {
            return 0;
          }
          return 1;
        }) == 0);
  mutex.unlock();
}

TEST_CASE("create_in and attach_in check what is at the offset") {
  SharedMemory segment = SharedMemory::create(hilo_test::unique_segment_name("place"), 4096);
  CHECK_THROWS_AS(ProcessMutex::attach_in(segment, 0), hilo::Error);  // nothing there yet
  ProcessMutex mutex = ProcessMutex::create_in(segment, 0);
  CHECK_THROWS_AS(ProcessMutex::create_in(segment, 0), hilo::Error);  // already there
  CHECK_THROWS_WITH(ProcessMutex::create_in(segment, 0),
                    Catch::StartsWith("hilo: ipc::ProcessMutex::create_in: segment \"") &&
                        Catch::Contains("already holds a ProcessMutex at offset 0"));
  ProcessMutex attached = ProcessMutex::attach_in(segment, 0);
  attached.lock();
  // The same mutex through both handles: another process finds it taken.
  CHECK(hilo_test::run_in_child([&] { return mutex.try_lock() ? 1 : 0; }) == 0);
  attached.unlock();

  CHECK_THROWS_AS(ProcessMutex::create_in(segment, 1), std::invalid_argument);  // misaligned
  CHECK_THROWS_WITH(ProcessMutex::create_in(segment, 1),
                    Catch::StartsWith("hilo: ipc::ProcessMutex::create_in: offset 1 is not a "
                                      "multiple of "));
  CHECK_THROWS_AS(ProcessMutex::create_in(segment, 4096), std::invalid_argument);
  CHECK_THROWS_AS(ProcessMutex::attach_in(segment, 4096 - ProcessMutex::storage_alignment),
                  std::invalid_argument);  // does not fit
  std::size_t last_offset = (4096 - ProcessMutex::storage_bytes) / ProcessMutex::storage_alignment *
                            ProcessMutex::storage_alignment;
  ProcessMutex second = ProcessMutex::create_in(segment, last_offset);
  CHECK(second.try_lock());  // an independent mutex at the end of the segment
  CHECK(mutex.try_lock());
  mutex.unlock();
  second.unlock();

  ProcessMutex moved = std::move(mutex);
  // A mistake in the calling code, as for a moved-from ChildProcess: std::logic_error.
  CHECK_THROWS_AS(mutex.lock(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_WITH(mutex.unlock(),                 // NOLINT(bugprone-use-after-move)
                    "hilo: ipc::ProcessMutex: this handle was moved from; use the one it moved to");
  CHECK(moved.try_lock());
  moved.unlock();
}
