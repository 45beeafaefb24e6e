// A rank killed while it holds a hilo::DistributedMutex, as a multi-process program for
// hilorun (tests/integration/dsync/kill_holder.py drives it). The other checks of the
// distributed sync primitives are conformance cases (tests/conformance/dsync.cpp), run over
// every backend.
//
//   dsync_check kill_holder [busy_coordinator]
//       rank 1 takes a DistributedMutex, prints "rank 1 pid P holding" and sleeps; the others
//       queue for it and must get PeerLost once rank 1 is killed: each prints
//       "PeerLost(rank R): ..." and exits 0. With busy_coordinator rank 0 does not queue but
//       sleeps.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <string>
#include <thread>

#include "hilo/hilo.hpp"

using namespace std::chrono_literals;

namespace {

// Rank 1 holds the mutex until it is killed. The other ranks queue for it, except the
// coordinator (rank 0) when `coordinator_busy`: it then sleeps through the kill as if busy with
// other work, so the waiters cannot learn of the loss from the coordinator ending.
int kill_holder(hilo::Communicator& world, bool coordinator_busy) {
  // hilorun sends SIGTERM to the other ranks as soon as it reaps the killed one, racing with
  // their reports. Ignoring it gives them hilorun's grace period (SIGKILL follows, so nothing
  // can hang) to show that they got PeerLost on their own.
  std::signal(SIGTERM, SIG_IGN);
  hilo::DistributedMutex mutex(world);
  if (world.rank() == 1) mutex.lock();
  world.barrier();
  if (world.rank() == 1) {
    std::cout << "rank 1 pid " << getpid() << " holding" << std::endl;
    for (;;) std::this_thread::sleep_for(1s);  // until killed
  }
  if (world.rank() == 0 && coordinator_busy) {
    std::cout << "rank 0 busy" << std::endl;
    std::this_thread::sleep_for(10s);  // hilorun ends it with SIGKILL after its grace period
    return 0;
  }
  std::cout << "rank " << world.rank() << " waiting" << std::endl;
  try {
    mutex.lock();
    std::cout << "rank " << world.rank() << " got the mutex that rank 1 holds" << std::endl;
    return 1;
  } catch (const hilo::PeerLost& e) {
    std::cout << "PeerLost(rank " << e.rank() << "): " << e.what() << std::endl;
    return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    hilo::Runtime runtime(argc, argv);
    hilo::Communicator& world = runtime.world();
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "kill_holder") {
      if (world.size() < 3) {
        std::cerr << "dsync_check kill_holder needs at least 3 ranks" << std::endl;
        return 2;
      }
      return kill_holder(world, argc > 2 && std::string(argv[2]) == "busy_coordinator");
    }
    std::cerr << "usage: dsync_check kill_holder [busy_coordinator]" << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dsync_check: " << e.what() << std::endl;
    return 3;
  }
}
