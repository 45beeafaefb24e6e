/// \file
/// hilo::Runtime, which starts the backend and gives the world communicator; hilo::run_local.
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

/// Starts the backend the environment asks for and gives the world communicator (MPI_Init and
/// MPI_COMM_WORLD).
///
/// \code
/// int main(int argc, char** argv) {
///   hilo::Runtime rt(argc, argv);
///   hilo::Communicator& world = rt.world();
///   ...
/// }  // the backend is shut down here
/// \endcode
///
/// The backend follows the launcher that started the program (first match wins):
///   1. hilorun (`HILO_LAUNCHER`) -> tcp;
///   2. Open MPI's mpirun or another PMIx/PMI launcher (`OMPI_COMM_WORLD_SIZE`, `PMIX_RANK`,
///      `PMI_RANK`) -> mpi, also under `srun --mpi=pmix`;
///   3. srun without MPI (`SLURM_PROCID` and `SLURM_NTASKS`) -> tcp, rank 0 as the rendezvous;
///   4. nothing -> local, a single rank.
///
/// `HILO_BACKEND=local|mpi|tcp` chooses instead, but only a backend that connects every rank the
/// launcher started: any of the three without a launcher (each a single rank), tcp as well as mpi
/// under `srun --mpi=pmix`, and otherwise only the launcher's own. Anything else (mpi under
/// hilorun, tcp under mpirun, local under any launcher) would run each rank as a separate
/// one-rank job, so it is a hilo::Error naming `HILO_BACKEND` and the launcher.
///
/// Not copyable. One Runtime per process.
class Runtime {
 public:
  /// Starts the selected backend without passing it the command line. Blocks until the backend
  /// is up: on tcp, until every rank has joined (bounded by HILO_TIMEOUT seconds, 120 s by
  /// default); on mpi, MPI_Init_thread. Throws hilo::Error for an unknown HILO_BACKEND, a
  /// backend this build lacks, a malformed HILO_TIMEOUT, HILO_LOG or HILO_CHECK (README: "Ranks
  /// in different collectives") or a failed start;
  /// hilo::Timeout when the other ranks do not join in time, hilo::PeerLost when one is lost
  /// meanwhile (tcp).
  Runtime();
  /// The same, giving MPI the command line: MPI may consume its own arguments from argc/argv.
  Runtime(int& argc, char**& argv);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  /// Destroys the world communicator, then shuts the backend down (MPI_Finalize on mpi; on tcp
  /// a final flush of messages still in flight, bounded by HILO_TIMEOUT, 10 s by default).
  ~Runtime();

  /// The communicator of every rank of the job (MPI_COMM_WORLD). Valid while the Runtime lives.
  Communicator& world() { return *world_; }
  /// "local", "mpi" or "tcp".
  std::string_view backend_name() const;

 private:
  void start(int* argc, char*** argv);

  // HILO_LOG's log of this process (hilo/detail/log.hpp), read once before the backend starts;
  // the backend keeps a copy, which lives as long as its transports do.
  detail::Log log_;
  std::unique_ptr<detail::Backend> backend_;
  std::unique_ptr<Communicator> world_;
};

/// Runs fn on n threads as ranks 0..n-1 of one communicator (the local backend) and returns when
/// all are done: blocks until every thread has ended. If a rank throws, the others' pending and
/// later operations fail with hilo::PeerLost (no rank hangs waiting for it), and the first
/// exception is rethrown here once every thread has ended. Throws std::invalid_argument unless
/// 1 <= n <= 4096 and fn is non-empty, hilo::Error for a bad HILO_LOG (each rank writes its log
/// lines as "hilo[rank R on HOST]: ..."). The ranks' communicators take their default time limit
/// from HILO_TIMEOUT, as any communicator does.
void run_local(int n, const std::function<void(Communicator&)>& fn);

/// Which backend the environment selects, without starting it ("local", "mpi" or "tcp"; see
/// Runtime). Never blocks. Throws hilo::Error for an unknown HILO_BACKEND, or one that
/// contradicts the launcher.
std::string selected_backend();

}  // namespace hilo
