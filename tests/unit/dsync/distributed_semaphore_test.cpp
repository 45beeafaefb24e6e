// hilo::DistributedSemaphore over the local backend (ranks are threads of this process). The
// holder counts are kept by the test itself, outside the semaphore, so they do not trust its
// own bookkeeping.
#include "hilo/dsync/distributed_semaphore.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "hilo/runtime.hpp"
#include "hilo/sync/semaphore.hpp"
#include "rank_check.hpp"

using hilo::Communicator;
using hilo::DistributedSemaphore;
using namespace std::chrono_literals;

namespace {

// How many hold a unit right now, and the most that ever did at once.
struct HolderCount {
  std::atomic<int> now{0};
  std::atomic<int> high_water{0};

  void enter() {
    int inside = now.fetch_add(1) + 1;
    int seen = high_water.load();
    while (inside > seen && !high_water.compare_exchange_weak(seen, inside)) {
    }
  }
  void leave() { now.fetch_sub(1); }
};

}  // namespace

TEST_CASE("at most k ranks hold a DistributedSemaphore at once, over many rounds") {
  const int n = GENERATE(2, 3, 4, 5, 7);
  const int k = GENERATE(1, 2, 3);
  constexpr int rounds = 150;
  HolderCount holders;
  std::atomic<int> acquisitions{0};
  hilo::run_local(n, [&](Communicator& world) {
    DistributedSemaphore licences(world, k);
    rank_check(licences.limit() == k, "licences.limit() == k");
    for (int i = 0; i < rounds; ++i) {
      licences.acquire();
      holders.enter();
      acquisitions.fetch_add(1);
      if (i % 8 == 0) std::this_thread::yield();  // vary how long units are held
      holders.leave();
      licences.release();
    }
    rank_check(licences.held_here() == 0, "licences.held_here() == 0");
  });
  INFO("n = " << n << ", k = " << k);
  CHECK(holders.high_water.load() <= k);
  CHECK(holders.high_water.load() >= 1);
  CHECK(acquisitions.load() == n * rounds);
}

TEST_CASE("k ranks can hold a DistributedSemaphore at the same time") {
  // The k holders meet in a barrier while holding: if fewer than k were let in, the barrier
  // would time out instead.
  const int n = GENERATE(2, 3, 4, 7);
  const int k = n - 1;
  hilo::run_local(n, [&](Communicator& world) {
    DistributedSemaphore licences(world, k);
    Communicator holders = world.split(world.rank() < k ? 0 : 1, world.rank());
    if (world.rank() < k) {
      licences.acquire();
      holders.barrier(hilo::within(20s));
      licences.release();
    }
    world.barrier();
  });
}

TEST_CASE("no rank starves: every rank gets units while rank 0 acquires greedily") {
  // FIFO at the coordinator: rank 0 (which is also the coordinator, the cheapest rank to
  // serve) re-acquires as fast as it can, and keeps doing so until every other rank has had
  // `wanted` units. With FIFO granting that takes as long as the scheduler needs to run the
  // others once; a coordinator that let rank 0 jump the queue would keep them at zero until the
  // deadline. A fixed number of greedy rounds would not do: on 2 cores rank 0 can finish them
  // before another rank's first request has even been sent, which says nothing about fairness.
  const int n = GENERATE(2, 3, 4, 7);
  const int k = GENERATE(1, 2);
  constexpr int min_greedy_rounds = 300;
  constexpr int wanted = 3;
  constexpr auto deadline = 30s;
  std::vector<std::atomic<int>> per_rank(static_cast<std::size_t>(n));
  std::atomic<bool> stop{false};
  HolderCount holders;
  auto others_have_enough = [&] {
    return std::all_of(per_rank.begin() + 1, per_rank.end(),
                       [&](const std::atomic<int>& got) { return got.load() >= wanted; });
  };
  hilo::run_local(n, [&](Communicator& world) {
    DistributedSemaphore licences(world, k);
    world.barrier();
    auto& mine = per_rank[static_cast<std::size_t>(world.rank())];
    auto hold_once = [&] {
      licences.acquire();
      holders.enter();
      mine.fetch_add(1);
      holders.leave();
      licences.release();
    };
    if (world.rank() == 0) {
      const auto give_up = std::chrono::steady_clock::now() + deadline;
      while ((mine.load() < min_greedy_rounds || !others_have_enough()) &&
             std::chrono::steady_clock::now() < give_up)
        hold_once();
      stop.store(true);
    } else {
      while (!stop.load()) hold_once();
    }
  });
  INFO("n = " << n << ", k = " << k);
  CHECK(holders.high_water.load() <= k);
  CHECK(per_rank[0].load() >= min_greedy_rounds);
  for (int r = 1; r < n; ++r) {
    INFO("rank " << r);
    CHECK(per_rank[static_cast<std::size_t>(r)].load() >= wanted);
  }
}

TEST_CASE("the threads of one rank share the rank's units") {
  // 3 ranks x 4 threads compete for 2 units: the limit is job-wide, not per rank.
  constexpr int k = 2;
  constexpr int threads_per_rank = 4;
  constexpr int rounds = 60;
  HolderCount holders;
  hilo::run_local(3, [&](Communicator& world) {
    DistributedSemaphore licences(world, k);
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_per_rank; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < rounds; ++i) {
          licences.acquire();
          holders.enter();
          std::this_thread::yield();
          holders.leave();
          licences.release();
        }
      });
    }
    for (auto& t : threads) t.join();
    rank_check(licences.held_here() == 0, "licences.held_here() == 0");
  });
  CHECK(holders.high_water.load() <= k);
}

TEST_CASE("try_acquire_for times out when all k units are held, and not early") {
  const int n = GENERATE(2, 3, 4, 7);
  const int k = n - 1;  // ranks 0..k-1 hold every unit; rank k waits
  std::atomic<bool> timed_out{false};
  std::atomic<bool> refused_at_once{false};
  std::atomic<bool> acquired_after_release{false};
  hilo::run_local(n, [&](Communicator& world) {
    DistributedSemaphore licences(world, k);
    const bool holder = world.rank() < k;
    if (holder) licences.acquire();
    world.barrier();  // every unit is held from here
    if (!holder) {
      auto start = std::chrono::steady_clock::now();
      bool got = licences.try_acquire_for(150ms);
      auto waited = std::chrono::steady_clock::now() - start;
      timed_out = !got && waited >= 150ms;
      refused_at_once = !licences.try_acquire();
      rank_check(licences.held_here() == 0, "licences.held_here() == 0");
    }
    world.barrier();
    if (holder) licences.release();
    if (!holder) {
      // The withdrawn requests took nothing: a unit given back now reaches this rank.
      acquired_after_release = licences.try_acquire_for(20s);
      licences.release();
    }
  });
  INFO("n = " << n);
  CHECK(timed_out.load());
  CHECK(refused_at_once.load());
  CHECK(acquired_after_release.load());
}

TEST_CASE("acquire gives up after the communicator's default timeout and withdraws its request") {
  std::atomic<bool> threw_timeout{false};
  std::atomic<bool> later_acquire_worked{false};
  hilo::run_local(2, [&](Communicator& world) {
    if (world.rank() == 1) world.set_default_timeout(300ms);  // the semaphore inherits it
    DistributedSemaphore licences(world, 1);
    if (world.rank() == 0) licences.acquire();
    world.barrier(hilo::within(20s));
    if (world.rank() == 1) {
      try {
        licences.acquire();
      } catch (const hilo::Timeout& e) {
        const std::string message = e.what();
        threw_timeout = message.starts_with("hilo: DistributedSemaphore::acquire on rank 1: ") &&
                        message.find("default timeout") != std::string::npos;
      }
    }
    world.barrier(hilo::within(20s));
    if (world.rank() == 0) licences.release();
    if (world.rank() == 1) {
      later_acquire_worked = licences.try_acquire_for(20s);
      licences.release();
    }
    world.barrier(hilo::within(20s));
  });
  CHECK(threw_timeout.load());
  CHECK(later_acquire_worked.load());
}

TEST_CASE("units still held when a rank destroys the semaphore go back to the others") {
  std::atomic<bool> rank1_got_it{false};
  hilo::run_local(2, [&](Communicator& world) {
    DistributedSemaphore licences(world, 1);
    if (world.rank() == 0) {
      licences.acquire();  // and never released: the destructor gives it back
    } else {
      world.barrier();
      rank1_got_it = licences.try_acquire_for(20s);
      licences.release();
      return;
    }
    world.barrier();
  });
  CHECK(rank1_got_it.load());
}

TEST_CASE("release without acquire throws and changes nothing") {
  std::atomic<int> errors{0};
  hilo::run_local(2, [&](Communicator& world) {
    DistributedSemaphore licences(world, 1);
    try {
      licences.release();
    } catch (const hilo::Error& e) {
      const std::string message = e.what();
      const std::string prefix =
          "hilo: DistributedSemaphore::release on rank " + std::to_string(world.rank()) + ": ";
      if (message.starts_with(prefix) &&
          message.find("without a matching acquire") != std::string::npos)
        ++errors;
    }
    // Still exactly one unit: each rank takes it once, in turn.
    licences.acquire();
    licences.release();
  });
  CHECK(errors.load() == 2);
}

// A rank's own bad argument is std::invalid_argument on that rank; the others, which passed
// good ones, learn of it as a hilo::Error naming the rank (errors.hpp: it involves other ranks).
TEST_CASE("bad arguments throw std::invalid_argument on the rank that passed them") {
  SECTION("k < 1") {
    CHECK_THROWS_AS(
        hilo::run_local(3, [](Communicator& world) { DistributedSemaphore s(world, 0); }),
        std::invalid_argument);
    CHECK_THROWS_WITH(
        hilo::run_local(1, [](Communicator& world) { DistributedSemaphore s(world, 0); }),
        "hilo: DistributedSemaphore on rank 0: k = 0; k must be >= 1");
  }
  SECTION("a coordinator that is not a rank") {
    CHECK_THROWS_AS(
        hilo::run_local(3, [](Communicator& world) { DistributedSemaphore s(world, 1, 3); }),
        std::invalid_argument);
    CHECK_THROWS_WITH(
        hilo::run_local(1, [](Communicator& world) { DistributedSemaphore s(world, 1, 1); }),
        Catch::StartsWith("hilo: DistributedSemaphore on rank 0: coordinator 1 is not a rank"));
  }
  SECTION("only one rank is wrong: the others throw hilo::Error naming it") {
    std::atomic<int> told_of_rank_1{0};
    std::atomic<bool> rank_1_bad_argument{false};
    hilo::run_local(3, [&](Communicator& world) {
      try {
        DistributedSemaphore s(world, world.rank() == 1 ? 0 : 1);
      } catch (const std::invalid_argument&) {
        if (world.rank() == 1) rank_1_bad_argument = true;
      } catch (const hilo::Error& e) {
        const std::string expected = "hilo: DistributedSemaphore on rank " +
                                     std::to_string(world.rank()) + ": rank 1 passed k = 0";
        if (std::string(e.what()).starts_with(expected)) ++told_of_rank_1;
      }
    });
    CHECK(rank_1_bad_argument.load());
    CHECK(told_of_rank_1.load() == 2);
  }
}

TEST_CASE("ranks that disagree on k throw hilo::Error on every rank") {
  std::atomic<int> disagreements{0};
  hilo::run_local(3, [&](Communicator& world) {
    try {
      DistributedSemaphore s(world, world.rank() == 2 ? 2 : 1);
    } catch (const std::invalid_argument&) {
      // not a bad argument of this rank: counted as a failure below
    } catch (const hilo::Error& e) {
      const std::string message = e.what();
      if (message.starts_with("hilo: DistributedSemaphore on rank ") &&
          message.find("the ranks disagree: rank 0 passed k = 1, coordinator 0; rank 2 passed "
                       "k = 2") != std::string::npos)
        ++disagreements;
    }
  });
  CHECK(disagreements.load() == 3);
}

TEST_CASE("another coordinator rank works the same") {
  HolderCount holders;
  hilo::run_local(4, [&](Communicator& world) {
    DistributedSemaphore licences(world, 2, /*coordinator=*/3);
    rank_check(licences.coordinator() == 3, "licences.coordinator() == 3");
    for (int i = 0; i < 100; ++i) {
      licences.acquire();
      holders.enter();
      holders.leave();
      licences.release();
    }
  });
  CHECK(holders.high_water.load() <= 2);
}

TEST_CASE("a rank that dies while holding a unit makes the waiters throw PeerLost") {
  // Rank 1 "dies": it throws without running its semaphore's destructor (that object lives
  // outside the rank's function, as a killed process's would never be cleaned up), so its unit
  // is never given back. The waiters must hear of it instead of waiting forever.
  std::unique_ptr<DistributedSemaphore> rank1_licences;
  std::atomic<int> waiters_told{0};
  auto job = [&](Communicator& world) {
    if (world.rank() == 1) {
      rank1_licences = std::make_unique<DistributedSemaphore>(world, 1);
      rank1_licences->acquire();
      world.barrier();
      std::this_thread::sleep_for(100ms);  // let the others queue (not needed for the check)
      throw std::runtime_error("rank 1 crashed while holding");
    }
    DistributedSemaphore licences(world, 1);
    world.barrier();
    if (world.rank() >= 2) {
      try {
        licences.acquire();
      } catch (const hilo::PeerLost& e) {
        if (e.rank() == 1) ++waiters_told;
      }
    }
  };
  CHECK_THROWS_WITH(hilo::run_local(4, job), "rank 1 crashed while holding");
  CHECK(waiters_told.load() == 2);
  rank1_licences.reset();  // its shutdown fails (the job is over) and says so on stderr
}

TEST_CASE("a rank that throws between calls does not leave the others hanging") {
  // Rank 2's semaphore is destroyed by the exception; the others wait in a barrier for rank 2
  // and must get PeerLost, not wait for it to come and destroy its semaphore.
  const int coordinator = GENERATE(0, 2);
  std::atomic<int> peer_lost{0};
  auto job = [&](Communicator& world) {
    DistributedSemaphore licences(world, 1, coordinator);
    licences.acquire();
    licences.release();
    if (world.rank() == 2) {
      world.barrier();  // everyone is done with the semaphore; only its destructors remain
      throw std::runtime_error("rank 2 gave up");
    }
    // Rank 2 may leave the first barrier and fail while this rank is still inside it (waiting for
    // the other survivor's message): a failure fails every pending receive, so the PeerLost can
    // come from either barrier, but it must come, exactly once.
    try {
      world.barrier();
      world.barrier();
    } catch (const hilo::PeerLost&) {
      ++peer_lost;
    }
  };
  CHECK_THROWS_WITH(hilo::run_local(3, job), "rank 2 gave up");
  CHECK(peer_lost.load() == 2);
}

TEST_CASE("hilo::SemaphoreGuard holds a unit of a DistributedSemaphore for a scope") {
  HolderCount holders;
  hilo::run_local(3, [&](Communicator& world) {
    DistributedSemaphore licences(world, 1);
    for (int i = 0; i < 50; ++i) {
      hilo::SemaphoreGuard guard(licences);
      holders.enter();
      holders.leave();
    }
    rank_check(licences.held_here() == 0, "licences.held_here() == 0");
  });
  CHECK(holders.high_water.load() == 1);
}
