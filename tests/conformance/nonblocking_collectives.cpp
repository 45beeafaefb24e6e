// The nonblocking collectives (ibarrier, ibroadcast, iall_reduce, iall_gather, iall_to_all):
// results, order with the blocking collectives, progress without the caller polling, errors and
// time limits. Every case's name starts "nonblocking collective", so a run that cannot have
// hilo's worker thread call MPI (HILO_MPI_THREADS=single) can skip them together.
#include <chrono>
#include <functional>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "user_types.hpp"

using conformance::contains;
using conformance::left;
using conformance::right;

using namespace std::chrono_literals;

CONFORMANCE_CASE("nonblocking collective results: every kind, every operation, wait_all") {
  const int p = c.size(), r = c.rank();
  std::vector<hilo::Request> requests;
  requests.push_back(c.ibarrier());
  int x = r == 0 ? 42 : -1;
  requests.push_back(c.ibroadcast(x, 0));
  conformance::Order order;
  if (r == p - 1) order = conformance::make_order(7);
  requests.push_back(c.ibroadcast(order, p - 1));
  const double one = 1.0;
  double sum = 0;
  requests.push_back(c.iall_reduce(one, sum, std::plus<>{}));
  const std::vector<long> v(1000, r);
  std::vector<long> v_sum;
  requests.push_back(c.iall_reduce(v, v_sum, std::plus<>{}));
  const int rank_value = r;
  int biggest = -1;
  requests.push_back(
      c.iall_reduce(rank_value, biggest, [](int a, int b) { return a > b ? a : b; }));
  const std::string name = "rank" + std::to_string(r);
  std::vector<std::string> names;
  requests.push_back(c.iall_gather(name, names));
  std::vector<int> ranks;
  requests.push_back(c.iall_gather(rank_value, ranks));
  std::vector<int> to_each(p), from_each;
  for (int q = 0; q < p; ++q) to_each[q] = 1000 * r + q;
  requests.push_back(c.iall_to_all(to_each, from_each));
  std::vector<std::string> strings(p), strings_back;
  for (int q = 0; q < p; ++q) strings[q] = std::string(static_cast<std::size_t>(q + r), 's');
  requests.push_back(c.iall_to_all(strings, strings_back));
  hilo::wait_all(requests);
  EXPECT(x == 42);
  EXPECT(order == conformance::make_order(7));
  EXPECT(sum == p);
  EXPECT(v_sum == std::vector<long>(1000, static_cast<long>(p) * (p - 1) / 2));
  EXPECT(biggest == p - 1);
  EXPECT(names.size() == static_cast<std::size_t>(p) &&
         names.back() == "rank" + std::to_string(p - 1));
  std::vector<int> all(p);
  std::iota(all.begin(), all.end(), 0);
  EXPECT(ranks == all);
  for (int q = 0; q < p; ++q) {
    EXPECT(from_each[q] == 1000 * q + r);
    EXPECT(strings_back[q] == std::string(static_cast<std::size_t>(r + q), 's'));
  }
}

CONFORMANCE_CASE("nonblocking collective order: mixed with blocking ones, many in flight") {
  const int p = c.size(), r = c.rank();
  // Blocking collectives called while nonblocking ones are in flight go after them on every
  // rank; many in flight at once complete in any order of waiting.
  std::vector<int> values(50), results(50, -1);
  std::vector<hilo::Request> requests;
  for (int i = 0; i < 50; ++i) {
    values[i] = i * (r + 1);
    requests.push_back(c.iall_reduce(values[i], results[i], std::plus<>{}));
    if (i % 10 == 0) EXPECT(c.all_reduce(i, std::plus<>{}) == i * p);
  }
  for (int i = 49; i >= 0; --i) requests[i].wait();
  for (int i = 0; i < 50; ++i) EXPECT(results[i] == i * p * (p + 1) / 2);
}

CONFORMANCE_CASE("nonblocking collective progresses while the caller does something else") {
  // The worker (or MPI) moves it: the caller never polls, it waits on a point-to-point message
  // that the last rank sends only once its own ibarrier has completed, which needs every rank.
  const int p = c.size(), r = c.rank(), last = p - 1;
  std::vector<long> big(1 << 18, r), sum;
  hilo::Request reduce = c.iall_reduce(big, sum, std::plus<>{});
  hilo::Request barrier = c.ibarrier();
  if (r == last) {
    barrier.wait(hilo::within(30s));
    for (int q = 0; q < last; ++q) c.send(q, 9, 1);
  } else {
    EXPECT(c.recv<int>(last, 9, hilo::within(30s)) == 1);
    EXPECT(barrier.test() || barrier.wait(hilo::within(30s)).source == -1);
  }
  reduce.wait(hilo::within(30s));
  EXPECT(sum.size() == big.size() && sum[0] == static_cast<long>(p) * (p - 1) / 2);
}

CONFORMANCE_CASE("nonblocking collective: wait honours its limit, and the collective goes on") {
  const int p = c.size(), r = c.rank(), last = p - 1;
  if (p < 2) return;
  // The last rank joins only once every other rank's wait has run out (and told it so).
  if (r != last) {
    hilo::Request barrier = c.ibarrier();
    auto m = EXPECT_THROWS_AS(hilo::Timeout, barrier.wait(hilo::within(100ms)));
    EXPECT(contains(m, "on rank " + std::to_string(r)));
    EXPECT(!barrier.test());
    c.send(last, 11, r);
    barrier.wait(hilo::within(30s));
  } else {
    for (int q = 0; q < last; ++q) c.recv<int>(q, 11, hilo::within(30s));
    c.ibarrier().wait(hilo::within(30s));
  }
}

CONFORMANCE_CASE("nonblocking collective: a request dropped at once still completes") {
  // Values with no native MPI form, so this holds on every backend: the worker runs them.
  const int p = c.size(), r = c.rank();
  std::string x = r == 0 ? "from root" : "";
  { hilo::Request dropped = c.ibroadcast(x, 0); }
  // The blocking collective runs after it: by then x holds root's value.
  c.barrier();
  EXPECT(x == "from root");
  std::vector<std::string> result;
  const std::vector<std::string> mine(p, std::to_string(r));
  { hilo::Request dropped = c.iall_to_all(mine, result); }
  c.barrier();
  EXPECT(result.size() == static_cast<std::size_t>(p) && result[p - 1] == std::to_string(p - 1));
}

CONFORMANCE_CASE("nonblocking collective survives its communicator being moved or destroyed") {
  const int p = c.size(), r = c.rank();
  const int mine = r + 1;
  int sum = 0, product = 0;
  hilo::Request pending;
  {
    hilo::Communicator first = c.dup();
    pending = first.iall_reduce(mine, sum, std::plus<>{});
    hilo::Communicator moved = std::move(first);  // the queue moves with it
    EXPECT(moved.all_reduce(1, std::plus<>{}) == p);
    // Dropped at once: the communicator's destruction runs it to its end (a lambda, which has
    // no native MPI form, so the worker runs it on every backend).
    hilo::Request dropped = moved.iall_reduce(mine, product, [](int a, int b) { return a * b; });
  }
  pending.wait(hilo::within(30s));
  EXPECT(sum == p * (p + 1) / 2);
  int factorial = 1;
  for (int q = 2; q <= p; ++q) factorial *= q;
  EXPECT(product == factorial);
}
