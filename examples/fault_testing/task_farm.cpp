#include "task_farm.hpp"

#include <stdexcept>
#include <vector>

namespace task_farm {

namespace {
constexpr int task_tag = 1;    // master -> worker: a task number
constexpr int stop_tag = 2;    // master -> worker: no more tasks
constexpr int result_tag = 3;  // worker -> master: a Result

struct Result {
  int task;
  std::uint64_t square;
};

Outcome master(hilo::Communicator& world, int tasks, hilo::TimeLimit limit) {
  Outcome out;
  const int workers = world.size() - 1;
  if (workers == 0) {
    for (int t = 1; t <= tasks; ++t) out.sum += static_cast<std::uint64_t>(t) * t;
    out.results = tasks;
    out.complete = true;
    out.report = "master worked alone";
    return out;
  }
  // The task assigned to each worker, 0 for none; assigned before it is sent, so that a worker
  // lost while it is being handed the task is reported as holding it.
  std::vector<int> holding(world.size(), 0);
  int next_task = 1;
  // Hands `worker` the next task, or tells it to stop.
  auto hand_out = [&](int worker) {
    if (next_task <= tasks) {
      holding[worker] = next_task;
      world.send(worker, task_tag, next_task++, limit);
    } else {
      world.send(worker, stop_tag, 0, limit);
      holding[worker] = 0;
    }
  };
  try {
    for (int w = 1; w <= workers; ++w) hand_out(w);
    while (out.results < tasks) {
      Result r{};
      const hilo::Status from = world.recv(hilo::any_source, result_tag, r, limit);
      out.sum += r.square;
      ++out.results;
      hand_out(from.source);
    }
    out.complete = true;
    out.report = "master summed " + std::to_string(out.results) + " results";
  } catch (const hilo::PeerLost& lost) {
    out.lost_rank = lost.rank();
    const int task = lost.rank() > 0 && lost.rank() < world.size() ? holding[lost.rank()] : 0;
    out.report = "worker " + std::to_string(lost.rank()) + " was lost" +
                 (task > 0 ? " holding task " + std::to_string(task) : std::string()) + " after " +
                 std::to_string(out.results) + " of " + std::to_string(tasks) + " results (" +
                 lost.what() + ")";
  }
  return out;
}

Outcome worker(hilo::Communicator& world, hilo::TimeLimit limit) {
  Outcome out;
  try {
    for (;;) {
      int task = 0;
      const hilo::Status s = world.recv(0, hilo::any_tag, task, limit);
      if (s.tag == stop_tag) break;
      world.send(0, result_tag, Result{task, static_cast<std::uint64_t>(task) * task}, limit);
      ++out.results;
    }
    out.complete = true;
    out.report =
        "worker " + std::to_string(world.rank()) + " did " + std::to_string(out.results) + " tasks";
  } catch (const hilo::PeerLost& lost) {
    out.lost_rank = lost.rank();
    out.report = "worker " + std::to_string(world.rank()) + " lost rank " +
                 std::to_string(lost.rank()) + " (" + lost.what() + ")";
  }
  return out;
}
}  // namespace

std::uint64_t expected_sum(int tasks) {
  const auto n = static_cast<std::uint64_t>(tasks);
  return n * (n + 1) * (2 * n + 1) / 6;
}

Outcome run(hilo::Communicator& world, int tasks, std::chrono::seconds limit) {
  if (tasks < 1)
    throw std::invalid_argument("task_farm: tasks is " + std::to_string(tasks) +
                                "; give at least 1");
  return world.rank() == 0 ? master(world, tasks, hilo::within(limit))
                           : worker(world, hilo::within(limit));
}

}  // namespace task_farm
