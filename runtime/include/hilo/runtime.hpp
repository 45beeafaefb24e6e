// hilo::Runtime: starts the backend the environment asks for and gives the world communicator.
//
//   int main(int argc, char** argv) {
//     hilo::Runtime rt(argc, argv);
//     hilo::Communicator& world = rt.world();
//     ...
//   }  // the backend is shut down here
//
// The backend follows the launcher that started the program (first match wins):
//   1. hilorun (HILO_LAUNCHER) -> tcp;
//   2. Open MPI's mpirun or another PMIx/PMI launcher (OMPI_COMM_WORLD_SIZE, PMIX_RANK,
//      PMI_RANK) -> mpi, also under srun --mpi=pmix;
//   3. srun without MPI (SLURM_PROCID and SLURM_NTASKS) -> tcp, rank 0 as the rendezvous;
//   4. nothing -> local, a single rank.
// HILO_BACKEND=local|mpi|tcp chooses instead, but only a backend that connects every rank the
// launcher started: any of the three without a launcher (each a single rank), tcp as well as
// mpi under srun --mpi=pmix, and otherwise only the launcher's own. Anything else (mpi under
// hilorun, tcp under mpirun, local under any launcher) would run each rank as a separate
// one-rank job, so it is a hilo::Error naming HILO_BACKEND and the launcher.
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
// Throws hilo::Error for an unknown HILO_BACKEND, or one that contradicts the launcher (above).
std::string selected_backend();

}  // namespace hilo
