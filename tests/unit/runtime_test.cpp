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

TEST_CASE("the environment picks the backend, HILO_BACKEND first") {
  CleanEnvironment clean;
  CHECK(hilo::selected_backend() == "local");
  ::setenv("SLURM_PROCID", "0", 1);
  ::setenv("SLURM_NTASKS", "2", 1);
  CHECK(hilo::selected_backend() == "tcp");
  ::setenv("PMIX_RANK", "0", 1);
  CHECK(hilo::selected_backend() == "mpi");
  ::setenv("HILO_LAUNCHER", "hilorun", 1);
  CHECK(hilo::selected_backend() == "tcp");
  ::setenv("HILO_BACKEND", "local", 1);
  CHECK(hilo::selected_backend() == "local");
}

TEST_CASE("an unknown HILO_BACKEND is an error that lists the known ones") {
  CleanEnvironment clean;
  ::setenv("HILO_BACKEND", "carrier-pigeon", 1);
  try {
    hilo::selected_backend();
    FAIL("no error");
  } catch (const hilo::Error& e) {
    std::string what = e.what();
    CHECK(what.find("carrier-pigeon") != std::string::npos);
    CHECK(what.find("local, mpi or tcp") != std::string::npos);
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
