// Collectives: every root, scalars and vectors, native and generic operations, odd sizes, and
// large vectors that take the bandwidth-optimal algorithms.
#include <functional>
#include <numeric>
#include <string>

#include "harness.hpp"
#include "user_types.hpp"

CONFORMANCE_CASE("barrier, many times") {
  for (int i = 0; i < 200; ++i) c.barrier();
}

CONFORMANCE_CASE("barrier separates phases") {
  // Rank 0 sends after the barrier; everyone else checks nothing arrived before it.
  for (int phase = 0; phase < 20; ++phase) {
    if (c.rank() != 0) EXPECT(!c.iprobe(0, 100 + phase).has_value());
    c.barrier();
    if (c.rank() == 0)
      for (int r = 1; r < c.size(); ++r) c.send(r, 100 + phase, phase);
    if (c.rank() != 0) EXPECT(c.recv<int>(0, 100 + phase) == phase);
    c.barrier();
  }
}

CONFORMANCE_CASE("broadcast from every root: scalar, vector, string, user type") {
  for (int root = 0; root < c.size(); ++root) {
    int x = c.rank() == root ? 1000 + root : -1;
    c.broadcast(x, root);
    EXPECT(x == 1000 + root);
    std::vector<double> v;
    if (c.rank() == root) v.assign(1000 + root, root * 0.5);
    c.broadcast(v, root);
    EXPECT(v.size() == static_cast<std::size_t>(1000 + root) && v.back() == root * 0.5);
    std::string s = c.rank() == root ? "root is " + std::to_string(root) : "";
    c.broadcast(s, root);
    EXPECT(s == "root is " + std::to_string(root));
    conformance::Order o;
    if (c.rank() == root) o = conformance::make_order(root);
    c.broadcast(o, root);
    EXPECT(o == conformance::make_order(root));
  }
  std::vector<float> big(1 << 20);
  if (c.rank() == 0) std::iota(big.begin(), big.end(), 0.0f);
  c.broadcast(big, 0);
  EXPECT(big[12345] == 12345.0f);
}

CONFORMANCE_CASE("reduce to every root; nullopt elsewhere") {
  const int n = c.size();
  for (int root = 0; root < n; ++root) {
    auto sum = c.reduce(c.rank() + 1, std::plus<>{}, root);
    EXPECT(sum.has_value() == (c.rank() == root));
    if (sum) EXPECT(*sum == n * (n + 1) / 2);
    auto biggest = c.reduce(c.rank(), hilo::maximum<>{}, root);
    if (biggest) EXPECT(*biggest == n - 1);
    auto v = c.reduce(std::vector<long>{c.rank(), 1, -c.rank()}, std::plus<>{}, root);
    if (v) EXPECT((*v == std::vector<long>{n * (n - 1) / 2, n, -n * (n - 1) / 2}));
  }
}

CONFORMANCE_CASE("all_reduce: native ops, lambdas, vectors element-wise, strings") {
  const int n = c.size();
  EXPECT(c.all_reduce(1.0, std::plus<>{}) == n);
  EXPECT(c.all_reduce(c.rank() + 1, std::multiplies<>{}) == [n] {
    long f = 1;
    for (int i = 2; i <= n; ++i) f *= i;
    return f;
  }());
  EXPECT(c.all_reduce(c.rank(), hilo::minimum<>{}) == 0);
  EXPECT(c.all_reduce(c.rank() == 0, std::logical_or<>{}));
  EXPECT(c.all_reduce(1u << c.rank(), std::bit_or<>{}) == (1u << n) - 1);
  // A lambda is not an MPI op: the generic algorithm runs on every backend.
  EXPECT(c.all_reduce(c.rank(), [](int a, int b) { return a > b ? a : b; }) == n - 1);
  std::vector<int> v(3, c.rank());
  EXPECT((c.all_reduce(v, std::plus<>{}) == std::vector<int>(3, n * (n - 1) / 2)));
  // Strings reduce through the serialized path; the length proves every rank contributed.
  EXPECT(c.all_reduce(std::string(1, 'x'), std::plus<>{}).size() == static_cast<std::size_t>(n));
}

CONFORMANCE_CASE(
    "all_reduce of large vectors (ring, halving-doubling) and of fewer elements than ranks") {
  // Odd lengths split unevenly at every halving step, and the largest ones travel in several
  // segments per step, of lengths that differ between the two partners.
  for (std::size_t count : {std::size_t{2}, std::size_t{70000}, std::size_t{70001},
                            std::size_t{1} << 20, (std::size_t{1} << 20) + 3}) {
    std::vector<double> v(count);
    for (std::size_t i = 0; i < count; ++i) v[i] = static_cast<double>(i % 1000) + c.rank();
    auto sum = c.all_reduce(v, std::plus<>{});
    auto custom = c.all_reduce(v, [](double a, double b) { return a + b; });
    const double ranks = c.size() * (c.size() - 1) / 2.0;
    EXPECT(sum.size() == count && custom.size() == count);
    std::size_t wrong = 0;  // every element: a step off by one element shows at its edge only
    for (std::size_t i = 0; i < count; ++i)
      wrong += sum[i] != c.size() * static_cast<double>(i % 1000) + ranks || custom[i] != sum[i];
    EXPECT(wrong == 0);
  }
}

CONFORMANCE_CASE("all_reduce_into reuses the result's storage; all_reduce_in_place") {
  const double ranks = c.size() * (c.size() - 1) / 2.0;
  // Recursive-doubling sizes, then ring or halving-doubling with one and with several segments
  // per step.
  for (std::size_t count : {std::size_t{3}, std::size_t{20000}, std::size_t{1} << 20}) {
    std::vector<double> v(count);
    for (std::size_t i = 0; i < count; ++i) v[i] = static_cast<double>(i % 1000) + c.rank();
    auto expected = [&](std::size_t i) { return c.size() * static_cast<double>(i % 1000) + ranks; };
    std::vector<double> sum;
    c.all_reduce_into(v, sum, std::plus<>{});
    EXPECT(sum.size() == count);
    const double* storage = sum.data();
    // Again with a generic operation (never native) into the same vector: same storage.
    c.all_reduce_into(v, sum, [](double a, double b) { return a + b; });
    EXPECT(sum.data() == storage);
    for (std::size_t i = 0; i < count; i += 997) EXPECT(sum[i] == expected(i));
    EXPECT(sum.back() == expected(count - 1));
    std::vector<double> in_place = v, in_place_generic = v;
    c.all_reduce_in_place(in_place, std::plus<>{});
    c.all_reduce_in_place(in_place_generic, [](double a, double b) { return a + b; });
    EXPECT(in_place == sum && in_place_generic == sum);
  }
  int x = c.rank() + 1, total = 0;
  c.all_reduce_into(x, total, std::plus<>{});
  EXPECT(total == c.size() * (c.size() + 1) / 2);
  c.all_reduce_in_place(x, hilo::maximum<>{});
  EXPECT(x == c.size());
  EXPECT_THROWS_AS(std::invalid_argument, c.all_reduce_into(x, x, std::plus<>{}));
}

CONFORMANCE_CASE("gather and all_gather: scalars, structs, strings") {
  for (int root = 0; root < c.size(); ++root) {
    auto g = c.gather(c.rank() * 3, root);
    EXPECT(g.size() == (c.rank() == root ? static_cast<std::size_t>(c.size()) : 0u));
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT(g[i] == static_cast<int>(i) * 3);
  }
  conformance::Particle p{c.rank(), {0, 0, 0}, {'a', 'b', 'c'}};
  auto particles = c.all_gather(p);
  for (int r = 0; r < c.size(); ++r) EXPECT(particles[r].id == r);
  auto names = c.all_gather(std::string(c.rank() + 1, 'n'));
  for (int r = 0; r < c.size(); ++r) EXPECT(names[r] == std::string(r + 1, 'n'));
}

CONFORMANCE_CASE("scatter: scalars and strings") {
  for (int root = 0; root < c.size(); ++root) {
    std::vector<int> values;
    std::vector<std::string> words;
    if (c.rank() == root)
      for (int r = 0; r < c.size(); ++r) {
        values.push_back(r * r);
        words.push_back("for rank " + std::to_string(r));
      }
    EXPECT(c.scatter(values, root) == c.rank() * c.rank());
    EXPECT(c.scatter(words, root) == "for rank " + std::to_string(c.rank()));
  }
}
