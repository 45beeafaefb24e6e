// Mismatched collectives over the tcp backend (hilorun -n 2), found from the stamps the frames
// carry (runtime/src/backends/tcp/frame.hpp): the two ranks make different collective calls
// (another operation, root, element type, or the same two calls in the other order), and both
// must raise hilo::CollectiveMismatch whose message is exactly the form, naming both calls
// and their call sites in this file, lower rank first. Every call is limited to 10 s, far below
// HILO_TIMEOUT: a mismatch that is not found at once ends in hilo::Timeout, which fails the case.
// The ranks then agree over a communicator made before (the mismatched one stays unusable).
//
//   collective_mismatch <operation|root|type|order>
#include <hilo/hilo.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <source_location>
#include <string>

namespace {

std::string site(unsigned line) {
  return "collective_mismatch.cpp:" + std::to_string(line);
}

// The message rank 0's call `a` at `line_a` and rank 1's call `b` at `line_b` must give.
std::string message(const std::string& a, unsigned line_a, const std::string& b, unsigned line_b) {
  return "hilo: collective mismatch on world: rank 0 is in " + a + " at " + site(line_a) +
         ", rank 1 is in " + b + " at " + site(line_b);
}

// Runs the scenario's mismatched calls, having set `expected` to the message they must give (the
// lines are those of the calls below). A rank that only sends in its call (a broadcast's root)
// learns of the mismatch in the barrier after it.
void mismatch(hilo::Communicator& world, const std::string& scenario, std::string& expected) {
  const bool zero = world.rank() == 0;
  int x = 1;
  if (scenario == "operation") {
    const unsigned line = std::source_location::current().line() + 3;
    expected = message("broadcast (root 0)", line, "all_reduce", line + 3);
    if (zero) {
      world.broadcast(x, 0);
      world.barrier();
    } else {
      world.all_reduce(x, std::plus<>{});
    }
  } else if (scenario == "root") {
    const unsigned line = std::source_location::current().line() + 3;
    expected = message("broadcast (root 0)", line, "broadcast (root 1)", line + 2);
    if (zero) {
      world.broadcast(x, 0);
    } else {
      world.broadcast(x, 1);
    }
    world.barrier();
  } else if (scenario == "type") {
    const unsigned line = std::source_location::current().line() + 4;
    expected = message("all_reduce (1 element of int32)", line, "all_reduce (1 element of float64)",
                       line + 2);
    if (zero) {
      world.all_reduce(1, std::plus<>{});
    } else {
      world.all_reduce(1.0, std::plus<>{});
    }
  } else if (scenario == "order") {
    const unsigned line = std::source_location::current().line() + 3;
    expected = message("barrier", line, "all_reduce", line + 3);
    if (zero) {
      world.barrier();
      world.all_reduce(1, std::plus<>{});
    } else {
      world.all_reduce(1, std::plus<>{});
      world.barrier();
    }
  } else {
    std::fprintf(stderr, "collective_mismatch: unknown scenario '%s' FAILED\n", scenario.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  hilo::Runtime rt(argc, argv);
  hilo::Communicator& world = rt.world();
  if (world.size() != 2 || world.backend_name() != "tcp") {
    std::printf("collective_mismatch: run under hilorun -n 2 (tcp) FAILED\n");
    return 1;
  }
  world.set_default_timeout(std::chrono::seconds(10));
  hilo::Communicator agree = world.dup();  // made before the mismatch: still usable after it
  std::string expected, message = "(nothing raised)";
  try {
    mismatch(world, scenario, expected);
  } catch (const hilo::CollectiveMismatch& e) {
    message = e.what();
  } catch (const std::exception& e) {
    message = std::string("not a CollectiveMismatch: ") + e.what();
  }
  const bool ok = message == expected;
  std::fprintf(stderr, "collective_mismatch %s: rank %d: %s\n  got:      %s\n  expected: %s\n",
               scenario.c_str(), world.rank(), ok ? "as expected" : "FAILED", message.c_str(),
               expected.c_str());
  const int wrong = agree.all_reduce(ok ? 0 : 1, std::plus<>{});
  if (world.rank() == 0)
    std::printf("collective_mismatch %s: %s\n", scenario.c_str(), wrong == 0 ? "OK" : "FAILED");
  return wrong == 0 ? 0 : 1;
}
