// HILO_CHECK: the optional checks a job runs, read once by hilo::Runtime before its backend
// starts and handed to it.
#pragma once

namespace hilo::detail {

struct Checks {
  // HILO_CHECK=collectives: on the mpi backend, one MPI_Allgather of a small descriptor before
  // each blocking collective, so that ranks in different collectives raise
  // hilo::CollectiveMismatch instead of whatever MPI does (mpi_collective_check.cpp).
  bool collectives = false;
};

// HILO_CHECK's value: unset, empty or "none" for no check, "collectives". Anything else is a
// hilo::Error naming the variable and the accepted values.
Checks checks_from_environment();

}  // namespace hilo::detail
