// Runs a function on p ranks as threads of the test process over the local backend, on each
// rank's collective channel, for unit tests of the collective algorithms (they include
// runtime/src, as every unit test may). Checks nothing itself: Catch2's assertions are not
// thread-safe, so it returns what each rank raised and the test checks on its own thread.
#pragma once

#include <exception>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "backends/local/local_transport.hpp"

namespace hilo::testing_support {

// fn(transport) on p ranks; returns each rank's error message ("" where it succeeded).
template <class Fn>
std::vector<std::string> run_on_local_ranks(int p, Fn fn) {
  auto world = std::make_shared<hilo::local::LocalWorld>(p);
  std::vector<int> members(p);
  std::iota(members.begin(), members.end(), 0);
  std::vector<std::thread> threads;
  std::vector<std::string> failures(p);
  for (int r = 0; r < p; ++r)
    threads.emplace_back([&, r] {
      try {
        hilo::local::LocalTransport t(world, 0, members, r);
        fn(t.collective_channel());
        world->rank_finished(r);
      } catch (const std::exception& e) {
        failures[r] = e.what();
        world->rank_failed(r, std::current_exception());
      }
    });
  for (auto& t : threads) t.join();
  return failures;
}

}  // namespace hilo::testing_support
