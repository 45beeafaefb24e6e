// The exchange and prefix collectives (sendrecv, all_to_all, all_to_all_v, all_gather_v,
// gather_v, scan(_into), exscan(_into), reduce_scatter): trivially copyable, string and serialised
// user types, uneven and zero counts, bad input refused before anything is sent, counts that
// disagree between ranks, and time limits.
#include <array>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"
#include "user_types.hpp"

using conformance::contains;
using conformance::left;
using conformance::right;

using namespace std::chrono_literals;

namespace {
// What rank `from` sends rank `to` in the all-to-all cases: tells both apart.
int code(int from, int to) {
  return 1000 * from + to;
}
// How many elements rank `from` sends rank `to` in the uneven cases: zeros included.
int uneven(int from, int to) {
  return (from + 2 * to) % 4 * 3;
}
conformance::Particle particle(int from, int to) {
  return conformance::Particle{code(from, to), {from * 0.5, to * 0.25, 1.0}, {'p', 'q', 'r'}};
}
}  // namespace

CONFORMANCE_CASE("sendrecv around the ring: scalar, string, user type, wildcard source") {
  EXPECT(c.sendrecv(right(c), 1, c.rank(), left(c), 1) == left(c));
  // Both directions at once, the classic deadlock of two blocking sends.
  std::vector<double> big(300000, c.rank());
  auto from_right = c.sendrecv(left(c), 2, big, right(c), 2);
  EXPECT(from_right.size() == big.size() && from_right.back() == right(c));
  EXPECT(c.sendrecv<std::string>(right(c), 3, std::to_string(c.rank()), hilo::any_source, 3) ==
         std::to_string(left(c)));
  auto order = c.sendrecv(right(c), 4, conformance::make_order(c.rank()), left(c), 4);
  EXPECT(order == conformance::make_order(left(c)));
  // A different type back than sent.
  EXPECT((c.sendrecv<int, std::vector<int>>(right(c), 5, c.rank(), left(c), 5) ==
          std::vector<int>{left(c)}));
}

CONFORMANCE_CASE("all_to_all: numbers, structs, strings, vectors of uneven length, user types") {
  const int p = c.size(), r = c.rank();
  std::vector<int> ints(p);
  std::vector<conformance::Particle> particles(p);
  std::vector<std::string> strings(p);
  std::vector<std::vector<long>> vectors(p);
  std::vector<conformance::Order> orders(p);
  for (int q = 0; q < p; ++q) {
    ints[q] = code(r, q);
    particles[q] = particle(r, q);
    strings[q] = std::string(static_cast<std::size_t>(uneven(r, q)), static_cast<char>('a' + r));
    vectors[q].assign(static_cast<std::size_t>(uneven(r, q)), code(r, q));
    orders[q] = conformance::make_order(code(r, q));
  }
  auto got_ints = c.all_to_all(ints);
  auto got_particles = c.all_to_all(particles);
  auto got_strings = c.all_to_all(strings);
  auto got_vectors = c.all_to_all(vectors);
  auto got_orders = c.all_to_all(orders);
  EXPECT(got_ints.size() == static_cast<std::size_t>(p));
  for (int q = 0; q < p; ++q) {
    EXPECT(got_ints[q] == code(q, r));
    EXPECT(got_particles[q] == particle(q, r));
    EXPECT(got_strings[q] ==
           std::string(static_cast<std::size_t>(uneven(q, r)), static_cast<char>('a' + q)));
    EXPECT(got_vectors[q] == std::vector<long>(static_cast<std::size_t>(uneven(q, r)), code(q, r)));
    EXPECT(got_orders[q] == conformance::make_order(code(q, r)));
  }
  // Large blocks take the pairwise exchange, small ones (at p > 2) Bruck's algorithm.
  std::vector<std::array<double, 4096>> blocks(p);
  for (int q = 0; q < p; ++q) blocks[q].fill(code(r, q));
  auto got_blocks = c.all_to_all(blocks);
  for (int q = 0; q < p; ++q) EXPECT(got_blocks[q][4095] == code(q, r));
}

CONFORMANCE_CASE(
    "all_to_all_into: a kept result of any size, its storage reused at the same size") {
  const int p = c.size(), r = c.rank();
  std::vector<int> ints(p);
  std::vector<std::string> strings(p);
  std::vector<std::array<double, 4096>> blocks(p);  // pairwise exchange (Bruck's below)
  for (int q = 0; q < p; ++q) {
    ints[q] = code(r, q);
    strings[q] = std::string(static_cast<std::size_t>(uneven(r, q)), static_cast<char>('a' + r));
    blocks[q].fill(code(r, q));
  }
  // Results that start empty, too long, and of stale contents of the right size.
  std::vector<int> got_ints(static_cast<std::size_t>(p) + 3, -1);
  std::vector<std::string> got_strings;
  std::vector<std::array<double, 4096>> got_blocks(p);
  for (auto& block : got_blocks) block.fill(-1);
  const double* kept = got_blocks.data()->data();
  c.all_to_all_into(ints, got_ints);
  c.all_to_all_into(strings, got_strings);
  c.all_to_all_into(blocks, got_blocks);
  EXPECT(got_ints.size() == static_cast<std::size_t>(p));
  EXPECT(got_strings.size() == static_cast<std::size_t>(p));
  EXPECT(got_blocks.data()->data() == kept);
  for (int q = 0; q < p; ++q) {
    EXPECT(got_ints[q] == code(q, r));
    EXPECT(got_strings[q] ==
           std::string(static_cast<std::size_t>(uneven(q, r)), static_cast<char>('a' + q)));
    EXPECT(got_blocks[q][0] == code(q, r) && got_blocks[q][4095] == code(q, r));
  }
  // Again into the same vectors: every element written over, not appended to.
  for (int q = 0; q < p; ++q) ints[q] = -code(r, q);
  c.all_to_all_into(ints, got_ints);
  c.all_to_all_into(strings, got_strings);
  for (int q = 0; q < p; ++q) EXPECT(got_ints[q] == -code(q, r));
  EXPECT(got_strings.size() == static_cast<std::size_t>(p));
  auto m = EXPECT_THROWS_AS(std::invalid_argument, c.all_to_all_into(ints, ints));
  EXPECT(contains(m, "all_to_all_into on rank " + std::to_string(r)));
  m = EXPECT_THROWS_AS(std::invalid_argument, c.all_to_all_into(std::vector<int>(p + 1), got_ints));
  EXPECT(contains(m, "all_to_all_into on rank " + std::to_string(r)));
  EXPECT(got_ints.size() == static_cast<std::size_t>(p));  // untouched by refused input
}

CONFORMANCE_CASE("all_to_all_v: uneven and zero counts, spans and vectors") {
  const int p = c.size(), r = c.rank();
  std::vector<int> send_counts(p), recv_counts(p);
  for (int q = 0; q < p; ++q) {
    send_counts[q] = uneven(r, q);
    recv_counts[q] = uneven(q, r);
  }
  std::vector<long long> send;
  for (int q = 0; q < p; ++q)
    for (int i = 0; i < send_counts[q]; ++i) send.push_back(code(r, q) * 100 + i);
  // One element more than needed: the counts, not the span, say how much arrives.
  std::vector<long long> recv(std::accumulate(recv_counts.begin(), recv_counts.end(), 0) + 1, -1);
  c.all_to_all_v(std::span<const long long>(send), std::span<const int>(send_counts),
                 std::span<long long>(recv), std::span<const int>(recv_counts));
  std::size_t at = 0;
  for (int q = 0; q < p; ++q)
    for (int i = 0; i < recv_counts[q]; ++i) EXPECT(recv[at++] == code(q, r) * 100 + i);
  EXPECT(recv.back() == -1);
  // The vector overload, structs, and every count zero.
  std::vector<conformance::Particle> none, nothing;
  c.all_to_all_v(none, std::vector<int>(p, 0), nothing, std::vector<int>(p, 0));
  std::vector<conformance::Particle> one_each(p), from_each(p);
  for (int q = 0; q < p; ++q) one_each[q] = particle(r, q);
  c.all_to_all_v(one_each, std::vector<int>(p, 1), from_each, std::vector<int>(p, 1));
  for (int q = 0; q < p; ++q) EXPECT(from_each[q] == particle(q, r));
}

CONFORMANCE_CASE("all_gather_v and gather_v to every root: uneven and zero counts") {
  const int p = c.size(), r = c.rank();
  std::vector<int> mine(static_cast<std::size_t>(r % 3 * 5));
  std::iota(mine.begin(), mine.end(), 100 * r);
  std::vector<int> expected;
  for (int q = 0; q < p; ++q)
    for (int i = 0; i < q % 3 * 5; ++i) expected.push_back(100 * q + i);
  EXPECT(c.all_gather_v(mine) == expected);
  EXPECT(c.all_gather_v(std::span<const int>(mine)) == expected);
  for (int root = 0; root < p; ++root) {
    auto gathered = c.gather_v(mine, root);
    EXPECT(gathered == (r == root ? expected : std::vector<int>{}));
  }
  // Nobody contributes anything; and large blocks of structs.
  EXPECT(c.all_gather_v(std::vector<double>{}).empty());
  std::vector<conformance::Particle> particles(static_cast<std::size_t>(20000 * (r + 1)),
                                               particle(r, 0));
  auto all = c.all_gather_v(particles);
  EXPECT(all.size() == static_cast<std::size_t>(20000 * p * (p + 1) / 2));
  EXPECT(all.back() == particle(p - 1, 0));
}

CONFORMANCE_CASE("scan and exscan: native ops, lambdas in rank order, vectors, user types") {
  const int r = c.rank();
  EXPECT(c.scan(r + 1, std::plus<>{}) == (r + 1) * (r + 2) / 2);
  EXPECT(c.scan(r, hilo::maximum<>{}) == r);
  auto before = c.exscan(r + 1, std::plus<>{});
  EXPECT(before.has_value() == (r != 0));
  if (before) EXPECT(*before == r * (r + 1) / 2);
  // Concatenation is associative but not commutative: rank order shows.
  auto concatenate = [](const std::string& a, const std::string& b) { return a + b; };
  std::string prefix;
  for (int q = 0; q < r; ++q) prefix += std::to_string(q) + ";";
  const std::string mine = std::to_string(r) + ";";
  EXPECT(c.scan(mine, concatenate) == prefix + mine);
  auto excl = c.exscan(mine, concatenate);
  EXPECT(r == 0 ? !excl.has_value() : *excl == prefix);
  EXPECT((c.scan(std::vector<double>{1.0, 0.5 * r}, std::plus<>{}) ==
          std::vector<double>{r + 1.0, 0.25 * r * (r + 1)}));
  auto merge = [](conformance::Order a, const conformance::Order& b) {
    a.items.insert(a.items.end(), b.items.begin(), b.items.end());
    a.total += b.total;
    return a;
  };
  conformance::Order o = c.scan(conformance::make_order(r), merge);
  double total = 0;
  for (int q = 0; q <= r; ++q) total += conformance::make_order(q).total;
  EXPECT(o.total == total && o.customer == "customer-0");
}

CONFORMANCE_CASE("scan and exscan of vectors whose lengths disagree: an error naming both ranks") {
  const int p = c.size(), r = c.rank();
  if (p < 2) return;
  // Rank 1 contributes one element more than the others, so rank 1 is the first whose length
  // differs from its predecessor's (and rank 2's differs from rank 1's too). Every rank from 1 on
  // raises naming ranks 0 and 1; rank 0, whose prefix is its own value, gets it; none is left
  // waiting.
  std::vector<double> mine(r == 1 ? 4 : 3, 1.0);
  const std::string both = "rank 0 contributed 3 elements, rank 1 contributed 4";
  // MPI_Scan runs this one on mpi (numbers, MPI's sum), which compares the lengths only under
  // HILO_CHECK=collectives, and then as any other mismatch of collectives, on every rank (README).
  const char* check = std::getenv("HILO_CHECK");
  const bool checked = check != nullptr && std::string_view(check) == "collectives";
  std::string m;
  if (c.backend_name() != "mpi") {
    if (r == 0) {
      EXPECT(c.scan(mine, std::plus<>{}) == std::vector<double>(3, 1.0));
    } else {
      m = EXPECT_THROWS_AS(hilo::Error, c.scan(mine, std::plus<>{}));
      EXPECT(contains(m, "scan on rank " + std::to_string(r)) && contains(m, both));
    }
  } else if (checked) {
    m = EXPECT_THROWS_AS(hilo::CollectiveMismatch, c.scan(mine, std::plus<>{}));
    EXPECT(contains(m, "rank 0 is in scan (3 elements of float64) at exchange.cpp:") &&
           contains(m, "rank 1 is in scan (4 elements of float64) at exchange.cpp:"));
  }
  // Strings and a lambda: the generic algorithm on every backend, the same rule.
  auto concatenate_each = [](const std::string& a, const std::string& b) { return a + b; };
  std::vector<std::string> words(r == 1 ? 4 : 3, "w");
  if (r == 0) {
    EXPECT(!c.exscan(words, concatenate_each).has_value());
  } else {
    m = EXPECT_THROWS_AS(hilo::Error, c.exscan(words, concatenate_each));
    EXPECT(contains(m, "exscan on rank " + std::to_string(r)) && contains(m, both));
  }
  // Only from rank 2 on: ranks 0 and 1 get their prefixes, the others raise naming ranks 1 and 2.
  if (p >= 3) {
    std::vector<std::string> late(r >= 2 ? 2 : 3, std::to_string(r));
    if (r < 2) {
      EXPECT(c.scan(late, concatenate_each) == std::vector<std::string>(3, r == 0 ? "0" : "01"));
    } else {
      m = EXPECT_THROWS_AS(hilo::Error, c.scan(late, concatenate_each));
      EXPECT(contains(m, "rank 1 contributed 3 elements, rank 2 contributed 2"));
    }
  }
  // Nothing is left over to confuse the collectives that follow.
  EXPECT(c.scan(std::vector<int>{1, r}, std::plus<>{}) ==
         (std::vector<int>{r + 1, r * (r + 1) / 2}));
}

CONFORMANCE_CASE("scan_into and exscan_into: a kept result of any size, reused at the same size") {
  const int r = c.rank();
  // Results that start too long, too short, and of stale contents of the right size.
  std::vector<double> got(7, -1.0), exclusive(1, -1.0);
  const std::vector<double> mine{1.0, 0.5 * r, 2.0};
  c.scan_into(mine, got, std::plus<>{});
  EXPECT((got == std::vector<double>{r + 1.0, 0.25 * r * (r + 1), 2.0 * (r + 1)}));
  const double* kept = got.data();
  got.assign(got.size(), -1.0);
  c.scan_into(mine, got, hilo::maximum<>{});
  // MPI_Scan writes into the kept storage; elsewhere the algorithm's result is moved in.
  if (c.backend_name() == "mpi") EXPECT(got.data() == kept);
  EXPECT((got == std::vector<double>{1.0, 0.5 * r, 2.0}));
  // exscan_into: rank 0 gets nothing and its result keeps what it held.
  const bool written = c.exscan_into(mine, exclusive, std::plus<>{});
  EXPECT(written == (r != 0));
  if (r == 0)
    EXPECT((exclusive == std::vector<double>{-1.0}));
  else
    EXPECT((exclusive == std::vector<double>{1.0 * r, 0.25 * r * (r - 1), 2.0 * r}));
  int sum = -7;
  EXPECT(c.exscan_into(r + 1, sum, std::plus<>{}) == (r != 0));
  EXPECT(sum == (r == 0 ? -7 : r * (r + 1) / 2));
  // The generic path (a lambda, strings): the same contract.
  auto concatenate = [](const std::string& a, const std::string& b) { return a + b; };
  std::string prefix;
  for (int q = 0; q < r; ++q) prefix += std::to_string(q) + ";";
  const std::string word = std::to_string(r) + ";";
  std::string text = "stale and longer than any prefix here";
  c.scan_into(word, text, concatenate);
  EXPECT(text == prefix + word);
  text = "untouched";
  EXPECT(c.exscan_into(word, text, concatenate) == (r != 0));
  EXPECT(text == (r == 0 ? "untouched" : prefix));
  auto m = EXPECT_THROWS_AS(std::invalid_argument, c.scan_into(got, got, std::plus<>{}));
  EXPECT(contains(m, "scan_into on rank " + std::to_string(r)));
  m = EXPECT_THROWS_AS(std::invalid_argument, c.exscan_into(text, text, concatenate));
  EXPECT(contains(m, "exscan_into on rank " + std::to_string(r)));
  EXPECT((got == std::vector<double>{1.0, 0.5 * r, 2.0}));  // untouched by refused input
}

CONFORMANCE_CASE(
    "scan_into of vectors whose lengths disagree: an error from the first differing rank on") {
  const int p = c.size(), r = c.rank();
  if (p < 2) return;
  std::vector<double> mine(r == 1 ? 4 : 3, 1.0), got;
  const char* check = std::getenv("HILO_CHECK");
  const bool checked = check != nullptr && std::string_view(check) == "collectives";
  if (c.backend_name() != "mpi") {
    // Rank 1 is the first that differs: rank 0 gets its prefix, every later rank the error.
    if (r == 0) {
      c.scan_into(mine, got, std::plus<>{});
      EXPECT(got == std::vector<double>(3, 1.0));
      got = {-1.0};
      EXPECT(!c.exscan_into(mine, got, std::plus<>{}));
      EXPECT(got == std::vector<double>{-1.0});
    } else {
      auto m = EXPECT_THROWS_AS(hilo::Error, c.scan_into(mine, got, std::plus<>{}));
      EXPECT(contains(m, "scan on rank " + std::to_string(r)) &&
             contains(m, "rank 0 contributed 3 elements, rank 1 contributed 4"));
      m = EXPECT_THROWS_AS(hilo::Error, c.exscan_into(mine, got, std::plus<>{}));
      EXPECT(contains(m, "exscan on rank " + std::to_string(r)) &&
             contains(m, "rank 0 contributed 3 elements, rank 1 contributed 4"));
    }
  } else if (checked) {
    // Without HILO_CHECK, MPI_Scan itself is not told (README): the case runs only under it.
    auto m = EXPECT_THROWS_AS(hilo::CollectiveMismatch, c.scan_into(mine, got, std::plus<>{}));
    EXPECT(contains(m, "rank 0 is in scan (3 elements of float64) at exchange.cpp:") &&
           contains(m, "rank 1 is in scan (4 elements of float64) at exchange.cpp:"));
    m = EXPECT_THROWS_AS(hilo::CollectiveMismatch, c.exscan_into(mine, got, std::plus<>{}));
    EXPECT(contains(m, "rank 1 is in exscan (4 elements of float64) at exchange.cpp:"));
  }
  // Nothing is left over to confuse the collectives that follow.
  std::vector<int> sums{-1};
  c.scan_into(std::vector<int>{1, r}, sums, std::plus<>{});
  EXPECT((sums == std::vector<int>{r + 1, r * (r + 1) / 2}));
}

CONFORMANCE_CASE("reduce_scatter: native ops, lambdas, vectors element-wise, strings") {
  const int p = c.size(), r = c.rank();
  std::vector<long> values(p);
  for (int q = 0; q < p; ++q) values[q] = code(r, q);
  long expected = 0;
  for (int q = 0; q < p; ++q) expected += code(q, r);
  EXPECT(c.reduce_scatter(values, std::plus<>{}) == expected);
  EXPECT(c.reduce_scatter(values, [](long a, long b) { return a > b ? a : b; }) == code(p - 1, r));
  std::vector<std::vector<int>> vectors(p);
  for (int q = 0; q < p; ++q) vectors[q] = std::vector<int>(static_cast<std::size_t>(q + 1), 1);
  EXPECT(c.reduce_scatter(vectors, std::plus<>{}) ==
         std::vector<int>(static_cast<std::size_t>(r + 1), p));
  std::vector<std::string> strings(p, std::string(1, static_cast<char>('a' + r)));
  std::string all = c.reduce_scatter(strings, std::plus<>{});
  EXPECT(all.size() == static_cast<std::size_t>(p));
}

CONFORMANCE_CASE("exchange collectives refuse bad input before anything is sent") {
  const int p = c.size();
  auto m = EXPECT_THROWS_AS(std::invalid_argument, c.all_to_all(std::vector<int>(p + 1)));
  EXPECT(contains(m, "all_to_all on rank " + std::to_string(c.rank())));
  EXPECT(contains(m, std::to_string(p + 1) + " values for " + std::to_string(p) + " ranks"));
  EXPECT_THROWS_AS(std::invalid_argument, c.reduce_scatter(std::vector<int>(p + 2), std::plus<>{}));
  std::vector<int> counts(p, 1), result;
  EXPECT_THROWS_AS(std::invalid_argument, c.iall_to_all(std::vector<int>(p + 1), result));
  std::vector<int> send(p), recv(p);
  m = EXPECT_THROWS_AS(std::invalid_argument,
                       c.all_to_all_v(send, std::vector<int>(p + 1, 0), recv, counts));
  EXPECT(contains(m, "send_counts has " + std::to_string(p + 1) + " counts"));
  std::vector<int> negative(p, 0);
  negative[0] = -1;
  m = EXPECT_THROWS_AS(std::invalid_argument, c.all_to_all_v(send, counts, recv, negative));
  EXPECT(contains(m, "recv_counts[0] is -1"));
  std::vector<int> small(p - 1);
  m = EXPECT_THROWS_AS(std::invalid_argument, c.all_to_all_v(send, counts, small, counts));
  EXPECT(contains(m, "add up to " + std::to_string(p)) && contains(m, "`recv` holds"));
  // A rank or root out of range (whichever exception errors.hpp's rule names for it).
  EXPECT_THROWS_AS(std::exception, c.gather_v(send, p));
  EXPECT_THROWS_AS(std::exception, c.sendrecv(p, 1, 1, 0, 1));
  EXPECT_THROWS_AS(std::exception, c.sendrecv(0, -1, 1, 0, 1));
  EXPECT_THROWS_AS(std::exception, c.ibroadcast(m, -1));
  // Nothing was sent: the collectives that follow still match up.
  EXPECT(c.all_to_all(std::vector<int>(p, 7)) == std::vector<int>(p, 7));
}

CONFORMANCE_CASE("all_to_all_v counts that disagree between ranks: an error naming both") {
  const int p = c.size(), r = c.rank();
  if (p < 2) return;
  // Rank 0 expects one element more from rank 1 than rank 1 sends it.
  std::vector<int> send_counts(p, 2), recv_counts(p, 2);
  if (r == 0) recv_counts[1] = 3;
  std::vector<int> send(2 * p, r), recv(2 * p + 1, -1);
  if (r == 0) {
    auto m = EXPECT_THROWS_AS(hilo::Error, c.all_to_all_v(send, send_counts, recv, recv_counts));
    EXPECT(contains(m, "rank 1 sends 2 elements to rank 0, which expects 3"));
    EXPECT(contains(m, "all_to_all_v on rank 0"));
  } else {
    c.all_to_all_v(send, send_counts, recv, recv_counts);
  }
  // Every block moved: no message is left over to confuse the next collective.
  EXPECT(c.all_to_all(std::vector<int>(p, r)) == [&] {
    std::vector<int> v(p);
    std::iota(v.begin(), v.end(), 0);
    return v;
  }());
}

CONFORMANCE_CASE("reduce_scatter of vectors whose lengths disagree: an error naming both ranks") {
  const int p = c.size(), r = c.rank();
  if (p < 2) return;
  // Rank 1 contributes one element too many to rank 0's block.
  std::vector<std::vector<int>> values(p, std::vector<int>(3, 1));
  if (r == 1) values[0].push_back(1);
  if (r == 0) {
    auto m = EXPECT_THROWS_AS(hilo::Error, c.reduce_scatter(values, std::plus<>{}));
    EXPECT(contains(m, "rank 1 contributes 4 elements to block 0 but rank 0 contributes 3"));
  } else {
    EXPECT(c.reduce_scatter(values, std::plus<>{}) == std::vector<int>(3, p));
  }
}

CONFORMANCE_CASE("exchange collectives honour time limits") {
  const int p = c.size(), r = c.rank(), last = p - 1;
  // MPI cannot cancel a collective it has started (the mpi backend's native all-gather of the
  // counts, and every call once the native mappings exist): a timed-out collective leaves the
  // communicator unusable there, and the driver's closing barrier would then mismatch.
  if (p < 2 || c.backend_name() == "mpi") return;
  // The last rank does not take part: the others give up after their limit. On a communicator
  // of this case's own, not `c`: a rank that skips five collectives that the others made is out
  // of step with them on that communicator for good (its calls' sequence numbers stay five
  // behind theirs), which is a mismatch, and local and tcp find it from the stamps of the
  // messages the others sent it (README, "Ranks in different collectives"): every later case
  // on `c` would raise hilo::CollectiveMismatch. What is checked here, each call giving up after
  // its own limit with a Timeout naming it, is the same on any communicator; what the others
  // sent the last rank goes with `mine`.
  hilo::Communicator mine = c.dup();
  if (r != last) {
    auto m =
        EXPECT_THROWS_AS(hilo::Timeout, mine.all_to_all(std::vector<int>(p), hilo::within(100ms)));
    EXPECT(contains(m, "all_to_all on rank " + std::to_string(r)));
    std::vector<int> kept;
    EXPECT_THROWS_AS(hilo::Timeout,
                     mine.all_to_all_into(std::vector<int>(p), kept, hilo::within(100ms)));
    EXPECT_THROWS_AS(hilo::Timeout, mine.all_gather_v(std::vector<int>(r), hilo::within(100ms)));
    EXPECT_THROWS_AS(hilo::Timeout,
                     mine.reduce_scatter(std::vector<int>(p), std::plus<>{}, hilo::within(100ms)));
    std::vector<int> counts(p, 1), buffer(p);
    EXPECT_THROWS_AS(hilo::Timeout,
                     mine.all_to_all_v(buffer, counts, buffer, counts, hilo::within(100ms)));
    EXPECT_THROWS_AS(hilo::Timeout, mine.sendrecv(last, 1, 1, last, 1, hilo::within(100ms)));
  }
}

CONFORMANCE_CASE("scan and exscan honour time limits: the ranks after a missing one give up") {
  const int p = c.size(), r = c.rank();
  // MPI cannot cancel a collective it has started (see the case above).
  if (p < 2 || c.backend_name() == "mpi") return;
  // Rank 0 does not take part. Every other rank's prefix needs its value, whichever algorithm
  // runs, so each gives up after its limit instead of waiting for ever. Rank 0 waits for each to
  // say so (a message of its own, outside the collectives) before it goes on to the next
  // collective, so that no message of a later collective reaches a rank still in the scan. The
  // scans run on a communicator of this case's own, as in the case above: rank 0, which skips
  // them, is out of step with the others on it for good, and what they sent rank 0 in them is
  // never received and goes with `mine`.
  constexpr int gave_up = 77;
  hilo::Communicator mine = c.dup();
  if (r == 0) {
    for (int q = 1; q < p; ++q) EXPECT(c.recv<int>(q, gave_up) == q);
    return;
  }
  auto m = EXPECT_THROWS_AS(hilo::Timeout,
                            mine.scan(std::vector<int>{r}, std::plus<>{}, hilo::within(100ms)));
  EXPECT(contains(m, "scan on rank " + std::to_string(r)));
  auto concatenate = [](const std::string& a, const std::string& b) { return a + b; };
  std::string text;
  m = EXPECT_THROWS_AS(hilo::Timeout,
                       mine.exscan_into(std::string("x"), text, concatenate, hilo::within(100ms)));
  EXPECT(contains(m, "exscan on rank " + std::to_string(r)));
  c.send(0, gave_up, r);
}
