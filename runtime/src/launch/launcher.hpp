// Which launcher started this process, told by the variables each launcher sets, and which
// backends can connect the ranks it started. hilo::selected_backend() (backends/select.cpp)
// applies it.
//
// The rule: HILO_BACKEND may only name a backend that connects every rank of the launcher;
// anything else would run each rank alone as a one-rank job and is a hilo::Error instead.
//
//   launcher (found by)                             default   HILO_BACKEND may also be
//   none (no variable below)                        local     mpi, tcp (each a single rank)
//   hilorun (HILO_LAUNCHER)                         tcp       -
//   mpirun (OMPI_COMM_WORLD_SIZE, or PMIX_RANK /    mpi       -
//     PMI_RANK without Slurm's task variables)
//   srun --mpi=pmix|pmi2 (PMIX_RANK or PMI_RANK,    mpi       tcp (it reads Slurm's variables)
//     with SLURM_PROCID and SLURM_NTASKS)
//   srun (SLURM_PROCID and SLURM_NTASKS)            tcp       -
//
// The first match wins, top to bottom in detect_launcher(): hilorun before mpirun (a hilorun job
// started from inside an MPI job), mpirun before srun (mpirun inside a Slurm allocation passes
// Slurm's variables on to its ranks).
#pragma once

#include <string>
#include <string_view>

namespace hilo::launch {

enum class LauncherKind { none, hilorun, mpirun, srun_with_pmi, srun };

struct Launcher {
  LauncherKind kind = LauncherKind::none;
  std::string evidence;  // the variable that gave it away, e.g. "OMPI_COMM_WORLD_SIZE"
};

// The launcher of this process, from its environment.
Launcher detect_launcher();

// How users call it: "hilorun", "mpirun", "srun --mpi=pmix", "srun", "no launcher".
std::string_view launcher_name(LauncherKind kind);

// The backend ("local", "mpi" or "tcp") a launcher gets when HILO_BACKEND is unset.
std::string_view default_backend(LauncherKind kind);

// Whether `backend` connects every rank that `kind` started (the table above).
bool backend_fits(std::string_view backend, LauncherKind kind);

// The message of the hilo::Error for a HILO_BACKEND that does not fit `launcher`: it names
// HILO_BACKEND, the launcher and its variable, and what to do instead.
std::string backend_mismatch_message(std::string_view backend, const Launcher& launcher);

}  // namespace hilo::launch
