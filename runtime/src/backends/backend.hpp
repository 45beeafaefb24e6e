// What a backend provides to hilo::Runtime: the world transport, and RAII over whatever the
// backend started (MPI_Init/MPI_Finalize, sockets, threads).
#pragma once

#include <memory>
#include <string_view>

#include "hilo/comm/detail/pending_operations.hpp"
#include "backends/checks.hpp"
#include "hilo/comm/detail/transport.hpp"

namespace hilo::detail {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // The world communicator's transport; called once.
  virtual std::unique_ptr<Transport> world() = 0;
  // The registry of the rank's pending calls (the world communicator's), for a backend that
  // reports them to its launcher (tcp under hilorun); called once, after world().
  virtual void watch_pending(std::shared_ptr<const PendingOperations> /*registry*/) {}
};

// Each backend writes to `log` (the Runtime's) as it starts, and keeps a copy for its transports.
std::unique_ptr<Backend> start_local_backend(const Log& log);  // one rank, no launcher
#if defined(HILO_WITH_MPI)
// `checks`: HILO_CHECK's (checks.hpp); only the mpi backend has checks to switch on.
std::unique_ptr<Backend> start_mpi_backend(int* argc, char*** argv, const Log& log,
                                           const Checks& checks);
#endif
#if defined(HILO_WITH_TCP)
std::unique_ptr<Backend> start_tcp_backend(const Log& log);
#endif

}  // namespace hilo::detail
