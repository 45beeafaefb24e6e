// split and dup: new communicators whose messages never mix with the parent's.
#include "harness.hpp"

CONFORMANCE_CASE("split by parity: ranks, sizes, collectives inside") {
  hilo::Communicator half = c.split(c.rank() % 2, -c.rank());  // key reverses the order
  const int members = (c.size() + (c.rank() % 2 == 0 ? 1 : 0)) / 2;
  EXPECT(half.size() == members);
  // Reversed keys: the highest parent rank of the colour is rank 0.
  auto parents = half.all_gather(c.rank());
  for (int i = 0; i + 1 < half.size(); ++i) EXPECT(parents[i] > parents[i + 1]);
  EXPECT(parents[half.rank()] == c.rank());
  EXPECT(half.all_reduce(1, std::plus<>{}) == members);
}

CONFORMANCE_CASE("dup isolates messages with the same tag and source") {
  hilo::Communicator copy = c.dup();
  EXPECT(copy.size() == c.size() && copy.rank() == c.rank());
  int right = (c.rank() + 1) % c.size(), left = (c.rank() - 1 + c.size()) % c.size();
  c.send(right, 5, std::string("parent"));
  copy.send(right, 5, std::string("copy"));
  // Received in the opposite order of sending, with wildcards: still each on its own.
  EXPECT(copy.recv<std::string>(hilo::any_source, hilo::any_tag) == "copy");
  EXPECT(c.recv<std::string>(left, 5) == "parent");
}

CONFORMANCE_CASE("nested split of a dup, collectives interleaved with the parent's") {
  hilo::Communicator d = c.dup();
  hilo::Communicator solo = d.split(c.rank(), 0);  // every rank alone
  EXPECT(solo.size() == 1 && solo.rank() == 0);
  EXPECT(solo.all_reduce(c.rank(), std::plus<>{}) == c.rank());
  EXPECT(d.all_reduce(1, std::plus<>{}) == c.size());
  EXPECT(c.all_reduce(2, std::plus<>{}) == 2 * c.size());
}

CONFORMANCE_CASE(
    "split with an invalid colour on one rank: it raises at once, the others time out") {
  using namespace std::chrono_literals;
  // On a copy: the ranks that time out leave the communicator unusable (MPI cannot withdraw a
  // collective), and the driver still needs c.
  hilo::Communicator d = c.dup();
  d.set_default_timeout(300ms);  // what HILO_TIMEOUT sets
  const int bad = c.size() - 1;
  if (c.rank() == bad) {
    auto m = EXPECT_THROWS_AS(std::invalid_argument, d.split(-1, 0));
    EXPECT(m == "hilo: split on rank " + std::to_string(c.rank()) +
                    ": color -1 is negative; colors are >= 0");
  } else {
    auto m = EXPECT_THROWS_AS(hilo::Timeout, d.split(0, c.rank()));
    EXPECT(m.starts_with("hilo: split on rank " + std::to_string(c.rank()) + ": "));
  }
}
