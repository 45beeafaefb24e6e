// An outside program using an installed hilo: built by consumer/CMakeLists.txt (find_package)
// and by makefile_consumer/Makefile (pkg-config). `consumer threads` runs 3 ranks as threads;
// plain `consumer` takes its ranks from the launcher (hilorun, mpirun) like any hilo program.
#include <hilo/hilo.hpp>
#if defined(HILO_WITH_MPI)
#include <hilo/mpi.hpp>  // the MPI interop header is installed, compiles and links outside too
#endif

#include <cstdio>
#include <stdexcept>
#include <string_view>

namespace {
void report(hilo::Communicator& world) {
  const long n = world.size();
  const long total = world.all_reduce(static_cast<long>(world.rank() + 1), std::plus<>{});
  bool interop_ok = true;
#if defined(HILO_WITH_MPI)
  // The MPI_Comm is there on the mpi backend only; elsewhere (threads, hilorun) asking is
  // std::invalid_argument.
  const bool on_mpi = world.backend_name() == "mpi";
  try {
    (void)hilo::mpi::native_handle(world);
    interop_ok = on_mpi;
  } catch (const std::invalid_argument&) {  // a communicator of another backend
    interop_ok = !on_mpi;
  }
#endif
  if (world.rank() != 0) return;
  // The library's version (compiled into libhilo) must be the headers' version.
  const bool ok = total == n * (n + 1) / 2 && hilo::version() == HILO_VERSION_STRING && interop_ok;
  std::printf("consumer: %s ranks=%ld total=%ld version=%.*s headers=%s\n", ok ? "OK" : "FAILED", n,
              total, static_cast<int>(hilo::version().size()), hilo::version().data(),
              HILO_VERSION_STRING);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "threads") {
    hilo::run_local(3, report);
    return 0;
  }
  hilo::Runtime runtime(argc, argv);
  report(runtime.world());
}
