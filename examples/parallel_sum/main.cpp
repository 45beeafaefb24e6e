// parallel_sum: the seed's Pool.map sum, distributed. The numbers 1..n are split between the
// ranks; each rank splits its share between the threads of a hilo::ThreadPool (map, as Python's
// Pool.map), and reduce adds the ranks' sums on rank 0, which checks the total against the
// closed form n(n+1)/2. Sums are exact for any n this accepts (128-bit: n(n+1)/2 passes 2^64
// from n of about 6*10^9 on).
//
//   parallel_sum                           n = 10^9, 2 threads per rank
//   parallel_sum --n 10000000000 --threads 4
//   parallel_sum --list 100000,200000,300000,400000    the seed's output: each value summed on
//                                          some rank, the results gathered in input order
//
// Rank 0 prints one summary line a script can check, and the program exits 1 if a sum is wrong:
//   parallel_sum: OK total=... expected=... n=... ranks=4 threads=2 hosts=vm seconds=0.52
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <hilo/hilo.hpp>

#include "example_support.hpp"

namespace {

// Wide enough for n(n+1) with n up to 10^12. (__extension__: GCC's 128-bit integer is not ISO.)
__extension__ typedef unsigned __int128 Exact;

constexpr std::uint64_t largest_n = 1'000'000'000'000;
constexpr std::uint64_t default_n = 1'000'000'000;

struct Options {
  std::uint64_t n = default_n;
  int threads = 2;
  std::vector<std::uint64_t> list;  // non-empty: --list mode
};

constexpr const char* usage =
    "usage: parallel_sum [--n N] [--threads T] [--list N1,N2,...]\n"
    "  --n N        sum 1..N across all ranks (1 to 10^12, default 10^9)\n"
    "  --threads T  threads per rank (1 to 256, default 2)\n"
    "  --list ...   instead: the sum 1..Ni of each value, one value per rank at a\n"
    "               time, printed on rank 0 in input order (Python's Pool.map)\n";

std::vector<std::uint64_t> parse_list(std::string_view text) {
  std::vector<std::uint64_t> values;
  while (true) {
    const std::size_t comma = text.find(',');
    values.push_back(hilo_examples::parse_count("--list", text.substr(0, comma), 0, largest_n));
    if (comma == std::string_view::npos) return values;
    text.remove_prefix(comma + 1);
  }
}

// Throws std::invalid_argument saying what is wrong.
Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--n") {
      options.n =
          hilo_examples::parse_count(arg, hilo_examples::option_value(argc, argv, i), 1, largest_n);
    } else if (arg == "--threads") {
      options.threads = static_cast<int>(
          hilo_examples::parse_count(arg, hilo_examples::option_value(argc, argv, i), 1, 256));
    } else if (arg == "--list") {
      options.list = parse_list(hilo_examples::option_value(argc, argv, i));
    } else {
      throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
    }
  }
  return options;
}

std::string to_decimal(Exact value) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value != 0);
  return digits;
}

Exact closed_form(std::uint64_t n) {
  return static_cast<Exact>(n) * (n + 1) / 2;
}

// The whole numbers first..last; empty when first > last.
struct Range {
  std::uint64_t first = 1;
  std::uint64_t last = 0;
};

// Piece `index` of `parts` nearly equal contiguous pieces of `whole`.
Range piece_of(Range whole, int parts, int index) {
  const std::uint64_t count = whole.last >= whole.first ? whole.last - whole.first + 1 : 0;
  const std::uint64_t base = count / parts;
  const std::uint64_t extra = count % parts;  // the first `extra` pieces get one more
  const auto i = static_cast<std::uint64_t>(index);
  const std::uint64_t begin = whole.first + i * base + std::min(i, extra);
  const std::uint64_t size = base + (i < extra ? 1 : 0);
  return {begin, begin + size - 1};
}

// Adds the numbers one by one: this is the work the ranks and threads share. Blocks of 2^16
// numbers keep the inner loop in 64 bits (a block's sum stays below 2^16 * 10^12 < 2^57),
// which the compiler vectorises; the blocks' sums are added exactly.
Exact sum_range(Range range) {
  constexpr std::uint64_t block = 1 << 16;
  Exact total = 0;
  for (std::uint64_t start = range.first; start <= range.last;) {
    const std::uint64_t end = std::min(range.last, start + (block - 1));
    std::uint64_t block_sum = 0;
    for (std::uint64_t k = start; k <= end; ++k) block_sum += k;
    total += block_sum;
    if (end == range.last) break;  // also stops before end + 1 could wrap
    start = end + 1;
  }
  return total;
}

// reduce's operation for 128-bit sums (std::plus would ask the MPI backend for a native MPI sum,
// which has no 128-bit integer type).
struct AddExactly {
  Exact operator()(Exact a, Exact b) const { return a + b; }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The sum of 1..n: each rank takes a contiguous share, splits it into one piece per thread
// and maps sum_range over the pieces; reduce adds the ranks' sums on rank 0.
int sum_one_to_n(hilo::Communicator& world, const Options& options, const std::string& hosts) {
  const auto start = std::chrono::steady_clock::now();
  const Range mine = piece_of({1, options.n}, world.size(), world.rank());
  std::vector<Range> pieces;
  for (int t = 0; t < options.threads; ++t) pieces.push_back(piece_of(mine, options.threads, t));

  hilo::ThreadPool pool(options.threads);
  Exact my_sum = 0;
  for (Exact piece_sum : pool.map(sum_range, pieces)) my_sum += piece_sum;

  const std::optional<Exact> total = world.reduce(my_sum, AddExactly{}, 0);
  if (world.rank() != 0) return 0;

  const Exact expected = closed_form(options.n);
  const bool ok = *total == expected;
  std::printf(
      "parallel_sum: %s total=%s expected=%s n=%llu ranks=%d threads=%d hosts=%s "
      "seconds=%.2f\n",
      ok ? "OK" : "FAILED", to_decimal(*total).c_str(), to_decimal(expected).c_str(),
      static_cast<unsigned long long>(options.n), world.size(), options.threads, hosts.c_str(),
      seconds_since(start));
  return ok ? 0 : 1;
}

// The seed's list: value i is summed on rank i % size (the values a rank gets go through its
// pool's map), and rank 0 gathers the results and puts them back in input order.
int sum_each_of_list(hilo::Communicator& world, const Options& options, const std::string& hosts) {
  const auto start = std::chrono::steady_clock::now();
  const std::size_t ranks = world.size();
  std::vector<Range> my_values;
  for (std::size_t i = world.rank(); i < options.list.size(); i += ranks)
    my_values.push_back({1, options.list[i]});

  hilo::ThreadPool pool(options.threads);
  const std::vector<Exact> my_sums = pool.map(sum_range, my_values);
  const std::vector<std::vector<Exact>> sums_by_rank = world.gather(my_sums, 0);
  if (world.rank() != 0) return 0;

  std::string printed = "[";
  bool ok = true;
  for (std::size_t i = 0; i < options.list.size(); ++i) {
    const Exact sum = sums_by_rank.at(i % ranks).at(i / ranks);
    ok = ok && sum == closed_form(options.list[i]);
    printed += (i == 0 ? "" : ", ") + to_decimal(sum);
  }
  std::printf("%s]\n", printed.c_str());
  std::printf("parallel_sum: %s values=%zu ranks=%d threads=%d hosts=%s seconds=%.2f\n",
              ok ? "OK" : "FAILED (a sum differs from n(n+1)/2)", options.list.size(), world.size(),
              options.threads, hosts.c_str(), seconds_since(start));
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int rank = 0;
  try {
    hilo::Runtime runtime(argc, argv);
    hilo::Communicator& world = runtime.world();
    rank = world.rank();

    const std::optional<Options> options =
        hilo_examples::parse_options(parse, argc, argv, world, "parallel_sum", usage);
    if (!options) return 2;

    const std::vector<std::string> host_of_rank = world.gather(hilo_examples::this_host(), 0);
    const std::string hosts = hilo_examples::host_list(host_of_rank);
    return options->list.empty() ? sum_one_to_n(world, *options, hosts)
                                 : sum_each_of_list(world, *options, hosts);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "parallel_sum: FAILED on rank %d: %s\n", rank, error.what());
    return 1;
  }
}
