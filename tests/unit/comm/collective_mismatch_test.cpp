// hilo::CollectiveMismatch on the local backend, found from the collective messages' stamps
// (comm/mailbox.hpp): two ranks in different collectives (another operation, root, element type,
// or the same calls in another order) both raise it at once, with the message naming both calls
// and their call sites in this file, lower rank first. A limit of seconds on every call, far
// below the suite's, makes a hang fail as hilo::Timeout instead of passing for a mismatch.
#include <hilo/comm/communicator.hpp>
#include <hilo/errors.hpp>
#include <hilo/runtime.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"

namespace {

using namespace std::chrono_literals;

std::string site(unsigned line) {
  return "collective_mismatch_test.cpp:" + std::to_string(line);
}

std::string message(const std::string& a, unsigned line_a, const std::string& b, unsigned line_b) {
  return "hilo: collective mismatch on world: rank 0 is in " + a + " at " + site(line_a) +
         ", rank 1 is in " + b + " at " + site(line_b);
}

// Runs `calls` on two local ranks (each may go on to further collectives, which a rank that
// left its mismatched call before it was found raises in) and returns what each raised:
// CollectiveMismatch's message, or the name of anything else.
std::array<std::string, 2> raised(const std::function<void(hilo::Communicator&)>& calls) {
  std::array<std::string, 2> what;
  hilo::run_local(2, [&](hilo::Communicator& world) {
    world.set_default_timeout(10s);
    std::string& mine = what[world.rank()];
    try {
      calls(world);
      mine = "nothing";
    } catch (const hilo::CollectiveMismatch& e) {
      mine = e.what();
    } catch (const std::exception& e) {
      mine = std::string("not a CollectiveMismatch: ") + e.what();
    }
  });
  return what;
}

}  // namespace

TEST_CASE("local: ranks in different operations both raise CollectiveMismatch") {
  const unsigned line = std::source_location::current().line() + 4;
  const auto what = raised([](hilo::Communicator& world) {
    int x = 1;
    if (world.rank() == 0) {
      world.broadcast(x, 0);
      world.barrier();  // the root only sends: it learns of the mismatch here
    } else {
      world.all_reduce(x, std::plus<>{});
    }
  });
  const std::string expected = message("broadcast (root 0)", line, "all_reduce", line + 3);
  CHECK(what[0] == expected);
  CHECK(what[1] == expected);
}

TEST_CASE("local: ranks in the same operation with different roots both raise") {
  // Each rank is the root of its own broadcast, so each only sends: the next collective finds
  // the other's message out of step, and both name the broadcasts.
  const unsigned line = std::source_location::current().line() + 5;
  const auto what = raised([](hilo::Communicator& world) {
    int x = 1;
    const int root = world.rank();
    if (root == 0) {
      world.broadcast(x, root);
    } else {
      world.broadcast(x, root);
    }
    world.barrier();
  });
  const std::string expected = message("broadcast (root 0)", line, "broadcast (root 1)", line + 2);
  CHECK(what[0] == expected);
  CHECK(what[1] == expected);
}

TEST_CASE("local: ranks reducing different element types both raise") {
  const unsigned line = std::source_location::current().line() + 3;
  const auto what = raised([](hilo::Communicator& world) {
    if (world.rank() == 0) {
      world.all_reduce(1, std::plus<>{});
    } else {
      world.all_reduce(1.0, std::plus<>{});
    }
  });
  const std::string expected = message("all_reduce (1 element of int32)", line,
                                       "all_reduce (1 element of float64)", line + 2);
  CHECK(what[0] == expected);
  CHECK(what[1] == expected);
}

TEST_CASE("local: ranks making the same collectives in another order both raise") {
  const unsigned line = std::source_location::current().line() + 3;
  const auto what = raised([](hilo::Communicator& world) {
    if (world.rank() == 0) {
      world.barrier();
      world.all_reduce(1, std::plus<>{});
    } else {
      world.all_reduce(1, std::plus<>{});
      world.barrier();
    }
  });
  const std::string expected = message("barrier", line, "all_reduce", line + 3);
  CHECK(what[0] == expected);
  CHECK(what[1] == expected);
}

TEST_CASE("local: after a mismatch, later collectives on the communicator raise it again") {
  hilo::run_local(2, [](hilo::Communicator& world) {
    world.set_default_timeout(10s);
    std::string first;
    try {
      if (world.rank() == 0)
        world.all_reduce(1, std::plus<>{});
      else
        world.all_reduce(1.0, std::plus<>{});
    } catch (const hilo::CollectiveMismatch& e) {
      first = e.what();
    }
    std::string again;
    try {
      world.barrier();
    } catch (const hilo::CollectiveMismatch& e) {
      again = e.what();
    }
    if (first.empty() || again != first)
      throw std::logic_error("rank " + std::to_string(world.rank()) + ": first \"" + first +
                             "\", then \"" + again + "\"");
  });
}

TEST_CASE("local: matching collectives raise nothing") {
  const auto what = raised([](hilo::Communicator& world) {
    int x = world.rank();
    world.broadcast(x, 1);
    world.barrier();
    const std::vector<double> v(1000, 1.0);
    world.all_reduce(v, std::plus<>{});
    world.reduce(x, std::plus<>{}, 0);
    world.all_gather(x);
  });
  CHECK(what[0] == "nothing");
  CHECK(what[1] == "nothing");
}
