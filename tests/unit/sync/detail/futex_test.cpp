// hilo's futex helpers (sync/detail/futex.hpp, internal): a futex wait is woken by a wake and
// respects its deadline; the spin helpers return as soon as their condition holds; AdaptiveSpin
// shrinks its budget while spins fail and grows it back when they succeed, within its bounds.
#include "hilo/sync/detail/futex.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include "catch.hpp"

using namespace std::chrono_literals;
using hilo::detail::AdaptiveSpin;
using hilo::detail::FutexWord;

TEST_CASE("futex_wait sleeps until the word changes and a wake comes") {
  FutexWord word{0};
  std::jthread waker([&] {
    std::this_thread::sleep_for(20ms);
    word.store(1);
    hilo::detail::futex_wake(word, 1);
  });
  while (word.load() == 0) hilo::detail::futex_wait(word, 0);
  CHECK(word.load() == 1);
}

TEST_CASE("futex_wait_until gives up at its deadline, not before; at once if the word differs") {
  FutexWord word{0};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + 20ms;
  bool woken = true;
  while (woken && std::chrono::steady_clock::now() < deadline)
    woken = hilo::detail::futex_wait_until(word, 0, deadline);
  CHECK_FALSE(woken);
  CHECK(std::chrono::steady_clock::now() >= deadline);
  CHECK(hilo::detail::futex_wait_until(word, 5, std::chrono::steady_clock::now() + 10s));
}

TEST_CASE("the spin helpers return true as soon as the condition holds, false when it never does") {
  int calls = 0;
  CHECK(hilo::detail::spin_pausing_for([&] { return ++calls == 3; }, 10s));
  CHECK(calls == 3);
  CHECK_FALSE(hilo::detail::spin_pausing_for([] { return false; }, 1us));
}

TEST_CASE("AdaptiveSpin halves its budget on failed spins and doubles it on successful ones") {
  AdaptiveSpin spin;
  for (int i = 0; i < 20; ++i) CHECK_FALSE(spin.spin([] { return false; }));
  CHECK(spin.budget() == AdaptiveSpin::min_budget);
  // Ready after a few rounds: well within even the smallest budget.
  for (int i = 0; i < 20; ++i) {
    int calls = 0;
    CHECK(spin.spin([&] { return ++calls == 3; }));
  }
  CHECK(spin.budget() >= AdaptiveSpin::max_budget);
  CHECK(spin.budget() < 2 * AdaptiveSpin::max_budget);
}

TEST_CASE("AdaptiveSpin sees a change made by another thread while it spins") {
  AdaptiveSpin spin;
  std::atomic<bool> flag{false};
  std::jthread setter([&] { flag.store(true); });
  while (!spin.spin([&] { return flag.load(); })) {
  }
  CHECK(flag.load());
}
