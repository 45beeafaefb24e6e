// The intra-node sync layer: mutex, semaphores, barrier and thread pool (docs/ARCHITECTURE.md
// places it among the layers).
#pragma once

#include "hilo/sync/barrier.hpp"
#include "hilo/sync/mutex.hpp"
#include "hilo/sync/semaphore.hpp"
#include "hilo/sync/thread_pool.hpp"
