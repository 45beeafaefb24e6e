// Between processes on one host: shared memory, process-shared mutex and semaphore, pipes and
// child processes. See each header for its contract.
#pragma once

#include "hilo/ipc/child_process.hpp"
#include "hilo/ipc/pipe.hpp"
#include "hilo/ipc/process_mutex.hpp"
#include "hilo/ipc/process_semaphore.hpp"
#include "hilo/ipc/shared_memory.hpp"
