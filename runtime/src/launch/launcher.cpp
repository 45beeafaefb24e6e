#include "launch/launcher.hpp"

#include <cstdlib>
#include <initializer_list>

#include "hilo/detail/error_message.hpp"
#include "launch/environment.hpp"

namespace hilo::launch {
namespace {

bool has_env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

// The first of `names` that is set, or "".
std::string first_set(std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (has_env(name)) return name;
  return "";
}

// What a user does to get `backend` working, whatever started the program now.
std::string_view how_to_use(std::string_view backend) {
  if (backend == "local") return "to run a single local rank, start the program without a launcher";
  if (backend == "mpi")
    return "for the mpi backend, start the program with mpirun or srun --mpi=pmix";
  return "for the tcp backend, start the program with hilorun or srun";
}

}  // namespace

Launcher detect_launcher() {
  if (has_env(env::launcher)) return {LauncherKind::hilorun, env::launcher};
  if (has_env("OMPI_COMM_WORLD_SIZE")) return {LauncherKind::mpirun, "OMPI_COMM_WORLD_SIZE"};
  const bool slurm_task = has_env("SLURM_PROCID") && has_env("SLURM_NTASKS");
  if (std::string pmi = first_set({"PMIX_RANK", "PMI_RANK"}); !pmi.empty())
    return {slurm_task ? LauncherKind::srun_with_pmi : LauncherKind::mpirun, pmi};
  if (slurm_task) return {LauncherKind::srun, "SLURM_PROCID"};
  return {};
}

std::string_view launcher_name(LauncherKind kind) {
  switch (kind) {
    case LauncherKind::hilorun:
      return "hilorun";
    case LauncherKind::mpirun:
      return "mpirun";
    case LauncherKind::srun_with_pmi:
      return "srun --mpi=pmix";
    case LauncherKind::srun:
      return "srun";
    case LauncherKind::none:
      break;
  }
  return "no launcher";
}

std::string_view default_backend(LauncherKind kind) {
  switch (kind) {
    case LauncherKind::hilorun:
    case LauncherKind::srun:
      return "tcp";
    case LauncherKind::mpirun:
    case LauncherKind::srun_with_pmi:
      return "mpi";
    case LauncherKind::none:
      break;
  }
  return "local";
}

bool backend_fits(std::string_view backend, LauncherKind kind) {
  if (kind == LauncherKind::none || backend == default_backend(kind)) return true;
  // srun's task variables are there under any --mpi plugin, and the tcp backend needs no more.
  return kind == LauncherKind::srun_with_pmi && backend == "tcp";
}

std::string backend_mismatch_message(std::string_view backend, const Launcher& launcher) {
  const std::string_view name = launcher_name(launcher.kind);
  const std::string_view alternative =
      launcher.kind == LauncherKind::srun_with_pmi ? " or HILO_BACKEND=tcp" : "";
  return detail::make_message("hilo: HILO_BACKEND=", backend, " does not work under ", name, " (",
                              launcher.evidence, " is set): the ", backend,
                              " backend cannot connect the ranks ", name,
                              " started, so each would run alone as a one-rank job. Under ", name,
                              " use HILO_BACKEND=", default_backend(launcher.kind), alternative,
                              " or leave HILO_BACKEND unset; ", how_to_use(backend), ".");
}

}  // namespace hilo::launch
