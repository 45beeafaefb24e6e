// The all-reduce algorithms by name (hilo/comm/detail/all_reduce.hpp), as Gloo's
// allreduce_test.cc runs each of its algorithms: every algorithm over every rank count from 1 to
// 8 and a spread of lengths, not only where the size thresholds would choose it; and the one
// function that chooses. (The direct algorithm needs ranks in separate processes of one host:
// tests/unit/tcp/tcp_transport_test.cpp runs it over the tcp backend. The hierarchical one needs
// a host map, which the local backend does not give: collective_algorithms_test.cpp runs it under
// made-up ones.)
#include <hilo/comm/detail/algorithms.hpp>
#include <hilo/comm/detail/all_reduce.hpp>

#include <cstdlib>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "local_ranks.hpp"

namespace {

using hilo::detail::AllReduceAlgorithm;
using hilo::detail::AllReduceShape;
using hilo::detail::choose_all_reduce;

// Runs fn(transport) on p ranks, threads of this process over the local backend, and checks
// that no rank raised.
template <class Fn>
void on_ranks(int p, Fn fn) {
  const std::vector<std::string> failures = hilo::testing_support::run_on_local_ranks(p, fn);
  for (int r = 0; r < p; ++r) {
    INFO("rank " << r << ": " << failures[r]);
    CHECK(failures[r].empty());
  }
}

// Element i of rank r's vector, and the sum over p ranks; exact in int64 and in double.
long long element(std::size_t i, int r) {
  return static_cast<long long>(i % 1000) * (r + 1) - r;
}
long long sum_over(std::size_t i, int p) {
  long long s = 0;
  for (int r = 0; r < p; ++r) s += element(i, r);
  return s;
}

// All-reduces a vector of `n` E by `algorithm` on p ranks, with std::plus (the library's loop)
// and with a lambda (the user's loop) for max, in place and into another vector.
template <class E>
void check_algorithm(AllReduceAlgorithm algorithm, int p, std::size_t n) {
  const AllReduceShape shape{true, n, sizeof(E), p, false};
  REQUIRE(choose_all_reduce(shape, algorithm) == algorithm);  // it runs by that name
  std::vector<std::size_t> wrong(p);
  on_ranks(p, [&](hilo::Transport& t) {
    const int r = t.rank();
    std::vector<E> in(n);
    for (std::size_t i = 0; i < n; ++i) in[i] = static_cast<E>(element(i, r));
    const auto deadline = hilo::Deadline::after(std::chrono::seconds(60));
    std::vector<E> sum;
    hilo::detail::all_reduce_into(t, in, sum, std::plus<>{}, deadline, algorithm);
    std::vector<E> max_in_place = in;
    auto larger = [](E a, E b) { return a < b ? b : a; };
    hilo::detail::all_reduce_into(t, max_in_place, max_in_place, larger, deadline, algorithm);
    wrong[r] += sum.size() != n || max_in_place.size() != n;
    for (std::size_t i = 0; i < n && i < sum.size() && i < max_in_place.size(); ++i) {
      long long largest = element(i, 0);
      for (int q = 1; q < p; ++q) largest = std::max(largest, element(i, q));
      wrong[r] += sum[i] != static_cast<E>(sum_over(i, p));
      wrong[r] += max_in_place[i] != static_cast<E>(largest);
    }
  });
  for (int r = 0; r < p; ++r) {
    INFO("rank " << r);
    CHECK(wrong[r] == 0);
  }
}

}  // namespace

TEST_CASE("every all-reduce algorithm, by name, over 1 to 8 ranks and a spread of lengths") {
  for (AllReduceAlgorithm algorithm :
       {AllReduceAlgorithm::recursive_doubling, AllReduceAlgorithm::ring,
        AllReduceAlgorithm::halving_doubling}) {
    for (int p = 1; p <= 8; ++p) {
      for (std::size_t n : {std::size_t{1}, std::size_t{3}, std::size_t(p), std::size_t{1000},
                            std::size_t{70001}}) {
        const AllReduceShape shape{true, n, 8, p, false};
        if (!hilo::detail::can_run(algorithm, shape)) continue;
        INFO(hilo::detail::name_of(algorithm) << ", p = " << p << ", n = " << n);
        check_algorithm<long long>(algorithm, p, n);
        check_algorithm<double>(algorithm, p, n);
      }
    }
  }
}

TEST_CASE("the choice by size, and a named algorithm where it can run") {
  auto shape = [](std::size_t bytes, int p, bool peer_memory = false) {
    return AllReduceShape{true, bytes / 4, 4, p, peer_memory};
  };
  using A = AllReduceAlgorithm;
  CHECK(choose_all_reduce(shape(4, 4)) == A::recursive_doubling);
  CHECK(choose_all_reduce(shape(hilo::detail::large_message_bytes - 4, 4)) ==
        A::recursive_doubling);
  CHECK(choose_all_reduce(shape(hilo::detail::large_message_bytes, 4)) == A::halving_doubling);
  CHECK(choose_all_reduce(shape(hilo::detail::large_message_bytes, 3)) == A::ring);
  CHECK(choose_all_reduce(shape(hilo::detail::large_message_bytes, 4, true)) ==
        A::halving_doubling);
  CHECK(choose_all_reduce(shape(hilo::detail::direct_all_reduce_min_bytes, 4, true)) == A::direct);
  // One rank has nothing to exchange, whatever is asked.
  CHECK(choose_all_reduce(shape(hilo::detail::direct_all_reduce_min_bytes, 1, true)) ==
        A::recursive_doubling);
  CHECK(choose_all_reduce(shape(1 << 20, 1), A::ring) == A::recursive_doubling);
  // Values that are not contiguous vectors have recursive doubling only.
  CHECK(choose_all_reduce(AllReduceShape{false, 1 << 20, 1, 4, true}, A::ring) ==
        A::recursive_doubling);
  // A named algorithm runs wherever it can, at any size...
  CHECK(choose_all_reduce(shape(64, 4), A::ring) == A::ring);
  CHECK(choose_all_reduce(shape(64, 4, true), A::direct) == A::direct);
  CHECK(choose_all_reduce(shape(1 << 20, 4), A::recursive_doubling) == A::recursive_doubling);
  // ... and where it cannot, the choice by size does.
  CHECK(choose_all_reduce(shape(1 << 20, 3), A::halving_doubling) == A::ring);
  CHECK(choose_all_reduce(shape(8, 4), A::halving_doubling) == A::recursive_doubling);
  CHECK(choose_all_reduce(shape(1 << 20, 4), A::direct) == A::halving_doubling);
}

TEST_CASE("the choice by hosts: hierarchical for large vectors on hosts some of which share") {
  using A = AllReduceAlgorithm;
  auto on_hosts = [](std::size_t bytes, std::vector<int> host_map) {
    AllReduceShape shape{true, bytes / 4, 4, static_cast<int>(host_map.size()), false};
    hilo::detail::count_hosts(host_map, shape);
    return shape;
  };
  const std::size_t large = hilo::detail::hierarchical_all_reduce_min_bytes;
  // Two hosts of two ranks, and uneven hosts (3+1, 1+1+2), from the threshold on.
  CHECK(choose_all_reduce(on_hosts(large, {0, 0, 1, 1})) == A::hierarchical);
  CHECK(choose_all_reduce(on_hosts(large, {0, 0, 0, 1})) == A::hierarchical);
  CHECK(choose_all_reduce(on_hosts(large, {0, 1, 2, 2})) == A::hierarchical);
  // Below it, the flat choice by size.
  CHECK(choose_all_reduce(on_hosts(large - 4, {0, 0, 1, 1})) == A::halving_doubling);
  CHECK(choose_all_reduce(on_hosts(large - 4, {0, 0, 1})) == A::ring);
  CHECK(choose_all_reduce(on_hosts(64, {0, 0, 1, 1})) == A::recursive_doubling);
  // One host, or a host per rank: nothing to keep on a host, or nothing between hosts.
  CHECK(choose_all_reduce(on_hosts(large, {0, 0, 0, 0})) == A::halving_doubling);
  CHECK(choose_all_reduce(on_hosts(large, {0, 1, 2, 3})) == A::halving_doubling);
  CHECK(choose_all_reduce(on_hosts(large, {5, 9, 7})) == A::ring);
  // count_hosts counts hosts by equal numbers, wherever their ranks are.
  const AllReduceShape counted = on_hosts(large, {3, 8, 3, 8, 3});
  CHECK(counted.hosts == 2);
  CHECK(counted.most_ranks_on_one_host == 3);
  CHECK(on_hosts(large, {}).hosts == 0);
  // Named, it runs wherever a host map is given, one host or many, at any size; not without one.
  CHECK(choose_all_reduce(on_hosts(64, {0, 0, 0, 0}), A::hierarchical) == A::hierarchical);
  CHECK(choose_all_reduce(on_hosts(64, {0, 1, 2}), A::hierarchical) == A::hierarchical);
  CHECK(choose_all_reduce(AllReduceShape{true, 1 << 20, 4, 4, false}, A::hierarchical) ==
        A::halving_doubling);
  CHECK(choose_all_reduce(on_hosts(1 << 20, {0}), A::hierarchical) == A::recursive_doubling);
}

TEST_CASE("HILO_ALLREDUCE names the algorithm; a wrong name lists the right ones") {
  ::setenv("HILO_ALLREDUCE", "ring", 1);
  CHECK(hilo::detail::all_reduce_algorithm_from_environment() == AllReduceAlgorithm::ring);
  ::setenv("HILO_ALLREDUCE", "halving_doubling", 1);
  CHECK(hilo::detail::all_reduce_algorithm_from_environment() ==
        AllReduceAlgorithm::halving_doubling);
  ::setenv("HILO_ALLREDUCE", "", 1);
  CHECK(hilo::detail::all_reduce_algorithm_from_environment() == AllReduceAlgorithm::automatic);
  ::setenv("HILO_ALLREDUCE", "fastest", 1);
  CHECK_THROWS_WITH(hilo::detail::all_reduce_algorithm_from_environment(),
                    "hilo: HILO_ALLREDUCE='fastest' is not an all-reduce algorithm; use one of "
                    "automatic, recursive_doubling, ring, halving_doubling, direct, hierarchical");
  ::unsetenv("HILO_ALLREDUCE");
  CHECK(hilo::detail::all_reduce_algorithm_from_environment() == AllReduceAlgorithm::automatic);
}

TEST_CASE("halving-doubling takes its largest step with the nearest rank, which shares its host") {
  // Launchers place neighbouring ranks on one host, so nearest first keeps the large halves off
  // the network (halving_doubling_partners).
  CHECK(hilo::detail::halving_doubling_partners(2, 1) == std::vector<int>{0});
  CHECK(hilo::detail::halving_doubling_partners(4, 0) == std::vector<int>{1, 2});
  CHECK(hilo::detail::halving_doubling_partners(4, 3) == std::vector<int>{2, 1});
  CHECK(hilo::detail::halving_doubling_partners(8, 5) == std::vector<int>{4, 7, 1});
}
