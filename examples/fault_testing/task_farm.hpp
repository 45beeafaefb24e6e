// A task farm that must say which rank it lost: rank 0 (the master) hands tasks 1..N to the
// other ranks (the workers) one at a time, and sums the squares they send back. If a rank is
// lost, every rank stops and reports it instead of hanging: the master names the worker and the
// task it held, a worker names the rank it lost.
#pragma once

#include <hilo/comm/communicator.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace task_farm {

struct Outcome {
  bool complete = false;  // every task's result was summed (master) or handed in (worker)
  std::uint64_t sum = 0;  // master: the sum of the squares received
  int results = 0;        // master: how many results it received; worker: how many it sent
  int lost_rank = -1;     // the rank that was lost, or -1
  std::string report;     // one line saying what happened
};

// The sum of the squares of 1..tasks, what a complete farm returns on the master.
std::uint64_t expected_sum(int tasks);

// Runs the farm on `world` (every rank calls it; with one rank the master works alone). Every
// wait is bounded by `limit`. Returns the rank's outcome; a lost rank is reported in it, not
// thrown. Throws std::invalid_argument if tasks < 1, and what hilo throws besides PeerLost.
Outcome run(hilo::Communicator& world, int tasks,
            std::chrono::seconds limit = std::chrono::seconds(60));

}  // namespace task_farm
