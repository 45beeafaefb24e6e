// sample_sort: a distributed sample sort of N random 64-bit keys, the exchange collectives'
// example (KaMPIng's headline example, with hilo). Each rank makes its share of the keys and:
//
//   1. sorts them (std::ranges::sort);
//   2. picks size()-1 regular samples, and gather_v brings every rank's samples to rank 0;
//   3. rank 0 sorts the samples and picks size()-1 splitters, which broadcast hands to all;
//   4. cuts its sorted keys at the splitters into one bucket per rank: all_to_all tells each
//      rank how many keys it will get from each, then all_to_all_v moves the buckets;
//   5. merges the sorted runs it received (std::inplace_merge), and holds its part of the
//      sorted sequence.
//
// Then a global check: exscan of the ranks' key counts gives each rank the offset of its first
// key in the sorted sequence (on the last rank, offset + count must be N); sendrecv with the
// neighbours compares the keys on both sides of each boundary between ranks; every key must be
// sorted and within its rank's splitters; and the count and a checksum of all keys must be those
// of the input, so a key lost or duplicated on the way is caught.
//
//   sample_sort                       10^7 keys over all ranks, seed 1
//   sample_sort --n 1000000 --seed 7
//
// Rank 0 prints one summary line a script can check, and the program exits 1 if a check fails:
//   sample_sort: OK keys=10000000 ranks=4 hosts=vm seconds=0.52
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <hilo/hilo.hpp>

#include "example_support.hpp"

namespace {

using Key = std::uint64_t;

// Keys per rank must fit the int counts of all_to_all_v, even on one rank.
constexpr std::uint64_t largest_n = 1'000'000'000;
constexpr std::uint64_t default_n = 10'000'000;

struct Options {
  std::uint64_t n = default_n;
  std::uint64_t seed = 1;
};

constexpr const char* usage =
    "usage: sample_sort [--n N] [--seed S]\n"
    "  --n N     sort N random 64-bit keys across all ranks (1 to 10^9, default 10^7)\n"
    "  --seed S  the keys' seed (0 to 2^64-1, default 1): the same N and S give the same\n"
    "            keys whatever the number of ranks\n";

// Throws std::invalid_argument saying what is wrong.
Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--n") {
      options.n =
          hilo_examples::parse_count(arg, hilo_examples::option_value(argc, argv, i), 1, largest_n);
    } else if (arg == "--seed") {
      options.seed = hilo_examples::parse_count(arg, hilo_examples::option_value(argc, argv, i), 0,
                                                std::numeric_limits<std::uint64_t>::max());
    } else {
      throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
    }
  }
  return options;
}

// SplitMix64: a well-mixed 64-bit value for each input; the keys and the checksum use it.
Key mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

// Key number i of the whole input is mix(seed + i): this rank makes the keys of its contiguous
// share of the indices, so the input depends on N and the seed only.
std::vector<Key> make_keys(const Options& options, int ranks, int rank) {
  const std::uint64_t base = options.n / ranks, extra = options.n % ranks;
  const auto r = static_cast<std::uint64_t>(rank);
  const std::uint64_t first = r * base + std::min(r, extra);
  std::vector<Key> keys(base + (r < extra ? 1 : 0));
  for (std::uint64_t i = 0; i < keys.size(); ++i) keys[i] = mix(options.seed + first + i);
  return keys;
}

// What a lost or duplicated key changes: the count and an order-independent sum of the keys'
// hashes (wrapping, as unsigned arithmetic and MPI_SUM on uint64 do).
std::vector<std::uint64_t> count_and_checksum(const std::vector<Key>& keys) {
  std::uint64_t checksum = 0;
  for (Key k : keys) checksum += mix(k);
  return {keys.size(), checksum};
}

// Steps 2 and 3: size()-1 splitters, the same on every rank, cutting the keys into size()
// buckets of about the same size. Every rank with keys offers size()-1 regular samples of its
// sorted keys; rank 0 picks the splitters at regular places among all the samples.
std::vector<Key> choose_splitters(hilo::Communicator& world, const std::vector<Key>& sorted) {
  const std::size_t p = world.size();
  std::vector<Key> samples;
  if (!sorted.empty())
    for (std::size_t i = 1; i < p; ++i) samples.push_back(sorted[i * sorted.size() / p]);
  std::vector<Key> all_samples = world.gather_v(samples, 0);
  std::vector<Key> splitters;
  if (world.rank() == 0) {
    std::ranges::sort(all_samples);
    // N >= 1, so some rank had keys and offered p-1 samples: there are enough.
    for (std::size_t i = 1; i < p; ++i)
      splitters.push_back(all_samples[i * all_samples.size() / p]);
  }
  world.broadcast(splitters, 0);  // resized to rank 0's length on the other ranks
  return splitters;
}

// Step 4's cut: bucket j holds the keys k with splitters[j-1] < k <= splitters[j] (no lower
// bound for the first bucket, no upper for the last), so the buckets are in order.
std::vector<int> bucket_counts(const std::vector<Key>& sorted, const std::vector<Key>& splitters) {
  std::vector<int> counts;
  auto from = sorted.begin();
  for (Key splitter : splitters) {
    auto to = std::upper_bound(from, sorted.end(), splitter);
    counts.push_back(static_cast<int>(to - from));
    from = to;
  }
  counts.push_back(static_cast<int>(sorted.end() - from));
  return counts;
}

// Step 5: the received runs, each sorted, merged pairwise until one is left. `starts` holds
// where each run begins, then the end.
void merge_runs(std::vector<Key>& keys, std::vector<std::size_t> starts) {
  while (starts.size() > 2) {
    std::vector<std::size_t> merged;
    for (std::size_t i = 0; i + 1 < starts.size(); i += 2) {
      merged.push_back(starts[i]);
      if (i + 2 < starts.size())
        std::inplace_merge(keys.begin() + starts[i], keys.begin() + starts[i + 1],
                           keys.begin() + starts[i + 2]);
    }
    merged.push_back(starts.back());
    starts = std::move(merged);
  }
}

// The sort itself, steps 1 to 5: returns this rank's part of the sorted sequence.
std::vector<Key> sample_sort(hilo::Communicator& world, std::vector<Key> keys,
                             std::vector<Key>& splitters) {
  std::ranges::sort(keys);
  splitters = choose_splitters(world, keys);
  const std::vector<int> send_counts = bucket_counts(keys, splitters);
  const std::vector<int> recv_counts = world.all_to_all(send_counts);
  std::vector<Key> received(
      std::accumulate(recv_counts.begin(), recv_counts.end(), std::size_t{0}));
  world.all_to_all_v(keys, send_counts, received, recv_counts);
  std::vector<std::size_t> starts{0};
  for (int count : recv_counts) starts.push_back(starts.back() + static_cast<std::size_t>(count));
  merge_runs(received, std::move(starts));
  return received;
}

// What a rank tells its right-hand neighbour about its keys for the boundary check.
struct Edge {
  std::uint64_t count;
  Key last;  // meaningful when count > 0
};

// The global check. Every rank takes part in each collective whatever it finds (so none is left
// waiting), and returns "" if its part is right, else what is wrong.
std::string check(hilo::Communicator& world, const std::vector<Key>& mine,
                  const std::vector<Key>& splitters, const std::vector<std::uint64_t>& input_sums,
                  std::uint64_t n) {
  const int p = world.size(), r = world.rank();
  // Where this rank's keys start in the sorted sequence.
  const std::uint64_t offset =
      world.exscan(static_cast<std::uint64_t>(mine.size()), std::plus<>{}).value_or(0);
  // The boundary: each rank hands its right-hand neighbour its last key (around a ring, so that
  // every rank sends and receives once; rank 0 ignores what comes from the last rank).
  const Edge edge{mine.size(), mine.empty() ? 0 : mine.back()};
  const Edge left = world.sendrecv((r + 1) % p, 1, edge, (r + p - 1) % p, 1);
  // The count and checksum of every rank's keys together.
  const std::vector<std::uint64_t> output_sums =
      world.all_reduce(count_and_checksum(mine), std::plus<>{});

  const std::string on_rank = "rank " + std::to_string(r) + ": ";
  if (!std::ranges::is_sorted(mine)) return on_rank + "its keys are not sorted";
  if (!mine.empty() &&
      ((r > 0 && mine.front() <= splitters[r - 1]) || (r < p - 1 && mine.back() > splitters[r])))
    return on_rank + "a key lies outside the rank's splitters";
  if (r > 0 && left.count > 0 && !mine.empty() && left.last > mine.front())
    return on_rank + "key " + std::to_string(offset) + " of the sorted sequence is smaller than " +
           "the key before it, on rank " + std::to_string(r - 1);
  if (r == p - 1 && offset + mine.size() != n)
    return on_rank + "the sorted sequence ends at key " + std::to_string(offset + mine.size()) +
           ", not " + std::to_string(n);
  if (output_sums[0] != input_sums[0])
    return on_rank + "the ranks hold " + std::to_string(output_sums[0]) + " keys, not " +
           std::to_string(input_sums[0]);
  if (output_sums[1] != input_sums[1])
    return on_rank + "the keys' checksum differs from the input's (a key lost or duplicated)";
  return "";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  int rank = 0;
  try {
    hilo::Runtime runtime(argc, argv);
    hilo::Communicator& world = runtime.world();
    rank = world.rank();

    const std::optional<Options> options =
        hilo_examples::parse_options(parse, argc, argv, world, "sample_sort", usage);
    if (!options) return 2;

    const std::vector<std::string> host_of_rank = world.gather(hilo_examples::this_host(), 0);
    std::vector<Key> keys = make_keys(*options, world.size(), rank);
    const std::vector<std::uint64_t> input_sums =
        world.all_reduce(count_and_checksum(keys), std::plus<>{});

    world.barrier();  // the time is the sort's, from when every rank has its keys
    const auto start = std::chrono::steady_clock::now();
    std::vector<Key> splitters;
    const std::vector<Key> sorted = sample_sort(world, std::move(keys), splitters);
    world.barrier();
    const double seconds = seconds_since(start);

    const std::string problem = check(world, sorted, splitters, input_sums, options->n);
    const std::vector<std::string> problems = world.gather(problem, 0);
    if (rank != 0) return 0;
    for (const std::string& p : problems) {
      if (!p.empty()) {
        std::printf("sample_sort: FAILED %s\n", p.c_str());
        return 1;
      }
    }
    std::printf("sample_sort: OK keys=%llu ranks=%d hosts=%s seconds=%.2f\n",
                static_cast<unsigned long long>(options->n), world.size(),
                hilo_examples::host_list(host_of_rank).c_str(), seconds);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "sample_sort: FAILED on rank %d: %s\n", rank, error.what());
    return 1;
  }
}
