// Communicator's friend (communicator.hpp): what the library's own code needs of a communicator
// beyond its public interface. The mpi interop functions reach the transport through it, so that
// Communicator's own declaration needs no MPI type; the Runtime hands the world's registry of
// pending calls to the backend (backend.hpp) through it.
#pragma once

#include <memory>

#include "hilo/comm/communicator.hpp"

namespace hilo::detail {

struct CommunicatorAccess {
  static Transport& transport(const Communicator& comm) { return *comm.transport_; }
  static std::shared_ptr<const PendingOperations> pending(const Communicator& comm) {
    return comm.pending_;
  }
};

}  // namespace hilo::detail
