// Requests and communicators that outlive the hilo::Runtime they came from: the program may keep
// them in variables declared before the runtime. Destroying them afterwards must neither crash
// nor call into a finalised MPI (Open MPI aborts the job for that); the messages they carried
// were never received and are dropped, as MPI_Finalize drops them.
// Run with 2 ranks under each launcher (or alone, on the local backend).
#include <hilo/hilo.hpp>

#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<double> caller_owned(1 << 20, 2.5);  // viewed by a span send: outlives everything
  std::vector<double> fixed_target(1 << 10);
  std::vector<std::string> serialized_target;
  std::vector<hilo::Request> unfinished;
  std::optional<hilo::Communicator> derived;
  std::string backend;
  {
    hilo::Runtime rt(argc, argv);
    hilo::Communicator& world = rt.world();
    backend = std::string(rt.backend_name());
    const int peer = (world.rank() + 1) % world.size();
    // Large sends no one receives (so they cannot complete eagerly) ...
    unfinished.push_back(world.isend(peer, 1, std::vector<double>(1 << 20, 1.5)));  // owns its copy
    unfinished.push_back(world.isend(peer, 2, std::span<const double>(caller_owned)));
    // ... and receives no one sends to: one of known size, one of unknown size.
    unfinished.push_back(world.irecv(peer, 3, std::span<double>(fixed_target)));
    unfinished.push_back(world.irecv(peer, 4, serialized_target));
    derived = world.dup();
    world.barrier();  // every rank has its unfinished requests before any runtime ends
  }
  unfinished.clear();
  derived.reset();
  std::printf("requests_outlive_runtime: OK (%s backend)\n", backend.c_str());
  return 0;
}
