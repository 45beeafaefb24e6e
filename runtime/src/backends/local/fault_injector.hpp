// How the local backend carries out a hilo::testing::FaultPlan (hilo/testing.hpp): one
// FaultInjector per run_local job, shared by its ranks' transports. It counts the calls of the
// ranks the plan kills, draws each message's delay and order key from the seed, and owns the
// thread that delivers delayed messages. Without a plan there is none, and the local backend's
// only cost is a null check per send and per Communicator made.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "backends/local/delayed_delivery.hpp"
#include "hilo/comm/detail/transport.hpp"
#include "hilo/testing.hpp"

namespace hilo::local {

// What unwinds a killed rank's function. Derived from nothing a program catches by type, so
// only catch (...) stops it; run_local takes it as the rank's death.
struct RankKilled {
  int world_rank;
};

class FaultInjector {
 public:
  // `lose_rank(world_rank, error)` tells every other rank that world rank `world_rank` is gone:
  // their receives fail with `error`. Called once per killed rank, on the killing thread or on
  // the delivery thread, with no lock of the injector held.
  FaultInjector(const testing::FaultPlan& plan,
                std::function<void(int, std::exception_ptr)> lose_rank);
  ~FaultInjector();
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  // The observer that counts world rank `world_rank`'s calls if the plan kills it, else null.
  CallObserver* observer(int world_rank);
  bool reorders() const { return plan_.reorders(); }

  // The order key of the `sequence`-th message (from 0) from `source` to `dest` on the
  // communicator `context`: a function of the seed and of these only.
  std::uint64_t order_key(std::uint64_t context, int source, int dest,
                          std::uint64_t sequence) const;
  // Delivers into `box` now, or later under delay(): the delay is drawn like the order key.
  void deliver(detail::Mailbox& box, const detail::Envelope& envelope, const void* data,
               std::uint64_t context, int dest, std::uint64_t sequence, int world_source);
  // Runs `action` once every message world rank `world_source` sent so far has been delivered
  // (at once without delays).
  void after_messages_from(int world_source, std::function<void()> action);

 private:
  class KillSwitch;
  std::uint64_t draw(std::uint64_t salt, std::uint64_t context, int source, int dest,
                     std::uint64_t sequence) const;
  void killed(int world_rank, const char* op, std::uint64_t call);

  const testing::FaultPlan plan_;
  const std::function<void(int, std::exception_ptr)> lose_rank_;
  std::map<int, std::unique_ptr<KillSwitch>> kill_switches_;  // by world rank; fixed after start
  // Last: its worker delivers into mailboxes the members above do not own, and stops first.
  std::unique_ptr<DelayedDelivery> delayed_;
};

}  // namespace hilo::local
