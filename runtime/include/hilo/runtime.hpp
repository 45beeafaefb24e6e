// hilo::Runtime: starts the backend the environment asks for and gives the world communicator.
//
//   int main(int argc, char** argv) {
//     hilo::Runtime rt(argc, argv);
//     hilo::Communicator& world = rt.world();
//     ...
//   }  // the backend is shut down here
//
// The backend, first match wins:
//   1. HILO_BACKEND=local|mpi|tcp;
//   2. variables of hilorun (HILO_LAUNCHER) -> tcp;
//   3. variables of Open MPI's launcher or PMIx (OMPI_COMM_WORLD_SIZE, PMIX_RANK) -> mpi;
//   4. Slurm task variables (SLURM_PROCID) without MPI's -> tcp, rank 0 as the rendezvous;
//   5. nothing -> local, a single rank.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "hilo/comm/communicator.hpp"

namespace hilo {

namespace detail {
class Backend;
}

class Runtime {
 public:
  Runtime();
  Runtime(int& argc, char**& argv);  // MPI may consume its own arguments
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  ~Runtime();

  Communicator& world() { return *world_; }
  std::string_view backend_name() const;

 private:
  void start(int* argc, char*** argv);

  std::unique_ptr<detail::Backend> backend_;
  std::unique_ptr<Communicator> world_;
};

// Runs fn on n threads as ranks 0..n-1 of one communicator and returns when all are done.
// If a rank throws, the others' pending and later operations fail with hilo::PeerLost (no rank
// hangs waiting for it), and the first exception is rethrown here once every thread has ended.
void run_local(int n, const std::function<void(Communicator&)>& fn);

// Which backend the environment selects, without starting it ("local", "mpi" or "tcp").
// Throws hilo::Error for an unknown HILO_BACKEND.
std::string selected_backend();

}  // namespace hilo
