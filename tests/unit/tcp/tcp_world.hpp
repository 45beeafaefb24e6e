// The TCP backend end to end inside one process, shared by the tcp_transport tests: N ranks as
// threads, each with its own listener, mesh and progress engine, talking over loopback exactly as
// separate processes would. Included by one test file each: the helpers are defined here.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/tcp/bootstrap.hpp"
#include "backends/tcp/tcp_transport.hpp"
#include "hilo/comm/communicator.hpp"

namespace tcp_world {

using namespace std::chrono_literals;
using hilo::Communicator;
using hilo::tcp::Engine;

inline const std::string token(64, '7');

inline std::string host_name(int rank) {
  return "host" + std::to_string(rank);
}

// Listeners and the table a rendezvous would have produced.
struct Plan {
  std::vector<hilo::tcp::Listener> listeners;
  std::vector<hilo::launch::PeerAddress> table;
};

// Every rank on a host of its own, or (one_host) all on one host, as processes of one machine:
// then they offer each other their memory (single_copy.hpp, peer_memory.hpp).
inline Plan plan_world(int n, bool one_host = false) {
  Plan plan;
  for (int r = 0; r < n; ++r) {
    plan.listeners.push_back(hilo::tcp::listen_on("127.0.0.1", {}));
    plan.table.push_back(
        {r, one_host ? host_name(0) : host_name(r), "127.0.0.1", plan.listeners.back().port});
  }
  return plan;
}

inline std::vector<std::shared_ptr<Engine>> connect_all(Plan plan, std::set<int> skip = {}) {
  const int n = static_cast<int>(plan.table.size());
  std::vector<std::future<std::shared_ptr<Engine>>> starting;
  for (int r = 0; r < n; ++r) {
    if (skip.count(r)) continue;
    starting.push_back(std::async(std::launch::async, [&plan, r] {
      return hilo::tcp::connect_world(std::move(plan.listeners[static_cast<std::size_t>(r)]), r,
                                      token, plan.table, hilo::Deadline::after(20s));
    }));
  }
  std::vector<std::shared_ptr<Engine>> engines(static_cast<std::size_t>(n));
  int i = 0;
  for (int r = 0; r < n; ++r)
    if (!skip.count(r))
      engines[static_cast<std::size_t>(r)] = starting[static_cast<std::size_t>(i++)].get();
  return engines;
}

inline std::unique_ptr<hilo::Transport> world_of(const std::shared_ptr<Engine>& engine) {
  std::vector<int> members(static_cast<std::size_t>(engine->size()));
  std::iota(members.begin(), members.end(), 0);
  return std::make_unique<hilo::tcp::TcpTransport>(engine, 0, members, engine->rank());
}

// Catch's assertions are not thread-safe, so code on rank threads checks with this: a failure
// is an exception that run_world() rethrows on the test's own thread.
#define RANK_CHECK(...)                                                                   \
  do {                                                                                    \
    if (!(__VA_ARGS__))                                                                   \
      throw std::runtime_error("check failed on a rank thread: " #__VA_ARGS__ " (line " + \
                               std::to_string(__LINE__) + ")");                           \
  } while (false)

// Runs fn(engine) on every rank of a fresh world, each on its own thread; rethrows the first
// failure; every rank finishes cleanly afterwards.
inline void run_engines(Plan plan, const std::function<void(const std::shared_ptr<Engine>&)>& fn) {
  auto engines = connect_all(std::move(plan));
  std::vector<std::future<void>> ranks;
  for (auto& engine : engines)
    ranks.push_back(std::async(std::launch::async, [&fn, &engine] { fn(engine); }));
  std::exception_ptr first;
  for (auto& f : ranks) {
    try {
      f.get();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  for (auto& e : engines) e->finish(5s);
  if (first) std::rethrow_exception(first);
}

// The same, fn(comm) on a Communicator of the world.
inline void run_world(int n, const std::function<void(Communicator&)>& fn) {
  run_engines(plan_world(n), [&fn](const std::shared_ptr<Engine>& engine) {
    Communicator comm(world_of(engine));
    comm.set_default_timeout(60s);  // a bug shows up as a failure, not a hung test
    fn(comm);
  });
}

inline std::vector<std::uint8_t> pattern(std::size_t bytes, int seed) {
  std::vector<std::uint8_t> v(bytes);
  for (std::size_t i = 0; i < bytes; ++i) v[i] = static_cast<std::uint8_t>(i * 31 + seed);
  return v;
}

}  // namespace tcp_world
