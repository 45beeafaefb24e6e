#include "backends/local/fault_injector.hpp"

#include <cstring>
#include <string>

#include "hilo/errors.hpp"

namespace hilo::local {

namespace {
// SplitMix64's finaliser: a good mix of 64 bits, so neighbouring inputs give unrelated outputs.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

std::string ordinal(std::uint64_t n) {
  const char* suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

constexpr std::uint64_t order_salt = 1;
constexpr std::uint64_t delay_salt = 2;
}  // namespace

// Counts one rank's calls; the plan's nth is its last. Once dead, every later call throws again,
// so a catch (...) that swallows the death does not bring the rank back.
class FaultInjector::KillSwitch final : public CallObserver {
 public:
  KillSwitch(FaultInjector& injector, int world_rank, std::uint64_t dies_at)
      : injector_(injector), world_rank_(world_rank), dies_at_(dies_at) {}
  void on_call(const char* op) override {
    const std::uint64_t call = calls_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (dead_.load(std::memory_order_relaxed)) throw RankKilled{world_rank_};
    if (call != dies_at_) return;
    dead_.store(true, std::memory_order_relaxed);
    injector_.killed(world_rank_, op, call);
    throw RankKilled{world_rank_};
  }

 private:
  FaultInjector& injector_;
  const int world_rank_;
  const std::uint64_t dies_at_;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<bool> dead_{false};
};

FaultInjector::FaultInjector(const testing::FaultPlan& plan,
                             std::function<void(int, std::exception_ptr)> lose_rank)
    : plan_(plan), lose_rank_(std::move(lose_rank)) {
  for (const auto& [rank, call] : plan_.kills())
    kill_switches_.emplace(rank, std::make_unique<KillSwitch>(*this, rank, call));
  if (plan_.max_delay().count() > 0) delayed_ = std::make_unique<DelayedDelivery>();
}

FaultInjector::~FaultInjector() = default;

CallObserver* FaultInjector::observer(int world_rank) {
  auto it = kill_switches_.find(world_rank);
  return it == kill_switches_.end() ? nullptr : it->second.get();
}

std::uint64_t FaultInjector::draw(std::uint64_t salt, std::uint64_t context, int source, int dest,
                                  std::uint64_t sequence) const {
  std::uint64_t h = mix(plan_.seed_value() ^ mix(salt));
  h = mix(h ^ context);
  h = mix(h ^ (static_cast<std::uint64_t>(static_cast<std::uint32_t>(source)) << 32 |
               static_cast<std::uint32_t>(dest)));
  return mix(h ^ sequence);
}

std::uint64_t FaultInjector::order_key(std::uint64_t context, int source, int dest,
                                       std::uint64_t sequence) const {
  return draw(order_salt, context, source, dest, sequence);
}

void FaultInjector::deliver(detail::Mailbox& box, const detail::Envelope& envelope,
                            const void* data, std::uint64_t context, int dest,
                            std::uint64_t sequence, int world_source) {
  if (!delayed_) {
    detail::Mailbox::Delivery delivery = box.begin(envelope);
    if (envelope.bytes > 0) std::memcpy(delivery.destination, data, envelope.bytes);
    box.finish(std::move(delivery));
    return;
  }
  const auto max = static_cast<std::uint64_t>(plan_.max_delay().count());
  // max < 2^63 (a nanoseconds count), so max + 1 does not wrap.
  const std::uint64_t delay =
      draw(delay_salt, context, envelope.source, dest, sequence) % (max + 1);
  delayed_->post(box, envelope, data, std::chrono::nanoseconds(delay), world_source);
}

void FaultInjector::after_messages_from(int world_source, std::function<void()> action) {
  if (delayed_)
    delayed_->after_messages_from(world_source, std::move(action));
  else
    action();
}

void FaultInjector::killed(int world_rank, const char* op, std::uint64_t call) {
  auto lost = std::make_exception_ptr(PeerLost("hilo: local rank " + std::to_string(world_rank) +
                                                   " was lost: a FaultPlan killed it at its " +
                                                   ordinal(call) + " communication call (" + op +
                                                   "), so nothing more will come from it",
                                               world_rank, "localhost"));
  after_messages_from(world_rank, [this, world_rank, lost] { lose_rank_(world_rank, lost); });
}

}  // namespace hilo::local
