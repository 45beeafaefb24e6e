// Synchronisation between the ranks of a communicator, on any backend: a mutex and a counting
// semaphore whose holders may be on different hosts. See each header for its contract.
#pragma once

#include "hilo/dsync/distributed_mutex.hpp"
#include "hilo/dsync/distributed_semaphore.hpp"
