// Deadlines for poll() (runtime/src/common/deadline.hpp), how durations are printed
// (seconds_text.hpp) and the token comparison (same_token.hpp).
#include "common/deadline.hpp"

#include <chrono>

#include "catch.hpp"
#include "common/same_token.hpp"
#include "common/seconds_text.hpp"

using namespace hilo::common;
using namespace std::chrono_literals;

TEST_CASE("deadline: a timeout too long to represent means never, not the past") {
  CHECK(deadline_after(std::chrono::milliseconds::max()) == SteadyClock::time_point::max());
  const auto before = SteadyClock::now();
  const auto deadline = deadline_after(1h);
  CHECK(deadline > before);
  CHECK(deadline != SteadyClock::time_point::max());
}

TEST_CASE("deadline: poll's timeout is -1 for never, 0 once passed, and never rounds down") {
  CHECK(poll_timeout(SteadyClock::time_point::max()) == -1);
  CHECK(poll_timeout(SteadyClock::now() - 1s) == 0);
  const int left = poll_timeout(SteadyClock::now() + 10h);
  CHECK(left > 0);
  CHECK(left <= 10 * 3600 * 1000);
  // A deadline years ahead still fits poll's int.
  CHECK(poll_timeout(SteadyClock::now() + std::chrono::hours(24 * 365 * 100)) == INT_MAX);
}

TEST_CASE("seconds text: seconds with millisecond precision") {
  CHECK(seconds_text(1500ms) == "1.500 s");
  CHECK(seconds_text(std::chrono::nanoseconds(2'000'400)) == "0.002 s");
  CHECK(seconds_text(0s) == "0.000 s");
}

TEST_CASE("same token: equal only for the same bytes of the same length") {
  CHECK(same_token("abc", "abc"));
  CHECK_FALSE(same_token("abc", "abd"));
  CHECK_FALSE(same_token("abc", "ab"));
  CHECK_FALSE(same_token("", "a"));
  CHECK(same_token("", ""));
}
