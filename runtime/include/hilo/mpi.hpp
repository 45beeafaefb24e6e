/// \file
/// MPI interop: the MPI_Comm behind a hilo::Communicator, and a Communicator over an MPI_Comm of
/// the program's own.
///
/// This is the one hilo header that includes <mpi.h>, so only a translation unit that calls MPI
/// itself pays for parsing it; <hilo/hilo.hpp> does not include this header.
///
/// \code
/// #include <hilo/hilo.hpp>
/// #include <hilo/mpi.hpp>
///
/// MPI_Comm comm = hilo::mpi::native_handle(world);   // the mpi backend's MPI_Comm
/// MPI_Barrier(comm);
/// hilo::Communicator mine = hilo::mpi::from_native(my_comm);   // hilo over an MPI_Comm
/// \endcode
#pragma once

#if !defined(HILO_WITH_MPI)
#error \
    "hilo/mpi.hpp: this hilo was built without MPI (HILO_WITH_MPI=OFF); configure hilo with -DHILO_WITH_MPI=ON to use MPI interop"
#endif

#ifndef OMPI_SKIP_MPICXX
/// hilo uses MPI's C API; Open MPI's deprecated C++ bindings would need libmpi_cxx at link time.
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
/// The same for MPICH's C++ bindings.
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include "hilo/comm/communicator.hpp"

/// Calling MPI directly alongside hilo.
namespace hilo::mpi {

/// The MPI_Comm behind `comm`, to call MPI directly. It stays `comm`'s: do not free it, and do not
/// use it after `comm` is gone. Throws std::invalid_argument unless `comm` runs on the mpi backend.
MPI_Comm native_handle(const Communicator& comm);

/// A communicator over an existing MPI communicator, which stays the caller's to free (after the
/// returned Communicator is gone). Collective over `comm`. Throws hilo::Error unless MPI is
/// already initialised (MPI_Init_thread; MPI_THREAD_MULTIPLE if several threads will use it).
Communicator from_native(MPI_Comm comm);

}  // namespace hilo::mpi
