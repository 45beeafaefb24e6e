// HILO_CHECK=collectives under mpirun: ranks 0 and 1 make one collective call, rank 2 a different
// one (another operation, root, element type, count, or the same two calls in the other order).
// Every rank must raise hilo::CollectiveMismatch whose message is exactly the form,
// naming rank 0's call and rank 2's with their call sites in this file; then the ranks agree
// over the same communicator (the check ran before the collective, so it is still usable).
//
//   collective_mismatch <operation|root|type|order|scan_length|exscan_length>
//   collective_mismatch bad_check   (one process, HILO_CHECK=bogus: the Runtime refuses it)
#include <hilo/hilo.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <source_location>
#include <string>
#include <vector>

namespace {

std::string site(unsigned line) {
  return "collective_mismatch.cpp:" + std::to_string(line);
}

// The message rank 0's call `a` at `line_a` and rank 2's call `b` at `line_b` must give.
std::string message(const std::string& a, unsigned line_a, const std::string& b, unsigned line_b) {
  return "hilo: collective mismatch on world: rank 0 is in " + a + " at " + site(line_a) +
         ", rank 2 is in " + b + " at " + site(line_b);
}

// Runs the scenario's mismatched calls, having set `expected` to the message they must give (the
// lines are those of the calls below).
void mismatch(hilo::Communicator& world, const std::string& scenario, std::string& expected) {
  const bool odd = world.rank() == 2;
  if (scenario == "operation") {
    int x = 1;
    const unsigned line = std::source_location::current().line() + 3;
    expected = message("broadcast (root 0)", line, "all_reduce", line + 2);
    if (!odd) {
      world.broadcast(x, 0);
    } else {
      world.all_reduce(x, std::plus<>{});
    }
  } else if (scenario == "root") {
    int x = 1;
    const unsigned line = std::source_location::current().line() + 3;
    expected = message("broadcast (root 0)", line, "broadcast (root 1)", line + 2);
    if (!odd) {
      world.broadcast(x, 0);
    } else {
      world.broadcast(x, 1);
    }
  } else if (scenario == "type") {
    const unsigned line = std::source_location::current().line() + 4;
    expected = message("all_reduce (1 element of int32)", line, "all_reduce (1 element of float64)",
                       line + 2);
    if (!odd) {
      world.all_reduce(1, std::plus<>{});
    } else {
      world.all_reduce(1.0, std::plus<>{});
    }
  } else if (scenario == "order") {
    const unsigned line = std::source_location::current().line() + 3;
    expected = message("barrier", line, "all_reduce", line + 3);
    if (!odd) {
      world.barrier();
      world.all_reduce(1, std::plus<>{});
    } else {
      world.all_reduce(1, std::plus<>{});
      world.barrier();
    }
  } else if (scenario == "scan_length" || scenario == "exscan_length") {
    const std::vector<float> v(odd ? 5 : 3, 1.0f);
    const bool inclusive = scenario == "scan_length";
    const std::string op = inclusive ? "scan" : "exscan";
    const unsigned line = std::source_location::current().line() + (inclusive ? 4 : 6);
    expected =
        message(op + " (3 elements of float32)", line, op + " (5 elements of float32)", line);
    if (inclusive) {
      world.scan(v, std::plus<>{});
    } else {
      world.exscan(v, std::plus<>{});
    }
  } else {
    std::fprintf(stderr, "collective_mismatch: unknown scenario '%s' FAILED\n", scenario.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  if (scenario == "bad_check") {
    try {
      hilo::Runtime rt(argc, argv);
    } catch (const hilo::Error& e) {
      const std::string message = e.what();
      const bool ok = message.find("HILO_CHECK is 'bogus'; use collectives") != std::string::npos;
      std::printf("collective_mismatch bad_check: %s\n%s\n", ok ? "OK" : "FAILED", e.what());
      return ok ? 0 : 1;
    }
    std::printf("collective_mismatch bad_check: FAILED (no hilo::Error)\n");
    return 1;
  }
  hilo::Runtime rt(argc, argv);
  hilo::Communicator& world = rt.world();
  // Every call bounded: a check that lets the ranks go on into different collectives would
  // otherwise hang here instead of failing.
  world.set_default_timeout(std::chrono::seconds(20));
  std::string expected, message = "(nothing raised)";
  bool raised = false;
  try {
    mismatch(world, scenario, expected);
  } catch (const hilo::CollectiveMismatch& e) {
    raised = true;
    message = e.what();
  }
  const bool ok = raised && message == expected;
  std::fprintf(stderr, "collective_mismatch %s: rank %d: %s\n  got:      %s\n  expected: %s\n",
               scenario.c_str(), world.rank(), ok ? "as expected" : "FAILED", message.c_str(),
               expected.c_str());
  const int wrong = world.all_reduce(ok ? 0 : 1, std::plus<>{});
  if (world.rank() == 0)
    std::printf("collective_mismatch %s: %s\n", scenario.c_str(), wrong == 0 ? "OK" : "FAILED");
  return wrong == 0 ? 0 : 1;
}
