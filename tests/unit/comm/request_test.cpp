#include <hilo/comm/request.hpp>
#include <hilo/runtime.hpp>

#include <chrono>
#include <stdexcept>

#include "catch.hpp"
#include "rank_check.hpp"

using namespace std::chrono_literals;

TEST_CASE("an empty request says so instead of waiting forever") {
  hilo::Request r;
  CHECK_FALSE(r.valid());
  CHECK_THROWS_AS(r.wait(), std::invalid_argument);
  CHECK_THROWS_AS(r.test(), std::invalid_argument);
}

TEST_CASE("wait returns the status; wait again returns it at once") {
  hilo::run_local(2, [](hilo::Communicator& c) {
    if (c.rank() == 0) {
      hilo::Request s = c.isend(1, 3, std::vector<int>{1, 2, 3});
      s.wait();
      rank_check(s.done(), "s.done()");
    } else {
      std::vector<int> v;
      hilo::Request r = c.irecv(0, 3, v);
      hilo::Status st = r.wait(hilo::within(10s));
      rank_check(st.source == 0, "st.source == 0");
      rank_check(st.tag == 3, "st.tag == 3");
      rank_check(st.bytes == 12, "st.bytes == 12");
      rank_check(r.wait().bytes == 12, "r.wait().bytes == 12");
      rank_check(v == std::vector<int>{1, 2, 3}, "v == std::vector<int>{1, 2, 3}");
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
    rank_check_throws<hilo::Timeout>([&] { hilo::wait_all(rs, hilo::within(50ms)); },
                                     "hilo::wait_all(rs, hilo::within(50ms))");
    c.barrier();
  });
}

TEST_CASE("wait_any on nothing is an error, and times out when nothing completes") {
  std::vector<hilo::Request> none;
  CHECK_THROWS_AS(hilo::wait_any(none), std::invalid_argument);
  hilo::run_local(1, [](hilo::Communicator& c) {
    int x = 0;
    std::vector<hilo::Request> rs;
    rs.push_back(c.irecv(0, 9, x));
    auto start = std::chrono::steady_clock::now();
    rank_check_throws<hilo::Timeout>([&] { hilo::wait_any(rs, hilo::within(30ms)); },
                                     "hilo::wait_any(rs, hilo::within(30ms))");
    rank_check(std::chrono::steady_clock::now() - start >= 30ms,
               "std::chrono::steady_clock::now() - start >= 30ms");
  });
}
