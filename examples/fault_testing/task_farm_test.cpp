// The task farm's own tests, as a user of hilo writes them: run on threads with
// hilo::run_local, and against faults with a hilo::testing::FaultPlan (a killed rank, delayed and
// reordered messages), deterministically and without a cluster.
#include <hilo/testing.hpp>

#include "catch.hpp"  // Catch2 2 or 3: <catch2/catch.hpp> or <catch2/catch_all.hpp>

#include <chrono>
#include <vector>

#include "task_farm.hpp"

namespace {
constexpr int ranks = 4;
constexpr int tasks = 50;
// Every wait of the farm is bounded: a loss that is not reported fails the test, never hangs it.
constexpr std::chrono::seconds limit(30);

// Each rank's outcome; Catch2's assertions are checked here, on the test's thread.
std::vector<task_farm::Outcome> farm(const hilo::testing::FaultPlan& plan) {
  std::vector<task_farm::Outcome> outcomes(ranks);
  hilo::run_local(
      ranks,
      [&](hilo::Communicator& world) {
        outcomes[world.rank()] = task_farm::run(world, tasks, limit);
      },
      plan);
  return outcomes;
}
}  // namespace

TEST_CASE("the farm sums every task, also with delayed and reordered messages") {
  for (std::uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    hilo::testing::FaultPlan plan;
    plan.delay(std::chrono::microseconds(200)).reorder().seed(seed);
    const auto outcomes = farm(plan);
    CHECK(outcomes[0].complete);
    CHECK(outcomes[0].sum == task_farm::expected_sum(tasks));
    int done = 0;
    for (int r = 1; r < ranks; ++r) {
      CHECK(outcomes[r].complete);
      done += outcomes[r].results;
    }
    CHECK(done == tasks);
  }
}

TEST_CASE("a lost worker is named by the master, with the task it held, and nobody hangs") {
  hilo::testing::FaultPlan plan;
  plan.kill(2, 1);  // worker 2 dies at its first call, the receive of its first task (task 2)
  const auto outcomes = farm(plan);  // returns: the killed rank is no error, the others report
  // Task 2's result never comes, so the master cannot finish: it must name worker 2.
  CHECK_FALSE(outcomes[0].complete);
  CHECK(outcomes[0].lost_rank == 2);
  CHECK_THAT(outcomes[0].report, Catch::Matchers::StartsWith("worker 2 was lost holding task 2 "));
  // The other workers either were told to stop before the loss was known (the master had
  // handed out every task) or saw the loss: never anything else, never a hang.
  for (int r : {1, 3}) {
    CAPTURE(r, outcomes[r].report);
    CHECK((outcomes[r].complete || outcomes[r].lost_rank == 2));
  }
}

TEST_CASE("a lost master is named by every worker") {
  hilo::testing::FaultPlan plan;
  plan.kill(0, 5);
  // The master hands out three tasks (calls 1-3), receives a result (4) and dies handing out the
  // next (5): it never told anyone to stop, so every worker must see the loss.
  const auto outcomes = farm(plan);
  for (int r = 1; r < ranks; ++r) {
    CAPTURE(r);
    CHECK_FALSE(outcomes[r].complete);
    CHECK(outcomes[r].lost_rank == 0);
  }
}
