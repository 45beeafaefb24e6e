#include <hilo/comm/request.hpp>
#include <hilo/runtime.hpp>

#include <chrono>

#include "catch.hpp"

// Catch2's assertion macros are not thread-safe, and ranks are threads: a rank reports a failed
// check by throwing, run_local rethrows it on the test's thread, and Catch2 reports it there.
#define RANK_CHECK(condition)                                                   \
  do {                                                                          \
    if (!(condition)) throw std::logic_error("rank check failed: " #condition); \
  } while (0)
#define RANK_CHECK_THROWS_AS(expression, E)         \
  do {                                              \
    bool thrown = false;                            \
    try {                                           \
      (void)(expression);                           \
    } catch (const E&) {                            \
      thrown = true;                                \
    }                                               \
    RANK_CHECK(thrown&& #expression " throws " #E); \
  } while (0)

using namespace std::chrono_literals;

TEST_CASE("an empty request says so instead of waiting forever") {
  hilo::Request r;
  CHECK_FALSE(r.valid());
  CHECK_THROWS_AS(r.wait(), hilo::Error);
  CHECK_THROWS_AS(r.test(), hilo::Error);
}

TEST_CASE("wait returns the status; wait again returns it at once") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    if (c.rank() == 0) {
      hilo::Request s = c.isend(1, 3, std::vector<int>{1, 2, 3});
      s.wait();
      RANK_CHECK(s.done());
    } else {
      std::vector<int> v;
      hilo::Request r = c.irecv(0, 3, v);
      hilo::Status st = r.wait(hilo::within(10s));
      RANK_CHECK(st.source == 0);
      RANK_CHECK(st.tag == 3);
      RANK_CHECK(st.bytes == 12);
      RANK_CHECK(r.wait().bytes == 12);
      RANK_CHECK((v == std::vector<int>{1, 2, 3}));
    }
  });
}

TEST_CASE("wait_all rethrows the first failure after waiting for every request") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    if (c.rank() != 1) {
      c.barrier();
      return;
    }
    int a = 0, b = 0;
    std::vector<hilo::Request> rs;
    rs.push_back(c.irecv(0, 1, a));
    rs.push_back(c.irecv(0, 2, b));
    RANK_CHECK_THROWS_AS(hilo::wait_all(rs, hilo::within(50ms)), hilo::Timeout);
    c.barrier();
  });
}

TEST_CASE("wait_any on nothing is an error, and times out when nothing completes") {
  std::vector<hilo::Request> none;
  CHECK_THROWS_AS(hilo::wait_any(none), hilo::Error);
  hilo::run_local(1, [](hilo::Communicator& c) {
    int x = 0;
    std::vector<hilo::Request> rs;
    rs.push_back(c.irecv(0, 9, x));
    auto start = std::chrono::steady_clock::now();
    RANK_CHECK_THROWS_AS(hilo::wait_any(rs, hilo::within(30ms)), hilo::Timeout);
    RANK_CHECK(std::chrono::steady_clock::now() - start >= 30ms);
  });
}
