// The rank program of the HILO_LOG tests (logs_test.py). Starts hilo::Runtime under whatever
// launcher ran it, then:
//
//   log_probe healthy   an all-reduce of a vector with a user's function object (so the generic
//                       algorithm runs on every backend, mpi included) and an all-to-all; prints
//                       "log_probe: rank R done"
//   log_probe threads   `healthy` on three ranks of hilo::run_local, without a Runtime
//   log_probe lose      rank 1 ends at once without closing its runtime (as if it crashed, but
//                       with status 0, so that hilorun does not stop the others); the others
//                       wait for a message from it and print "log_probe: rank R lost rank 1"
//                       when that fails with hilo::PeerLost
//
// Exit codes: 0 success (rank 1 and the survivors of `lose` included), 2 bad arguments, 5 a
// hilo::Error (HILO_LOG's, for instance), 6 a wrong result.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "hilo/hilo.hpp"

namespace {

int healthy(hilo::Communicator& world) {
  const int p = world.size();
  std::vector<int> mine(1000, world.rank() + 1);
  const auto sum = world.all_reduce(mine, [](int a, int b) { return a + b; });
  const std::vector<int> blocks(static_cast<std::size_t>(p), world.rank());
  const auto received = world.all_to_all(blocks);
  if (sum.front() != p * (p + 1) / 2 || received.back() != p - 1) {
    std::cout << "log_probe: rank " << world.rank() << " got a wrong result" << std::endl;
    return 6;
  }
  // One write per line: under `threads` several ranks print at once, and pieces of cout's
  // operator<< would interleave mid-line.
  const std::string line = "log_probe: rank " + std::to_string(world.rank()) + " done\n";
  [[maybe_unused]] const ssize_t written = ::write(STDOUT_FILENO, line.data(), line.size());
  return 0;
}

int lose(hilo::Communicator& world) {
  world.barrier();
  if (world.rank() == 1) ::_exit(0);  // no goodbye: the others see it lost
  try {
    int value = 0;
    world.recv(1, 0, value, hilo::within(std::chrono::seconds(30)));
  } catch (const hilo::PeerLost&) {
    std::cout << "log_probe: rank " << world.rank() << " lost rank 1" << std::endl;
    return 0;
  }
  std::cout << "log_probe: rank " << world.rank() << " received from rank 1" << std::endl;
  return 6;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "healthy" && mode != "threads" && mode != "lose") {
    std::cerr << "usage: log_probe healthy|threads|lose" << std::endl;
    return 2;
  }
  try {
    if (mode == "threads") {
      std::atomic<int> status = 0;
      hilo::run_local(3, [&](hilo::Communicator& world) {
        if (healthy(world) != 0) status = 6;
      });
      return status.load();
    }
    hilo::Runtime runtime(argc, argv);
    return mode == "healthy" ? healthy(runtime.world()) : lose(runtime.world());
  } catch (const hilo::Error& e) {
    std::cerr << "log_probe: " << e.what() << std::endl;
    return 5;
  }
}
