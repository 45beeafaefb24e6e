// The barrier, broadcast, reduce, gather, all-gather and scatter algorithms by name
// (hilo/comm/detail/algorithms/, reduce.hpp, all_gather.hpp), as all_reduce_test.cpp runs the
// all-reduces: every algorithm over 1, 2, 3, 4, 5, 7 and 8 ranks, from every kind of root (first,
// middle, last), with values of zero, one, an odd number and many elements, and values that differ
// by rank and by position, so a block in the wrong place, lost or counted twice shows. Also the
// pipelined all-reduces and reduce-scatter with segments small enough that the lengths tried fall
// on and around segment boundaries. And the hierarchical all-reduce under host maps of every
// shape: one host, a host per rank, even and uneven hosts, hosts whose ranks interleave.
#include <hilo/comm/detail/algorithms.hpp>
#include <hilo/comm/detail/reduce_scatter.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "local_ranks.hpp"

namespace {

using std::int64_t;

constexpr int rank_counts[] = {1, 2, 3, 4, 5, 7, 8};
constexpr std::size_t lengths[] = {0, 1, 3, 1000, 70001};

hilo::Deadline a_minute() {
  return hilo::Deadline::after(std::chrono::seconds(60));
}

// Runs fn(transport) on p ranks and checks that every rank succeeded.
template <class Fn>
void on_ranks(int p, Fn fn) {
  const std::vector<std::string> failures = hilo::testing_support::run_on_local_ranks(p, fn);
  for (int r = 0; r < p; ++r) {
    INFO("rank " << r << ": " << failures[r]);
    CHECK(failures[r].empty());
  }
}

// The first, a middle and the last rank, each once.
std::set<int> roots_for(int p) {
  return {0, p / 2, p - 1};
}

// Element i of rank r's vector: tells ranks and positions apart.
int64_t element(int r, std::size_t i) {
  return static_cast<int64_t>(r) * 1000003 + static_cast<int64_t>(i);
}
std::vector<int64_t> vector_of(int r, std::size_t n) {
  std::vector<int64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = element(r, i);
  return v;
}
// A serialized value of a length that differs by rank.
std::string text_of(int r) {
  return "rank " + std::to_string(r) + std::string(r, '+');
}

// What rank r finds wrong in two reduces to `root` of vector_of(q, n) over p ranks, by plus
// (`sum`) and by the larger (`largest`): no result off the root, the right elements on it.
std::size_t wrong_sum_and_largest(int r, int root, int p, std::size_t n,
                                  const std::optional<std::vector<int64_t>>& sum,
                                  const std::optional<std::vector<int64_t>>& largest) {
  if (r != root) return sum.has_value() + largest.has_value();
  if (!sum || !largest || sum->size() != n || largest->size() != n) return 1;
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < n; ++i) {
    int64_t expected = 0;
    for (int q = 0; q < p; ++q) expected += element(q, i);
    wrong += (*sum)[i] != expected;
    wrong += (*largest)[i] != element(p - 1, i);
  }
  return wrong;
}

void check_none_wrong(const std::vector<std::size_t>& wrong) {
  for (std::size_t r = 0; r < wrong.size(); ++r) {
    INFO("rank " << r);
    CHECK(wrong[r] == 0);
  }
}

// Runs body(t, wrong, p, root, n) on p ranks for every rank count, root and length; the body
// adds to wrong[t.rank()] whatever its rank finds wrong, and every rank must find nothing.
template <class Body>
void for_every_root_and_length(Body body) {
  for (int p : rank_counts) {
    for (int root : roots_for(p)) {
      for (std::size_t n : lengths) {
        INFO("p = " << p << ", root = " << root << ", n = " << n);
        std::vector<std::size_t> wrong(p);
        on_ranks(p, [&](hilo::Transport& t) { body(t, wrong, p, root, n); });
        check_none_wrong(wrong);
      }
    }
  }
}

}  // namespace

TEST_CASE("dissemination_barrier: no rank leaves a round before every rank has arrived") {
  for (int p : rank_counts) {
    INFO("p = " << p);
    constexpr int rounds = 5;
    std::atomic<int> arrived{0};
    std::vector<std::size_t> wrong(p);
    on_ranks(p, [&](hilo::Transport& t) {
      const int r = t.rank();
      for (int round = 0; round < rounds; ++round) {
        // The higher ranks come late, so a barrier that lets a rank through early would have
        // it see fewer arrivals than (round + 1) * p.
        std::this_thread::sleep_for(std::chrono::milliseconds(r));
        arrived.fetch_add(1);
        hilo::detail::dissemination_barrier(t, a_minute());
        wrong[r] += arrived.load() < (round + 1) * p;
      }
    });
    check_none_wrong(wrong);
  }
}

TEST_CASE("binomial_broadcast from every kind of root, of vectors, strings and numbers") {
  for_every_root_and_length(
      [](hilo::Transport& t, std::vector<std::size_t>& wrong, int /*p*/, int root, std::size_t n) {
        const int r = t.rank();
        // Every other rank starts with a value of another length, which must be replaced.
        std::vector<int64_t> v = r == root ? vector_of(root, n) : std::vector<int64_t>(r + 2, -1);
        std::string text = r == root ? text_of(root) + std::string(n % 7, '*') : "stale";
        int64_t number = r == root ? element(root, n) : -1;
        hilo::detail::binomial_broadcast(t, v, root, a_minute());
        hilo::detail::binomial_broadcast(t, text, root, a_minute());
        hilo::detail::binomial_broadcast(t, number, root, a_minute());
        wrong[r] += v != vector_of(root, n);
        wrong[r] += text != text_of(root) + std::string(n % 7, '*');
        wrong[r] += number != element(root, n);
      });
}

TEST_CASE("binomial_reduce to every kind of root, with the library's loop and the user's") {
  for_every_root_and_length(
      [](hilo::Transport& t, std::vector<std::size_t>& wrong, int p, int root, std::size_t n) {
        const int r = t.rank();
        std::plus<> plus;
        auto larger = [](int64_t a, int64_t b) { return a < b ? b : a; };
        auto sum = hilo::detail::binomial_reduce(t, vector_of(r, n), plus, root, a_minute());
        auto biggest = hilo::detail::binomial_reduce(t, vector_of(r, n), larger, root, a_minute());
        // A vector of strings goes element-wise through the user's operation, serialized.
        auto longest = [](const std::string& a, const std::string& b) {
          return a.size() < b.size() ? b : a;
        };
        auto text = hilo::detail::binomial_reduce(t, std::vector<std::string>(n % 5, text_of(r)),
                                                  longest, root, a_minute());
        wrong[r] += wrong_sum_and_largest(r, root, p, n, sum, biggest);
        if (r != root)
          wrong[r] += text.has_value();
        else
          wrong[r] += !text || *text != std::vector<std::string>(n % 5, text_of(p - 1));
      });
}

TEST_CASE("linear_gather to every kind of root: every rank's value in its place") {
  for_every_root_and_length([](hilo::Transport& t, std::vector<std::size_t>& wrong, int p, int root,
                               std::size_t n) {
    const int r = t.rank();
    auto vectors = hilo::detail::linear_gather(t, vector_of(r, n), root, a_minute());
    auto texts = hilo::detail::linear_gather(t, text_of(r), root, a_minute());
    if (r != root) {
      wrong[r] += !vectors.empty() + !texts.empty();
      return;
    }
    wrong[r] += vectors.size() != static_cast<std::size_t>(p);
    wrong[r] += texts.size() != static_cast<std::size_t>(p);
    for (int q = 0;
         q < p && q < static_cast<int>(vectors.size()) && q < static_cast<int>(texts.size()); ++q) {
      wrong[r] += vectors[q] != vector_of(q, n);
      wrong[r] += texts[q] != text_of(q);
    }
  });
}

TEST_CASE("gather_broadcast_all_gather: every rank gets every rank's value in its place") {
  for (int p : rank_counts) {
    for (std::size_t n : lengths) {
      INFO("p = " << p << ", n = " << n);
      std::vector<std::size_t> wrong(p);
      on_ranks(p, [&](hilo::Transport& t) {
        const int r = t.rank();
        // Vectors of lengths that differ by rank: n + r elements.
        auto vectors =
            hilo::detail::gather_broadcast_all_gather(t, vector_of(r, n + r), a_minute());
        auto texts = hilo::detail::gather_broadcast_all_gather(t, text_of(r), a_minute());
        auto numbers = hilo::detail::gather_broadcast_all_gather(t, element(r, n), a_minute());
        wrong[r] += vectors.size() != static_cast<std::size_t>(p);
        wrong[r] += texts.size() != static_cast<std::size_t>(p);
        wrong[r] += numbers.size() != static_cast<std::size_t>(p);
        if (wrong[r] != 0) return;
        for (int q = 0; q < p; ++q) {
          wrong[r] += vectors[q] != vector_of(q, n + q);
          wrong[r] += texts[q] != text_of(q);
          wrong[r] += numbers[q] != element(q, n);
        }
      });
      check_none_wrong(wrong);
    }
  }
}

TEST_CASE("linear_scatter from every kind of root: each rank gets its own value") {
  for_every_root_and_length([](hilo::Transport& t, std::vector<std::size_t>& wrong, int p, int root,
                               std::size_t n) {
    const int r = t.rank();
    std::vector<std::vector<int64_t>> vectors;
    std::vector<std::string> texts;
    if (r == root) {  // only the root's values are read
      for (int q = 0; q < p; ++q) {
        vectors.push_back(vector_of(q, n + q));
        texts.push_back(text_of(q));
      }
    }
    wrong[r] += hilo::detail::linear_scatter(t, vectors, root, a_minute()) != vector_of(r, n + r);
    wrong[r] += hilo::detail::linear_scatter(t, texts, root, a_minute()) != text_of(r);
  });
}

TEST_CASE("recursive_doubling_all_reduce of vectors of strings, by the user's operation") {
  for (int p : rank_counts) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
      INFO("p = " << p << ", n = " << n);
      std::vector<std::size_t> wrong(p);
      on_ranks(p, [&](hilo::Transport& t) {
        const int r = t.rank();
        auto longest = [](const std::string& a, const std::string& b) {
          return a.size() < b.size() ? b : a;
        };
        std::vector<std::string> acc(n, text_of(r));
        hilo::detail::recursive_doubling_all_reduce(t, acc, longest, a_minute());
        wrong[r] += acc != std::vector<std::string>(n, text_of(p - 1));
      });
      check_none_wrong(wrong);
    }
  }
}

// With min_segment_bytes = 64, a step of c int64 elements goes in segments of
// max(64, 8c / 4) / 8 + 1 elements (9 for c < 32), so vector lengths of 0 to 80 put the steps'
// lengths on, just below and just above segment boundaries.
TEST_CASE("the pipelined algorithms with small segments, around segment boundaries") {
  const hilo::detail::PipelineOptions small_segments{64};
  const hilo::DataType int64_type = hilo::data_type_of<int64_t>();
  for (int p : rank_counts) {
    if (p == 1) continue;  // the vector all-reduces need p > 1 (can_run)
    for (std::size_t n = 0; n <= 80; ++n) {
      INFO("p = " << p << ", n = " << n);
      std::vector<std::size_t> wrong(p);
      on_ranks(p, [&](hilo::Transport& t) {
        const int r = t.rank();
        std::plus<> plus;
        const hilo::detail::Combiner combine = hilo::detail::combiner_for<int64_t>(plus);
        std::vector<int64_t> in = vector_of(r, n), ring(n, -1), halving(n, -1);
        auto as_bytes = [&](std::vector<int64_t>& out) {
          return hilo::detail::VectorBytes{reinterpret_cast<const std::byte*>(in.data()),
                                           reinterpret_cast<std::byte*>(out.data()), n, int64_type};
        };
        hilo::detail::ring_all_reduce(t, as_bytes(ring), combine, small_segments, a_minute());
        const hilo::detail::AllReduceShape shape{true, n, sizeof(int64_t), p, false};
        const bool halving_runs =
            hilo::detail::can_run(hilo::detail::AllReduceAlgorithm::halving_doubling, shape);
        if (halving_runs)
          hilo::detail::halving_doubling_all_reduce(t, as_bytes(halving), combine, small_segments,
                                                    a_minute());
        // The reduce-scatter of p blocks of n elements: block b of rank q is vector_of(q + b).
        std::vector<int64_t> blocks, mine(n, -1);
        for (int b = 0; b < p; ++b) {
          const std::vector<int64_t> block = vector_of(r + b, n);
          blocks.insert(blocks.end(), block.begin(), block.end());
        }
        hilo::detail::ring_reduce_scatter(t, reinterpret_cast<const std::byte*>(blocks.data()),
                                          reinterpret_cast<std::byte*>(mine.data()), n, int64_type,
                                          combine, small_segments, a_minute());
        for (std::size_t i = 0; i < n; ++i) {
          int64_t all = 0, block_r = 0;
          for (int q = 0; q < p; ++q) {
            all += element(q, i);
            block_r += element(q + r, i);
          }
          wrong[r] += ring[i] != all;
          wrong[r] += halving_runs && halving[i] != all;
          wrong[r] += mine[i] != block_r;
        }
      });
      check_none_wrong(wrong);
    }
  }
}

namespace {

// Host maps for p ranks, as Transport::host_map gives them (equal numbers share a host): one
// host; a host per rank; two ranks per host; ranks alternating between two hosts; three on one
// host and the rest on another (3+1 at p = 4); one, one, then the rest (1+1+2 at p = 4); and
// numbers that are neither small nor in order.
std::vector<std::vector<int>> host_maps_for(int p) {
  std::vector<std::vector<int>> maps(7, std::vector<int>(p));
  for (int r = 0; r < p; ++r) {
    maps[0][r] = 0;
    maps[1][r] = r;
    maps[2][r] = r / 2;
    maps[3][r] = r % 2;
    maps[4][r] = r < 3 ? 0 : 1;
    maps[5][r] = r < 2 ? r : 2;
    maps[6][r] = 40 - 7 * (r / 3);
  }
  return maps;
}

}  // namespace

TEST_CASE("hierarchical_all_reduce under every shape of host map, in segments and whole") {
  const hilo::DataType int64_type = hilo::data_type_of<int64_t>();
  for (int p : rank_counts) {
    for (const std::vector<int>& host_map : host_maps_for(p)) {
      for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t(p - 1), std::size_t(p + 1),
                            std::size_t{1000}, std::size_t{70001}}) {
        for (const hilo::detail::PipelineOptions options :
             {hilo::detail::PipelineOptions{64}, hilo::detail::PipelineOptions{}}) {
          INFO("p = " << p << ", host map " << host_map[0] << ".." << host_map[p - 1] << " ("
                      << host_map.size() << " ranks), n = " << n
                      << ", segments of >= " << options.min_segment_bytes << " bytes");
          std::vector<std::size_t> wrong(p);
          on_ranks(p, [&](hilo::Transport& t) {
            const int r = t.rank();
            std::plus<> plus;                                                  // the library's loop
            auto larger = [](int64_t a, int64_t b) { return a < b ? b : a; };  // the user's
            const std::vector<int64_t> in = vector_of(r, n);
            std::vector<int64_t> sum(n, -1), largest = in;  // into another vector, and in place
            hilo::detail::hierarchical_all_reduce(
                t, host_map,
                {reinterpret_cast<const std::byte*>(in.data()),
                 reinterpret_cast<std::byte*>(sum.data()), n, int64_type},
                hilo::detail::combiner_for<int64_t>(plus), options, a_minute());
            hilo::detail::hierarchical_all_reduce(
                t, host_map,
                {reinterpret_cast<const std::byte*>(largest.data()),
                 reinterpret_cast<std::byte*>(largest.data()), n, int64_type},
                hilo::detail::combiner_for<int64_t>(larger), options, a_minute());
            for (std::size_t i = 0; i < n; ++i) {
              int64_t all = 0;
              for (int q = 0; q < p; ++q) all += element(q, i);
              wrong[r] += sum[i] != all;
              wrong[r] += largest[i] != element(p - 1, i);
            }
          });
          check_none_wrong(wrong);
        }
      }
    }
  }
}

TEST_CASE("hierarchical_all_reduce names a host map of the wrong length") {
  // Each rank's error comes back to this thread (Catch's assertions are not thread-safe).
  const std::vector<std::string> failures =
      hilo::testing_support::run_on_local_ranks(2, [&](hilo::Transport& t) {
        const std::vector<int> host_map{0, 0, 1};
        std::vector<int64_t> v(8, 1);
        std::plus<> plus;
        hilo::detail::hierarchical_all_reduce(
            t, host_map,
            {reinterpret_cast<const std::byte*>(v.data()), reinterpret_cast<std::byte*>(v.data()),
             v.size(), hilo::data_type_of<int64_t>()},
            hilo::detail::combiner_for<int64_t>(plus), {}, a_minute());
      });
  for (const std::string& failure : failures)
    CHECK(failure ==
          "hilo: the hierarchical all-reduce was given a host map of 3 ranks for a communicator "
          "of 2");
}

TEST_CASE("every reduce algorithm, by name, to every kind of root") {
  using hilo::detail::ReduceAlgorithm;
  for (ReduceAlgorithm algorithm :
       {ReduceAlgorithm::binomial, ReduceAlgorithm::reduce_scatter_gather}) {
    for (int p : rank_counts) {
      for (int root : roots_for(p)) {
        for (std::size_t n : lengths) {
          const hilo::detail::ReduceShape shape{true, n, sizeof(int64_t), p};
          if (!hilo::detail::can_run(algorithm, shape)) continue;
          INFO(hilo::detail::name_of(algorithm)
               << ", p = " << p << ", root = " << root << ", n = " << n);
          REQUIRE(hilo::detail::choose_reduce(shape, algorithm) == algorithm);
          std::vector<std::size_t> wrong(p);
          on_ranks(p, [&](hilo::Transport& t) {
            const int r = t.rank();
            std::plus<> plus;                                                  // the library's loop
            auto larger = [](int64_t a, int64_t b) { return a < b ? b : a; };  // the user's
            auto sum = hilo::detail::reduce(t, vector_of(r, n), plus, root, a_minute(), algorithm);
            auto biggest =
                hilo::detail::reduce(t, vector_of(r, n), larger, root, a_minute(), algorithm);
            wrong[r] += wrong_sum_and_largest(r, root, p, n, sum, biggest);
          });
          check_none_wrong(wrong);
        }
      }
    }
  }
}

TEST_CASE("the reduce's choice: binomial unless another is named where it can run") {
  using hilo::detail::choose_reduce;
  using hilo::detail::ReduceAlgorithm;
  using hilo::detail::ReduceShape;
  CHECK(choose_reduce(ReduceShape{true, 1 << 20, 8, 4}) == ReduceAlgorithm::binomial);
  CHECK(choose_reduce(ReduceShape{true, 1, 8, 4}, ReduceAlgorithm::reduce_scatter_gather) ==
        ReduceAlgorithm::reduce_scatter_gather);
  // Values that are not contiguous vectors, and one rank, have the binomial tree only.
  CHECK(choose_reduce(ReduceShape{false, 1 << 20, 8, 4}, ReduceAlgorithm::reduce_scatter_gather) ==
        ReduceAlgorithm::binomial);
  CHECK(choose_reduce(ReduceShape{true, 1 << 20, 8, 1}, ReduceAlgorithm::reduce_scatter_gather) ==
        ReduceAlgorithm::binomial);
}

TEST_CASE("HILO_REDUCE names the algorithm; a wrong name lists the right ones") {
  using hilo::detail::ReduceAlgorithm;
  ::setenv("HILO_REDUCE", "reduce_scatter_gather", 1);
  CHECK(hilo::detail::reduce_algorithm_from_environment() ==
        ReduceAlgorithm::reduce_scatter_gather);
  ::setenv("HILO_REDUCE", "binomial", 1);
  CHECK(hilo::detail::reduce_algorithm_from_environment() == ReduceAlgorithm::binomial);
  ::setenv("HILO_REDUCE", "tree", 1);
  CHECK_THROWS_WITH(hilo::detail::reduce_algorithm_from_environment(),
                    "hilo: HILO_REDUCE='tree' is not a reduce algorithm; use one of automatic, "
                    "binomial, reduce_scatter_gather");
  ::unsetenv("HILO_REDUCE");
  CHECK(hilo::detail::reduce_algorithm_from_environment() == ReduceAlgorithm::automatic);
}

namespace {

// A value of one size that is not a number: its bytes go as they are.
struct Sample {
  int64_t id;
  double weight;
  char tag[5];
  bool operator==(const Sample&) const = default;
};

// all_gather of `value_of(r)` by `algorithm` on p ranks: every rank gets every rank's value in its
// place.
template <class T, class ValueOf>
void check_all_gather(hilo::detail::AllGatherAlgorithm algorithm, int p, ValueOf value_of) {
  std::vector<std::size_t> wrong(p);
  on_ranks(p, [&](hilo::Transport& t) {
    const int r = t.rank();
    const std::vector<T> all = hilo::detail::all_gather(t, value_of(r), a_minute(), algorithm);
    wrong[r] += all.size() != static_cast<std::size_t>(p);
    for (int q = 0; q < p && q < static_cast<int>(all.size()); ++q)
      wrong[r] += all[q] != value_of(q);
  });
  check_none_wrong(wrong);
}

template <std::size_t N>
std::array<int64_t, N> array_of(int r) {
  std::array<int64_t, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = element(r, i);
  return a;
}

}  // namespace

TEST_CASE("every all-gather algorithm, by name, for values of one size") {
  using hilo::detail::AllGatherAlgorithm;
  for (AllGatherAlgorithm algorithm :
       {AllGatherAlgorithm::gather_broadcast, AllGatherAlgorithm::ring}) {
    for (int p : rank_counts) {
      const hilo::detail::AllGatherShape shape{true, p};
      if (!hilo::detail::can_run(algorithm, shape)) continue;
      INFO(hilo::detail::name_of(algorithm) << ", p = " << p);
      REQUIRE(hilo::detail::choose_all_gather(shape, algorithm) == algorithm);
      check_all_gather<int64_t>(algorithm, p, [](int r) { return element(r, 7); });
      check_all_gather<std::array<int64_t, 1>>(algorithm, p, array_of<1>);
      check_all_gather<std::array<int64_t, 3>>(algorithm, p, array_of<3>);
      check_all_gather<std::array<int64_t, 70001>>(algorithm, p, array_of<70001>);
      check_all_gather<Sample>(algorithm, p, [](int r) {
        return Sample{element(r, 1), 0.5 * r, {'a', 'b', static_cast<char>('0' + r), 'd', 'e'}};
      });
    }
  }
}

TEST_CASE("the all-gather's choice: gather_broadcast unless the ring is named where it can run") {
  using hilo::detail::AllGatherAlgorithm;
  using hilo::detail::AllGatherShape;
  using hilo::detail::choose_all_gather;
  CHECK(choose_all_gather(AllGatherShape{true, 8}) == AllGatherAlgorithm::gather_broadcast);
  CHECK(choose_all_gather(AllGatherShape{true, 8}, AllGatherAlgorithm::ring) ==
        AllGatherAlgorithm::ring);
  // Values whose size may differ by rank, and one rank, have gather_broadcast only.
  CHECK(choose_all_gather(AllGatherShape{false, 8}, AllGatherAlgorithm::ring) ==
        AllGatherAlgorithm::gather_broadcast);
  CHECK(choose_all_gather(AllGatherShape{true, 1}, AllGatherAlgorithm::ring) ==
        AllGatherAlgorithm::gather_broadcast);
}

TEST_CASE("HILO_ALLGATHER names the algorithm; a wrong name lists the right ones") {
  using hilo::detail::AllGatherAlgorithm;
  ::setenv("HILO_ALLGATHER", "ring", 1);
  CHECK(hilo::detail::all_gather_algorithm_from_environment() == AllGatherAlgorithm::ring);
  ::setenv("HILO_ALLGATHER", "gather_broadcast", 1);
  CHECK(hilo::detail::all_gather_algorithm_from_environment() ==
        AllGatherAlgorithm::gather_broadcast);
  ::setenv("HILO_ALLGATHER", "bruck", 1);
  CHECK_THROWS_WITH(hilo::detail::all_gather_algorithm_from_environment(),
                    "hilo: HILO_ALLGATHER='bruck' is not an all-gather algorithm; use one of "
                    "automatic, gather_broadcast, ring");
  ::unsetenv("HILO_ALLGATHER");
  CHECK(hilo::detail::all_gather_algorithm_from_environment() == AllGatherAlgorithm::automatic);
}
