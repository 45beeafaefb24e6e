// Starting the TCP backend: from the environment to a connected world.
//
//   1. Where to listen: HILO_TCP_IF (network_choice.hpp) if set, else HILO_HOST_ADDR (hilorun
//      sets it), else, under srun, the address this host's name resolves to. Never 0.0.0.0.
//      The port: ephemeral, or the first free one of HILO_TCP_PORTS=min-max.
//   2. Rendezvous (launch/rendezvous.hpp): register rank, host, ip and port; get the table.
//        under hilorun   HILO_RANK, HILO_SIZE, HILO_HOST, HILO_COORD, HILO_JOB_TOKEN
//        under srun      SLURM_PROCID, SLURM_NTASKS; the coordinator is rank 0, which runs a
//                        RendezvousServer at the first host of SLURM_STEP_NODELIST (or
//                        SLURM_JOB_NODELIST) on HILO_PORT, by default a port derived from
//                        SLURM_JOB_ID and SLURM_STEP_ID (slurm_port.hpp); the token is
//                        HILO_JOB_TOKEN if set (recommended: export a random one before srun),
//                        else one derived from SLURM_JOB_ID and SLURM_STEP_ID, which only keeps
//                        out other jobs and strays, since anyone on the cluster can read those.
//        neither         a single rank (HILO_BACKEND=tcp with no launcher), no sockets at all.
//   3. Mesh (mesh_setup.hpp): one authenticated connection per pair.
//   4. Engine (engine.hpp): the progress thread starts; the world transport is handed out.
// Time limits: HILO_TIMEOUT seconds bound the rendezvous and the mesh (default 120 s), and the
// final flush at shutdown (default 10 s). HILO_TCP_SPIN_US sets the progress thread's polling
// window (default_spin_window in engine.hpp; 0 = always block in the kernel).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backends/tcp/engine.hpp"

namespace hilo::tcp {

// Connects rank `rank` of the job described by `table` (one entry per rank, this one included,
// with `listener`'s address) and starts its engine. Used by the backend and by tests that run N
// ranks as threads of one process. `reports`: the report connection to hilorun, if any.
// `rank_log`: the rank's log (connections and shared memory set up), kept by the engine.
std::shared_ptr<Engine> connect_world(Listener listener, int rank, const std::string& token,
                                      const std::vector<launch::PeerAddress>& table,
                                      Deadline deadline,
                                      std::chrono::microseconds spin_window = default_spin_window,
                                      std::shared_ptr<launch::ReportChannel> reports = nullptr,
                                      const detail::Log& rank_log = {});

// HILO_TCP_SPIN_US, or the default; hilo::Error quoting a bad value.
std::chrono::microseconds spin_window_from_environment();

}  // namespace hilo::tcp
