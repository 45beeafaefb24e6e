// The TCP engine's progress loop (runtime/src/backends/tcp/progress_loop.hpp), with a driver of
// the test's own: the progress thread hands a watched descriptor's events to the driver under
// their tag; a polling user thread reads the awaited peer directly, falls back to epoll when that
// connection is closed or the receive is from any source, and does not poll at all with a spin
// window of 0.
#include "backends/tcp/progress_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

#include "catch.hpp"
#include "comm/mailbox.hpp"
#include "common/unique_fd.hpp"

using hilo::detail::Envelope;
using hilo::detail::Mailbox;
using hilo::tcp::ProgressLoop;

namespace {

using namespace std::chrono_literals;

// Long enough that a poller never gives up before its message in these tests; they end when the
// message is there, not when this passes.
constexpr auto long_window = std::chrono::microseconds(std::chrono::seconds(30));

// An eventfd made readable on demand: a connection with bytes waiting.
struct Doorbell {
  hilo::common::UniqueFd fd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  void ring() const {
    const std::uint64_t one = 1;
    REQUIRE(::write(fd.get(), &one, sizeof one) == sizeof one);
  }
  void take() const {
    std::uint64_t value = 0;
    [[maybe_unused]] ssize_t got = ::read(fd.get(), &value, sizeof value);
  }
};

// Delivers one int message (source 0, tag 1) into `box` whenever its connection is read.
struct TestDriver final : hilo::tcp::SocketDriver {
  Mailbox box{0};
  const Doorbell* bell = nullptr;
  bool awaited_open = true;  // what read_peer finds
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::uint64_t> tags;  // handle_event's, in order (under mutex)
  std::vector<int> peers_read;      // read_peer's (under mutex)

  void deliver() {
    const int value = 42;
    auto delivery = box.begin(Envelope{0, 1, sizeof value, hilo::data_type_of<int>()});
    std::memcpy(delivery.destination, &value, sizeof value);
    box.finish(std::move(delivery));
  }
  void handle_event(std::uint64_t tag, std::uint32_t) override {
    if (bell != nullptr) bell->take();
    {
      std::lock_guard lock(mutex);
      tags.push_back(tag);
    }
    changed.notify_all();
    deliver();
  }
  bool read_peer(int world_rank) override {
    std::lock_guard lock(mutex);
    peers_read.push_back(world_rank);
    if (!awaited_open) return false;
    deliver();
    return true;
  }
  bool poll_rings() override { return false; }
  bool rings_sleep() override { return false; }
  void rings_awake() override {}
  std::optional<Clock::time_point> next_wakeup() override { return std::nullopt; }
  void expire(Clock::time_point) override {}
};

hilo::Sink int_sink(int& value) {
  return hilo::Sink{hilo::data_type_of<int>(), &value, sizeof value, {}};
}

}  // namespace

TEST_CASE("progress loop: the progress thread hands a watched descriptor's events to the driver") {
  TestDriver driver;
  Doorbell bell;
  driver.bell = &bell;
  ProgressLoop loop(driver, long_window, 0us);
  loop.watch(bell.fd.get(), 7);
  loop.start();
  bell.ring();
  {
    std::unique_lock lock(driver.mutex);
    // Bounded: a loop that never looks fails here instead of hanging the test.
    REQUIRE(driver.changed.wait_for(lock, 30s, [&] { return !driver.tags.empty(); }));
    CHECK(driver.tags.front() == 7);
  }
  loop.stop();
  loop.stop();  // idempotent
}

TEST_CASE("progress loop: a polling thread reads the awaited peer itself") {
  TestDriver driver;
  ProgressLoop loop(driver, long_window, 0us);  // no progress thread: only the poller drives
  int value = 0;
  auto receive = driver.box.post(0, 1, int_sink(value));
  loop.poll_until(*receive, 3, false);
  CHECK(receive->done());
  CHECK(value == 42);
  CHECK(driver.peers_read == std::vector<int>{3});
  CHECK(driver.tags.empty());
}

TEST_CASE("progress loop: a poller falls back to epoll for any source or a closed connection") {
  TestDriver driver;
  Doorbell bell;
  driver.bell = &bell;
  driver.awaited_open = GENERATE(true, false);
  const int awaited = driver.awaited_open ? -1 : 3;  // any source, or rank 3 whose socket closed
  CAPTURE(awaited);
  ProgressLoop loop(driver, long_window, 0us);
  loop.watch(bell.fd.get(), 5);
  int value = 0;
  auto receive = driver.box.post(0, 1, int_sink(value));
  bell.ring();
  loop.poll_until(*receive, awaited, false);
  CHECK(receive->done());
  CHECK(driver.tags == std::vector<std::uint64_t>{5});
  CHECK(driver.peers_read == (awaited < 0 ? std::vector<int>{} : std::vector<int>{3}));
}

TEST_CASE("progress loop: with a spin window of 0 a waiting thread does not poll") {
  TestDriver driver;
  ProgressLoop loop(driver, 0us, 0us);
  int value = 0;
  auto receive = driver.box.post(0, 1, int_sink(value));
  loop.poll_until(*receive, 3, false);
  CHECK_FALSE(receive->done());
  CHECK(driver.peers_read.empty());
}
