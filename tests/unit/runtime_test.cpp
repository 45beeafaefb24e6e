#include <hilo/runtime.hpp>

#include <cstdlib>

#include "catch.hpp"

namespace {
// Clears the variables that select a backend, for the duration of one test.
struct CleanEnvironment {
  CleanEnvironment() { clear(); }
  ~CleanEnvironment() { clear(); }
  static void clear() {
    for (const char* v : {"HILO_BACKEND", "HILO_LAUNCHER", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                          "PMI_RANK", "SLURM_PROCID", "SLURM_NTASKS"})
      ::unsetenv(v);
  }
};
}  // namespace

TEST_CASE("the launcher's variables pick the backend") {
  CleanEnvironment clean;
  CHECK(hilo::selected_backend() == "local");
  ::setenv("SLURM_PROCID", "0", 1);
  ::setenv("SLURM_NTASKS", "2", 1);
  CHECK(hilo::selected_backend() == "tcp");
  ::setenv("PMIX_RANK", "0", 1);  // srun --mpi=pmix
  CHECK(hilo::selected_backend() == "mpi");
  ::setenv("HILO_LAUNCHER", "hilorun", 1);
  CHECK(hilo::selected_backend() == "tcp");
}

TEST_CASE("HILO_BACKEND chooses among the backends that fit the launcher") {
  CleanEnvironment clean;
  for (const char* backend : {"local", "mpi", "tcp"}) {  // no launcher: any, as a single rank
    ::setenv("HILO_BACKEND", backend, 1);
    CHECK(hilo::selected_backend() == backend);
  }
  // srun --mpi=pmix: the tcp backend reads Slurm's variables, so it connects the ranks too.
  ::setenv("SLURM_PROCID", "0", 1);
  ::setenv("SLURM_NTASKS", "2", 1);
  ::setenv("PMIX_RANK", "0", 1);
  ::setenv("HILO_BACKEND", "tcp", 1);
  CHECK(hilo::selected_backend() == "tcp");
  ::setenv("HILO_BACKEND", "mpi", 1);
  CHECK(hilo::selected_backend() == "mpi");
}

namespace {
// The message of the hilo::Error selected_backend() throws under the launcher that `variable`
// (set to `value`) stands for, with HILO_BACKEND=`backend`; "" if it does not throw.
std::string mismatch_error(const char* backend, std::initializer_list<const char*> variables) {
  CleanEnvironment clean;
  ::setenv("HILO_BACKEND", backend, 1);
  for (const char* variable : variables) ::setenv(variable, "2", 1);
  try {
    hilo::selected_backend();
  } catch (const hilo::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("a HILO_BACKEND that contradicts the launcher is an error naming both") {
  struct Case {
    const char* backend;
    std::initializer_list<const char*> variables;
    const char* launcher;
    const char* evidence;
  };
  const Case cases[] = {
      {"mpi", {"HILO_LAUNCHER"}, "under hilorun", "HILO_LAUNCHER is set"},
      {"local", {"HILO_LAUNCHER"}, "under hilorun", "HILO_LAUNCHER is set"},
      {"tcp", {"OMPI_COMM_WORLD_SIZE"}, "under mpirun", "OMPI_COMM_WORLD_SIZE is set"},
      {"local", {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK"}, "under mpirun", "OMPI_COMM_WORLD_SIZE"},
      {"tcp", {"PMIX_RANK"}, "under mpirun", "PMIX_RANK is set"},
      // mpirun inside a Slurm allocation: its ranks see Slurm's variables too.
      {"tcp", {"OMPI_COMM_WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS"}, "under mpirun", "OMPI_"},
      {"local",
       {"SLURM_PROCID", "SLURM_NTASKS", "PMIX_RANK"},
       "under srun --mpi=pmix",
       "PMIX_RANK is set"},
      {"mpi", {"SLURM_PROCID", "SLURM_NTASKS"}, "under srun", "SLURM_PROCID is set"},
      {"local", {"SLURM_PROCID", "SLURM_NTASKS"}, "under srun", "SLURM_PROCID is set"},
  };
  for (const Case& c : cases) {
    const std::string what = mismatch_error(c.backend, c.variables);
    INFO("HILO_BACKEND=" << c.backend << " with " << *c.variables.begin() << ": " << what);
    CHECK(what.starts_with(std::string("hilo: HILO_BACKEND=") + c.backend + " does not work " +
                           c.launcher + " ("));
    CHECK(what.find(c.evidence) != std::string::npos);
    CHECK(what.find("one-rank job") != std::string::npos);
    CHECK(what.find("leave HILO_BACKEND unset") != std::string::npos);
  }
  CleanEnvironment clean;
  ::setenv("HILO_LAUNCHER", "hilorun", 1);
  ::setenv("HILO_BACKEND", "local", 1);
  int argc = 0;
  char** argv = nullptr;
  CHECK_THROWS_AS(hilo::Runtime(argc, argv), hilo::Error);
}

TEST_CASE("an unknown HILO_BACKEND is an error that lists the known ones") {
  CleanEnvironment clean;
  ::setenv("HILO_BACKEND", "carrier-pigeon", 1);
  try {
    hilo::selected_backend();
    FAIL("no error");
  } catch (const hilo::Error& e) {
    std::string what = e.what();
    CHECK(what == "hilo: HILO_BACKEND='carrier-pigeon' is not a backend; use local, mpi or tcp");
  }
  int argc = 0;
  char** argv = nullptr;
  CHECK_THROWS_AS(hilo::Runtime(argc, argv), hilo::Error);
}

TEST_CASE("with nothing set, a program is one local rank") {
  CleanEnvironment clean;
  hilo::Runtime rt;
  CHECK(rt.backend_name() == "local");
  CHECK(rt.world().size() == 1);
  CHECK(rt.world().rank() == 0);
  CHECK(rt.world().all_reduce(5, std::plus<>{}) == 5);
  rt.world().send(0, 1, std::string("to myself"));
  CHECK(rt.world().recv<std::string>(0, 1) == "to myself");
}
