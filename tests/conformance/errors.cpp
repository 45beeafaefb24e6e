// The rule of hilo/errors.hpp on every backend: an argument wrong on its own is a
// std::invalid_argument raised before anything is sent; what involves other ranks (a message that
// does not fit, a time limit) is a hilo::Error or hilo::Timeout. Every message starts
// "hilo: <operation> on rank <R>: ".
#include <array>
#include <bit>
#include <chrono>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"

using conformance::contains;
using conformance::left;
using conformance::right;

namespace {
// The start of every error message of the call `op` on this rank.
std::string on_rank(const char* op, const hilo::Communicator& c) {
  return std::string("hilo: ") + op + " on rank " + std::to_string(c.rank()) + ": ";
}
}  // namespace

using namespace std::chrono_literals;

CONFORMANCE_CASE("invalid ranks, roots and tags are refused before anything is sent") {
  const std::string last = std::to_string(c.size() - 1);
  auto m = EXPECT_THROWS_AS(std::invalid_argument, c.send(c.size(), 1, 5));
  EXPECT(m == on_rank("send", c) + "rank " + std::to_string(c.size()) +
                  " is out of range; this communicator has ranks 0.." + last);
  m = EXPECT_THROWS_AS(std::invalid_argument, c.send(-3, 1, 5));
  EXPECT(m.starts_with(on_rank("send", c) + "rank -3 is out of range"));
  m = EXPECT_THROWS_AS(std::invalid_argument, c.send(0, -2, 5));
  EXPECT(m == on_rank("send", c) + "tag -2 is negative; tags are >= 0");
  m = EXPECT_THROWS_AS(std::invalid_argument, c.recv<int>(c.size() + 7, 1));
  EXPECT(m == on_rank("recv", c) + "rank " + std::to_string(c.size() + 7) +
                  " is out of range; this communicator has ranks 0.." + last +
                  " (or hilo::any_source)");
  m = EXPECT_THROWS_AS(std::invalid_argument, c.recv<int>(0, -5));
  EXPECT(m == on_rank("recv", c) + "tag -5 is negative; tags are >= 0 (or hilo::any_tag)");
  int request_target = 0;
  m = EXPECT_THROWS_AS(std::invalid_argument, c.irecv(c.size(), 1, request_target));
  EXPECT(m.starts_with(on_rank("irecv", c)));
  m = EXPECT_THROWS_AS(std::invalid_argument, c.isend(0, -1, 5));
  EXPECT(m.starts_with(on_rank("isend", c)));
  m = EXPECT_THROWS_AS(std::invalid_argument, c.probe(-7, 1));
  EXPECT(m.starts_with(on_rank("probe", c)));
  m = EXPECT_THROWS_AS(std::invalid_argument, c.broadcast(m, c.size()));
  EXPECT(m.starts_with(on_rank("broadcast", c) + "root " + std::to_string(c.size())));
  m = EXPECT_THROWS_AS(std::invalid_argument, c.reduce(1, std::plus<>{}, -1));
  EXPECT(m.starts_with(on_rank("reduce", c) + "root -1"));
  m = EXPECT_THROWS_AS(std::invalid_argument, c.gather(1, c.size()));
  EXPECT(m.starts_with(on_rank("gather", c) + "root"));
  if (c.rank() == 0) {
    m = EXPECT_THROWS_AS(std::invalid_argument, c.scatter(std::vector<int>(c.size() + 1), 0));
    EXPECT(m == on_rank("scatter", c) + "got " + std::to_string(c.size() + 1) + " values for " +
                    std::to_string(c.size()) + " ranks; pass exactly one value per rank");
  }
  // Refused before anything was sent: nothing is queued for anyone.
  c.barrier();
  EXPECT(!c.iprobe(hilo::any_source, hilo::any_tag));
}

CONFORMANCE_CASE("a message that does not fit the receive is an error naming both") {
  // 3 bytes into an int: named by the receive, on every backend the same way.
  c.send(right(c), 1, std::array<char, 3>{'a', 'b', 'c'});
  auto m = EXPECT_THROWS_AS(hilo::Error, c.recv<int>(left(c), 1));
  EXPECT(
      m.starts_with(on_rank("recv", c) + "from rank " + std::to_string(left(c)) + " with tag 1: "));
  EXPECT(contains(m, "3"));
  // 12 bytes into a vector of doubles.
  c.send(right(c), 2, std::vector<float>{1, 2, 3});
  m = EXPECT_THROWS_AS(hilo::Error, c.recv<std::vector<double>>(left(c), 2));
  EXPECT(contains(m, "12"));
  if (c.backend_name() != "mpi") {
    // Backends that carry the type keep the message for a receive that fits.
    EXPECT((c.recv<std::array<char, 3>>(left(c), 1) == std::array<char, 3>{'a', 'b', 'c'}));
    EXPECT((c.recv<std::vector<float>>(left(c), 2) == std::vector<float>{1, 2, 3}));
  }
  c.barrier();
}

CONFORMANCE_CASE("a span receive of the wrong length or type is an error") {
  c.send(right(c), 4, std::vector<int>{1, 2, 3});
  std::vector<int> four(4);
  auto m = EXPECT_THROWS_AS(hilo::Error, c.recv(left(c), 4, std::span<int>(four)));
  EXPECT(contains(m, "12") && contains(m, "16"));  // what came, what was expected
  if (c.backend_name() != "mpi") {
    // Backends that carry the element type check it (MPI carries none: it would take the bytes).
    c.send(right(c), 5, std::vector<float>{1, 2});
    std::vector<int> two(2);
    EXPECT_THROWS_AS(hilo::Error, c.recv(left(c), 5, std::span<int>(two)));
    // Both kept queued for a receive that fits (MPI has consumed the first).
    std::vector<int> three(3);
    c.recv(left(c), 4, std::span<int>(three));
    EXPECT((three == std::vector<int>{1, 2, 3}));
    EXPECT((c.recv<std::vector<float>>(left(c), 5) == std::vector<float>{1, 2}));
  }
  c.barrier();
}

CONFORMANCE_CASE("an archive that does not decode is an error naming the type") {
  c.send(right(c), 3, std::vector<int>{1, 2, 3});
  auto m = EXPECT_THROWS_AS(hilo::Error, (c.recv<std::map<std::string, std::string>>(left(c), 3)));
  EXPECT(contains(m, "rank"));
  if (c.backend_name() != "mpi") c.recv<std::vector<int>>(left(c), 3);
  c.barrier();
}

CONFORMANCE_CASE("timeouts fire, not early, and name the operation, peer and tag") {
  auto start = std::chrono::steady_clock::now();
  auto m = EXPECT_THROWS_AS(hilo::Timeout, c.recv<int>(left(c), 77, hilo::within(150ms)));
  EXPECT(std::chrono::steady_clock::now() - start >= 150ms);
  EXPECT(m.starts_with(on_rank("recv", c) + "from rank " + std::to_string(left(c)) +
                       " with tag 77: "));
  start = std::chrono::steady_clock::now();
  m = EXPECT_THROWS_AS(hilo::Timeout, c.probe(hilo::any_source, 78, hilo::within(100ms)));
  EXPECT(m.starts_with(on_rank("probe", c) + "from any source with tag 78: "));
  EXPECT(std::chrono::steady_clock::now() - start >= 100ms);
  std::vector<int> v;
  hilo::Request r = c.irecv(left(c), 79, v);
  EXPECT_THROWS_AS(hilo::Timeout, r.wait(hilo::within(50ms)));
  // A withdrawn receive takes nothing: a message sent now goes to the next receive.
  c.barrier();
  c.send(right(c), 77, 5);
  EXPECT(c.recv<int>(left(c), 77, hilo::within(30s)) == 5);
  c.barrier();
}

CONFORMANCE_CASE("every receive checks the size; local and tcp the element type too") {
  // What communicator.hpp promises for each backend. MPI messages carry no type (and hilo adds
  // no header, so plain MPI programs interoperate): the mpi backend checks the size only.
  const bool typed = c.backend_name() != "mpi";
  c.send(right(c), 6, std::vector<double>{1.5, -2.0});
  if (typed) {
    auto m = EXPECT_THROWS_AS(hilo::Error, c.recv<std::vector<long long>>(left(c), 6));
    EXPECT(contains(m, "float64") && contains(m, "int64"));
    EXPECT((c.recv<std::vector<double>>(left(c), 6) == std::vector<double>{1.5, -2.0}));
  } else {
    auto bits = c.recv<std::vector<long long>>(left(c), 6);  // as MPI_Recv would: bits unchanged
    EXPECT(bits.size() == 2 && std::bit_cast<double>(bits[0]) == 1.5 &&
           std::bit_cast<double>(bits[1]) == -2.0);
  }
  // The size, on every way a receive can go: 12 bytes sent each time.
  const std::vector<int> three{1, 2, 3};
  auto refused = [&](const std::string& m) { return contains(m, "12") && contains(m, "tag"); };
  c.send(right(c), 7, three);  // a fixed-size receive under a deadline (matched by a probe)
  EXPECT(refused(
      EXPECT_THROWS_AS(hilo::Error, (c.recv<std::array<int, 4>>(left(c), 7, hilo::within(30s))))));
  c.send(right(c), 8, three);  // a nonblocking receive into a span that is too short
  std::array<int, 2> two{};
  hilo::Request r = c.irecv(left(c), 8, std::span<int>(two));
  auto m = EXPECT_THROWS_AS(hilo::Error, r.wait(hilo::within(30s)));
  EXPECT(contains(m, "8 bytes") && contains(m, "tag 8"));  // MPI does not say how large
  c.send(right(c), 9, three);  // a nonblocking receive of a vector: not whole elements
  std::vector<double> doubles;
  r = c.irecv(left(c), 9, doubles);
  EXPECT(refused(EXPECT_THROWS_AS(hilo::Error, r.wait(hilo::within(30s)))));
  if (typed)  // local and tcp keep refused messages queued
    for (int tag : {7, 8, 9}) EXPECT(c.recv<std::vector<int>>(left(c), tag) == three);
  c.barrier();
}
