// The exchange algorithms by name (hilo/comm/detail/all_to_all.hpp, reduce_scatter.hpp,
// gather_v.hpp; the scans are in scan_algorithms_test.cpp), as all_reduce_test.cpp runs the
// all-reduces: every algorithm over every rank count from 1 to 8, with zero, small and large
// blocks, not only where the thresholds would choose it; and the one function that chooses.
#include <hilo/comm/detail/all_to_all.hpp>
#include <hilo/comm/detail/gather_v.hpp>
#include <hilo/comm/detail/reduce_scatter.hpp>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "local_ranks.hpp"

namespace {

using hilo::detail::AllToAllAlgorithm;
using std::int64_t;

const hilo::Deadline a_minute = hilo::Deadline::after(std::chrono::seconds(60));

using hilo::testing_support::run_on_local_ranks;

// Runs fn on p ranks and checks that every rank succeeded.
template <class Fn>
void on_ranks(int p, Fn fn) {
  std::vector<std::string> failures = run_on_local_ranks(p, fn);
  for (int r = 0; r < p; ++r) {
    INFO("rank " << r << ": " << failures[r]);
    CHECK(failures[r].empty());
  }
}

// Element i of the block rank `from` sends to rank `to`: tells all three apart.
int64_t element(int from, int to, std::size_t i) {
  return from * int64_t{1000000000} + to * int64_t{1000000} + static_cast<int64_t>(i);
}

const std::byte* bytes(const std::vector<int64_t>& v) {
  return reinterpret_cast<const std::byte*>(v.data());
}
std::byte* bytes(std::vector<int64_t>& v) {
  return reinterpret_cast<std::byte*>(v.data());
}

constexpr hilo::DataType int64_type = hilo::data_type_of<int64_t>();

}  // namespace

TEST_CASE("every all-to-all algorithm, by name, over 1 to 8 ranks and blocks of 0 to 5000") {
  for (AllToAllAlgorithm algorithm : {AllToAllAlgorithm::pairwise, AllToAllAlgorithm::bruck}) {
    for (int p = 1; p <= 8; ++p) {
      for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{5000}}) {
        INFO(hilo::detail::name_of(algorithm) << ", p = " << p << ", n = " << n);
        std::vector<std::size_t> wrong(p);
        on_ranks(p, [&](hilo::Transport& t) {
          const int r = t.rank();
          std::vector<int64_t> in(p * n), out(p * n, -1);
          for (int to = 0; to < p; ++to)
            for (std::size_t i = 0; i < n; ++i) in[to * n + i] = element(r, to, i);
          hilo::detail::all_to_all_blocks(
              t, hilo::detail::BlocksBytes{bytes(in), bytes(out), n, int64_type}, a_minute,
              algorithm);
          for (int from = 0; from < p; ++from)
            for (std::size_t i = 0; i < n; ++i)
              wrong[r] += out[from * n + i] != element(from, r, i);
        });
        for (int r = 0; r < p; ++r) CHECK(wrong[r] == 0);
      }
    }
  }
}

TEST_CASE("the all-to-all choice by block size, and a named algorithm at any size") {
  using A = AllToAllAlgorithm;
  using hilo::detail::bruck_max_block_bytes;
  using hilo::detail::choose_all_to_all;
  CHECK(choose_all_to_all(8, 4) == A::bruck);
  CHECK(choose_all_to_all(bruck_max_block_bytes, 7) == A::bruck);
  CHECK(choose_all_to_all(bruck_max_block_bytes + 1, 7) == A::pairwise);
  CHECK(choose_all_to_all(8, 2) == A::pairwise);  // one step either way: no extra copies
  CHECK(choose_all_to_all(1 << 20, 4, A::bruck) == A::bruck);
  CHECK(choose_all_to_all(8, 4, A::pairwise) == A::pairwise);
}

TEST_CASE("HILO_ALLTOALL names the algorithm; a wrong name lists the right ones") {
  ::setenv("HILO_ALLTOALL", "bruck", 1);
  CHECK(hilo::detail::all_to_all_algorithm_from_environment() == AllToAllAlgorithm::bruck);
  ::setenv("HILO_ALLTOALL", "pairwise", 1);
  CHECK(hilo::detail::all_to_all_algorithm_from_environment() == AllToAllAlgorithm::pairwise);
  ::setenv("HILO_ALLTOALL", "fastest", 1);
  CHECK_THROWS_WITH(hilo::detail::all_to_all_algorithm_from_environment(),
                    "hilo: HILO_ALLTOALL='fastest' is not an all-to-all algorithm; use one of "
                    "automatic, pairwise, bruck");
  ::unsetenv("HILO_ALLTOALL");
  CHECK(hilo::detail::all_to_all_algorithm_from_environment() == AllToAllAlgorithm::automatic);
}

namespace {
// How many elements rank `from` sends rank `to` in the uneven all-to-all-v cases: zeros included.
int uneven(int from, int to) {
  return (from + 2 * to) % 4 * 7;
}
}  // namespace

TEST_CASE("pairwise all-to-all-v with uneven and zero counts over 1 to 8 ranks") {
  for (int p = 1; p <= 8; ++p) {
    INFO("p = " << p);
    std::vector<std::size_t> wrong(p);
    on_ranks(p, [&](hilo::Transport& t) {
      const int r = t.rank();
      std::vector<int> send_counts(p), recv_counts(p), send_displs(p), recv_displs(p);
      for (int q = 0; q < p; ++q) {
        send_counts[q] = uneven(r, q);
        recv_counts[q] = uneven(q, r);
      }
      std::exclusive_scan(send_counts.begin(), send_counts.end(), send_displs.begin(), 0);
      std::exclusive_scan(recv_counts.begin(), recv_counts.end(), recv_displs.begin(), 0);
      std::vector<int64_t> send(std::accumulate(send_counts.begin(), send_counts.end(), 0));
      std::vector<int64_t> recv(std::accumulate(recv_counts.begin(), recv_counts.end(), 0), -1);
      for (int q = 0; q < p; ++q)
        for (int i = 0; i < send_counts[q]; ++i) send[send_displs[q] + i] = element(r, q, i);
      hilo::detail::pairwise_all_to_all_v(t, bytes(send), send_counts.data(), send_displs.data(),
                                          bytes(recv), recv_counts.data(), recv_displs.data(),
                                          int64_type, a_minute);
      for (int q = 0; q < p; ++q)
        for (int i = 0; i < recv_counts[q]; ++i)
          wrong[r] += recv[recv_displs[q] + i] != element(q, r, i);
    });
    for (int r = 0; r < p; ++r) CHECK(wrong[r] == 0);
  }
}

TEST_CASE("all-to-all-v counts that disagree are an error naming both ranks, on the receiver") {
  // Rank 0 expects one element more from rank 2 than rank 2 sends it; everything else agrees.
  const int p = 3;
  std::vector<std::string> failures = run_on_local_ranks(p, [&](hilo::Transport& t) {
    const int r = t.rank();
    std::vector<int> send_counts(p, 2), recv_counts(p, 2), displs{0, 2, 4}, recv_displs{0, 2, 4};
    if (r == 0) {
      recv_counts[2] = 3;
      recv_displs = {0, 2, 4};
    }
    std::vector<int64_t> send(6, r), recv(7, -1);
    hilo::detail::pairwise_all_to_all_v(t, bytes(send), send_counts.data(), displs.data(),
                                        bytes(recv), recv_counts.data(), recv_displs.data(),
                                        int64_type, a_minute);
  });
  CHECK(failures[0] ==
        "rank 2 sends 2 elements to rank 0, which expects 3 from it (recv_counts[2]); the counts "
        "must agree between ranks");
  CHECK(failures[1].empty());
  CHECK(failures[2].empty());
}

TEST_CASE("ring reduce-scatter over 1 to 8 ranks and blocks of 0 to 70001 elements") {
  for (int p = 1; p <= 8; ++p) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{70001}}) {
      INFO("p = " << p << ", n = " << n);
      std::vector<std::size_t> wrong(p);
      on_ranks(p, [&](hilo::Transport& t) {
        const int r = t.rank();
        std::vector<int64_t> in(p * n), sum(n, -1), biggest(n, -1);
        for (int block = 0; block < p; ++block)
          for (std::size_t i = 0; i < n; ++i) in[block * n + i] = element(r, block, i);
        const hilo::detail::PipelineOptions segments = hilo::detail::pipeline_options_for(t);
        std::plus<> plus;  // the library's loop
        hilo::detail::ring_reduce_scatter(t, bytes(in), bytes(sum), n, int64_type,
                                          hilo::detail::combiner_for<int64_t>(plus), segments,
                                          a_minute);
        auto larger = [](int64_t a, int64_t b) { return a < b ? b : a; };  // the user's loop
        hilo::detail::ring_reduce_scatter(t, bytes(in), bytes(biggest), n, int64_type,
                                          hilo::detail::combiner_for<int64_t>(larger), segments,
                                          a_minute);
        for (std::size_t i = 0; i < n; ++i) {
          int64_t expected = 0;
          for (int q = 0; q < p; ++q) expected += element(q, r, i);
          wrong[r] += sum[i] != expected;
          wrong[r] += biggest[i] != element(p - 1, r, i);
        }
      });
      for (int r = 0; r < p; ++r) CHECK(wrong[r] == 0);
    }
  }
}

TEST_CASE("pairwise reduce-scatter of vectors, element-wise, in rank order") {
  for (int p = 1; p <= 8; ++p) {
    INFO("p = " << p);
    std::vector<std::size_t> wrong(p);
    on_ranks(p, [&](hilo::Transport& t) {
      const int r = t.rank();
      std::vector<std::vector<std::string>> values(p);
      for (int q = 0; q < p; ++q) values[q] = {std::to_string(r), std::to_string(q)};
      auto concatenate = [](const std::string& a, const std::string& b) { return a + b; };
      std::vector<std::string> mine =
          hilo::detail::pairwise_reduce_scatter(t, values, concatenate, a_minute);
      std::string ranks, block;
      for (int q = 0; q < p; ++q) {
        ranks += std::to_string(q);
        block += std::to_string(r);
      }
      wrong[r] += mine != std::vector<std::string>{ranks, block};
    });
    for (int r = 0; r < p; ++r) CHECK(wrong[r] == 0);
  }
}

TEST_CASE("ring all-gather-v with uneven and zero counts over 1 to 8 ranks") {
  for (int p = 1; p <= 8; ++p) {
    INFO("p = " << p);
    std::vector<std::size_t> wrong(p);
    on_ranks(p, [&](hilo::Transport& t) {
      const int r = t.rank();
      std::vector<std::uint64_t> counts(p);
      for (int q = 0; q < p; ++q) counts[q] = q * 3 % 5 * 1000;
      std::vector<int64_t> mine(counts[r]), all(std::accumulate(counts.begin(), counts.end(), 0));
      for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = element(r, 0, i);
      hilo::detail::ring_all_gather_v(t, bytes(mine), bytes(all), counts.data(), int64_type,
                                      a_minute);
      std::size_t at = 0;
      for (int q = 0; q < p; ++q)
        for (std::size_t i = 0; i < counts[q]; ++i) wrong[r] += all[at++] != element(q, 0, i);
    });
    for (int r = 0; r < p; ++r) CHECK(wrong[r] == 0);
  }
}

TEST_CASE("linear gather-v to every root, uneven and zero counts") {
  for (int p = 1; p <= 5; ++p) {
    for (int root = 0; root < p; ++root) {
      INFO("p = " << p << ", root = " << root);
      std::vector<std::size_t> wrong(p);
      on_ranks(p, [&](hilo::Transport& t) {
        const int r = t.rank();
        std::vector<int64_t> mine(r % 3);
        for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = element(r, root, i);
        std::vector<int64_t> all =
            hilo::detail::linear_gather_v(t, std::span<const int64_t>(mine), root, a_minute);
        std::vector<int64_t> expected;
        if (r == root)
          for (int q = 0; q < p; ++q)
            for (int i = 0; i < q % 3; ++i) expected.push_back(element(q, root, i));
        wrong[r] += all != expected;
      });
      for (int r = 0; r < p; ++r) CHECK(wrong[r] == 0);
    }
  }
}
