// Under mpirun (no hilorun), a hilo::Timeout's message ends with the rank's pending operations:
// every rank receives from the next one with tag 7 and none sends, a cycle; under HILO_TIMEOUT
// each must raise hilo::Timeout whose message lists that receive with its peer, tag,
// communicator and call site (this file and the line of the call).
#include <hilo/hilo.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <source_location>
#include <string>

int main(int argc, char** argv) {
  hilo::Runtime rt(argc, argv);
  hilo::Communicator& world = rt.world();
  const int next = (world.rank() + 1) % world.size();
  std::string message;
  unsigned line = 0;
  try {
    line = std::source_location::current().line() + 1;
    world.recv<int>(next, 7);
  } catch (const hilo::Timeout& e) {
    message = e.what();
  }
  const std::string expected_row = "\npending on rank " + std::to_string(world.rank()) +
                                   ":\n  recv from rank " + std::to_string(next) +
                                   ", tag 7, on world, for ";
  const std::string expected_site = "timeout_report.cpp:" + std::to_string(line);
  const bool expected =
      message.find(expected_row) != std::string::npos && message.ends_with(expected_site);
  std::fprintf(stderr, "timeout_report: rank %d: %s\n%s\n", world.rank(),
               expected ? "as expected" : "FAILED", message.c_str());
  // The ranks agree on the outcome over the same communicator: the receives that timed out are
  // gone, so it is still usable.
  const int wrong =
      world.all_reduce(expected ? 0 : 1, std::plus<>{}, hilo::within(std::chrono::seconds(30)));
  if (world.rank() == 0) std::printf("timeout_report: %s\n", wrong == 0 ? "OK" : "FAILED");
  return wrong == 0 ? 0 : 1;
}
