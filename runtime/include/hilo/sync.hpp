// The intra-node sync layer: mutex, semaphores, barrier and thread pool (see DESIGN.md, layer 1).
#pragma once

#include "hilo/sync/barrier.hpp"
#include "hilo/sync/mutex.hpp"
#include "hilo/sync/semaphore.hpp"
#include "hilo/sync/thread_pool.hpp"
