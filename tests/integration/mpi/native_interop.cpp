// hilo/mpi.hpp inside a real MPI job: native_handle gives the MPI_Comm behind the world, MPI calls
// on it see the same ranks, from_native runs hilo over a communicator the program split itself,
// and native_handle on a communicator of another backend is an error naming that backend.
// Prints "native_interop: OK" on every rank that passed, "FAILED: <what>" otherwise.
#include <hilo/hilo.hpp>
#include <hilo/mpi.hpp>

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>

namespace {

bool check(bool ok, int rank, const char* what) {
  if (!ok) std::printf("native_interop: rank %d FAILED: %s\n", rank, what);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  hilo::Runtime rt(argc, argv);
  hilo::Communicator& world = rt.world();
  const int rank = world.rank();
  bool ok = check(world.backend_name() == "mpi", rank, "the world runs on the mpi backend");

  MPI_Comm native = hilo::mpi::native_handle(world);
  int native_rank = -1, native_size = -1;
  MPI_Comm_rank(native, &native_rank);
  MPI_Comm_size(native, &native_size);
  ok &= check(native_rank == rank && native_size == world.size(), rank,
              "native_handle's MPI_Comm has the world's rank and size");
  int rank_sum = 0;
  MPI_Allreduce(&rank, &rank_sum, 1, MPI_INT, MPI_SUM, native);
  ok &= check(rank_sum == world.size() * (world.size() - 1) / 2, rank,
              "MPI_Allreduce on native_handle's MPI_Comm sums the ranks");

  // Odd and even ranks, split by MPI; hilo runs over each half.
  MPI_Comm half = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
  int half_size = 0;
  MPI_Comm_size(half, &half_size);
  {
    hilo::Communicator hilo_half = hilo::mpi::from_native(half);
    ok &= check(hilo_half.size() == half_size, rank, "from_native's communicator has its size");
    ok &= check(hilo_half.all_reduce(1, std::plus<>{}) == half_size, rank,
                "all_reduce over from_native's communicator counts its ranks");
    ok &= check(hilo::mpi::native_handle(hilo_half) == half, rank,
                "native_handle of from_native's communicator is the MPI_Comm it was made from");
  }
  MPI_Comm_free(&half);  // the caller's to free, once hilo's communicator is gone

  if (rank == 0) {
    std::string message;
    hilo::run_local(2, [&](hilo::Communicator& local) {
      try {
        (void)hilo::mpi::native_handle(local);
      } catch (const std::invalid_argument& e) {  // a bad argument (hilo/errors.hpp)
        if (local.rank() == 0) message = e.what();
      }
    });
    ok &= check(message.find("mpi backend") != std::string::npos &&
                    message.find("'local'") != std::string::npos,
                rank, "native_handle on a local communicator names the backend it needs and has");
  }

  world.barrier();
  if (ok) std::printf("native_interop: rank %d OK\n", rank);
  return ok ? 0 : 1;
}
