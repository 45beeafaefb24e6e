// The scan algorithms by name (hilo/comm/detail/scan.hpp), as all_reduce_test.cpp runs the
// all-reduces: each over every rank count from 1 to 7, inclusive and exclusive, values of zero to
// many elements, not only where the choice would pick it; their rule for vectors of different
// lengths; and the one function that chooses.
#include <hilo/comm/detail/algorithms/tags.hpp>
#include <hilo/comm/detail/scan.hpp>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "catch.hpp"
#include "local_ranks.hpp"

namespace {

using hilo::detail::ScanAlgorithm;
using std::int64_t;

const hilo::Deadline a_minute = hilo::Deadline::after(std::chrono::seconds(60));

constexpr ScanAlgorithm every_algorithm[] = {ScanAlgorithm::chain,
                                             ScanAlgorithm::recursive_doubling};

// Runs fn on p ranks and checks that no rank failed (the cases catch what they expect).
template <class Fn>
void on_ranks(int p, Fn fn) {
  std::vector<std::string> failures = hilo::testing_support::run_on_local_ranks(p, fn);
  for (int r = 0; r < p; ++r) {
    INFO("rank " << r << ": " << failures[r]);
    CHECK(failures[r].empty());
  }
}

// Concatenation is associative but not commutative: any fold out of rank order shows.
std::string token(int rank, std::size_t i) {
  return std::to_string(rank) + "." + std::to_string(i) + ",";
}

}  // namespace

TEST_CASE("every scan algorithm, by name, over 1 to 7 ranks, inclusive and exclusive") {
  for (ScanAlgorithm algorithm : every_algorithm) {
    for (int p = 1; p <= 7; ++p) {
      for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{70001}}) {
        INFO(hilo::detail::name_of(algorithm) << ", p = " << p << ", n = " << n);
        std::vector<std::size_t> wrong(p);
        on_ranks(p, [&](hilo::Transport& t) {
          const int r = t.rank();
          auto scan = [&](const auto& mine, auto& out, auto op, bool exclusive) {
            return hilo::detail::scan(t, mine, out, op, exclusive, a_minute, algorithm);
          };
          // Numbers: element i of rank q is q * n + i, so the prefix sums are known in closed form.
          std::vector<int64_t> numbers(n), sums(5, -1), before{-7};
          for (std::size_t i = 0; i < n; ++i) numbers[i] = r * int64_t(n) + int64_t(i);
          wrong[r] += !scan(numbers, sums, std::plus<>{}, false);
          const bool written = scan(numbers, before, std::plus<>{}, true);
          wrong[r] += written != (r != 0);
          for (std::size_t i = 0; i < n; ++i) {
            const int64_t upto = int64_t(r) * (r + 1) / 2 * int64_t(n) + (r + 1) * int64_t(i);
            wrong[r] += sums.size() != n || sums[i] != upto;
            if (r > 0) wrong[r] += before[i] != upto - numbers[i];
          }
          wrong[r] += sums.size() != n;
          if (r == 0)
            wrong[r] += before != std::vector<int64_t>{-7};  // untouched
          else
            wrong[r] += before.size() != n;
          // Vectors of strings (serialized), concatenated element-wise in rank order.
          const std::size_t words = n < 100 ? n : 100;
          std::vector<std::string> mine(words), joined, prefix{"untouched"};
          for (std::size_t i = 0; i < words; ++i) mine[i] = token(r, i);
          auto concatenate = [](const std::string& a, const std::string& b) { return a + b; };
          scan(mine, joined, concatenate, false);
          const bool has_prefix = scan(mine, prefix, concatenate, true);
          wrong[r] += joined.size() != words || has_prefix != (r != 0);
          for (std::size_t i = 0; i < words && joined.size() == words; ++i) {
            std::string expected;
            for (int q = 0; q < r; ++q) expected += token(q, i);
            if (r > 0) wrong[r] += prefix.size() != words || prefix[i] != expected;
            wrong[r] += joined[i] != expected + token(r, i);
          }
          if (r == 0) wrong[r] += prefix != std::vector<std::string>{"untouched"};
          // A value that is not a vector: one string, concatenated.
          std::string text, text_before = "untouched";
          scan(token(r, 0), text, concatenate, false);
          scan(token(r, 0), text_before, concatenate, true);
          std::string expected;
          for (int q = 0; q < r; ++q) expected += token(q, 0);
          wrong[r] += text != expected + token(r, 0);
          wrong[r] += text_before != (r == 0 ? "untouched" : expected);
        });
        for (int r = 0; r < p; ++r) CHECK(wrong[r] == 0);
      }
    }
  }
}

TEST_CASE(
    "a scan of vectors whose lengths differ: every rank from the first differing one "
    "raises naming both ranks, the ranks before it get their result") {
  for (ScanAlgorithm algorithm : every_algorithm) {
    for (int p = 2; p <= 7; ++p) {
      for (int first = 1; first < p; ++first) {
        for (bool exclusive : {false, true}) {
          INFO(hilo::detail::name_of(algorithm) << ", p = " << p << ", first differing rank "
                                                << first << (exclusive ? ", exclusive" : ""));
          std::vector<std::string> errors(p);
          std::vector<std::size_t> wrong(p);
          on_ranks(p, [&](hilo::Transport& t) {
            const int r = t.rank();
            // Ranks before `first` contribute 3 elements, `first` 4, and the later ones 4 or 2
            // (more mismatches after the first, which must not change the message).
            const std::size_t n = r < first ? 3 : (r == first ? 4 : (r % 2 ? 2 : 4));
            std::vector<int64_t> mine(n, r + 1), out{-1};
            std::plus<> plus;
            try {
              hilo::detail::scan(t, mine, out, plus, exclusive, a_minute, algorithm);
              const int64_t upto = int64_t(r + 1) * (r + 2) / 2;
              if (exclusive && r == 0)
                wrong[r] += out != std::vector<int64_t>{-1};
              else
                wrong[r] += out != std::vector<int64_t>(3, exclusive ? upto - (r + 1) : upto);
            } catch (const hilo::Error& e) {
              errors[r] = e.what();
            }
            // Nothing is left over to confuse the scan that follows.
            std::vector<int64_t> again;
            hilo::detail::scan(t, std::vector<int64_t>{1}, again, plus, false, a_minute, algorithm);
            wrong[r] += again != std::vector<int64_t>{r + 1};
          });
          const std::string both = "rank " + std::to_string(first - 1) +
                                   " contributed 3 elements, rank " + std::to_string(first) +
                                   " contributed 4";
          for (int r = 0; r < p; ++r) {
            INFO("rank " << r << ": " << errors[r]);
            CHECK(wrong[r] == 0);
            if (r < first)
              CHECK(errors[r].empty());
            else
              CHECK(errors[r].find(both) != std::string::npos);
          }
        }
      }
    }
  }
}

TEST_CASE(
    "a scan that meets another collective's message says the ranks are in different "
    "collectives") {
  for (ScanAlgorithm algorithm : every_algorithm) {
    INFO(hilo::detail::name_of(algorithm));
    std::string error;
    on_ranks(2, [&](hilo::Transport& t) {
      const std::vector<int> mine{1, 2};
      if (t.rank() == 0) {  // in a broadcast, say, where rank 1 is in a scan
        t.send(1, hilo::detail::tags::broadcast, mine.data(), sizeof(int) * mine.size(),
               hilo::data_type_of<int>(), a_minute);
        return;
      }
      std::vector<int> out;
      std::plus<> plus;
      try {
        hilo::detail::scan(t, mine, out, plus, false, a_minute, algorithm);
      } catch (const hilo::Error& e) {
        error = e.what();
      }
    });
    CHECK(error.find("rank 0 sent a message of another collective") != std::string::npos);
  }
}

TEST_CASE("a length mismatch of vectors of elements larger than the mismatch message") {
  // 40-byte elements: the mismatch goes padded to whole elements of the vector's own type.
  using Wide = std::array<double, 5>;
  auto add = [](const Wide& a, const Wide& b) {
    Wide sum{};
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = a[i] + b[i];
    return sum;
  };
  for (ScanAlgorithm algorithm : every_algorithm) {
    INFO(hilo::detail::name_of(algorithm));
    std::vector<std::string> errors(3);
    on_ranks(3, [&](hilo::Transport& t) {
      const std::vector<Wide> mine(t.rank() == 0 ? 2 : 1, Wide{1, 2, 3, 4, 5});
      std::vector<Wide> out;
      try {
        hilo::detail::scan(t, mine, out, add, false, a_minute, algorithm);
      } catch (const hilo::Error& e) {
        errors[t.rank()] = e.what();
      }
    });
    CHECK(errors[0].empty());
    for (int r : {1, 2})
      CHECK(errors[r].find("rank 0 contributed 2 elements, rank 1 contributed 1") !=
            std::string::npos);
  }
}

TEST_CASE("the scan choice by the number of ranks, and a named algorithm at any") {
  using hilo::detail::chain_scan_max_ranks;
  using hilo::detail::choose_scan;
  CHECK(choose_scan(2) == ScanAlgorithm::chain);
  CHECK(choose_scan(chain_scan_max_ranks) == ScanAlgorithm::chain);
  CHECK(choose_scan(chain_scan_max_ranks + 1) == ScanAlgorithm::recursive_doubling);
  CHECK(choose_scan(2, ScanAlgorithm::recursive_doubling) == ScanAlgorithm::recursive_doubling);
  CHECK(choose_scan(64, ScanAlgorithm::chain) == ScanAlgorithm::chain);
}

TEST_CASE("HILO_SCAN names the algorithm; a wrong name lists the right ones") {
  ::setenv("HILO_SCAN", "recursive_doubling", 1);
  CHECK(hilo::detail::scan_algorithm_from_environment() == ScanAlgorithm::recursive_doubling);
  ::setenv("HILO_SCAN", "chain", 1);
  CHECK(hilo::detail::scan_algorithm_from_environment() == ScanAlgorithm::chain);
  ::setenv("HILO_SCAN", "fastest", 1);
  CHECK_THROWS_WITH(hilo::detail::scan_algorithm_from_environment(),
                    "hilo: HILO_SCAN='fastest' is not a scan algorithm; use one of automatic, "
                    "chain, recursive_doubling");
  ::unsetenv("HILO_SCAN");
  CHECK(hilo::detail::scan_algorithm_from_environment() == ScanAlgorithm::automatic);
}
