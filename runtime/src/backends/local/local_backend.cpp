// The local backend's entry points: one rank without a launcher (start_local_backend), and
// hilo::run_local, n ranks as threads of this process sharing one LocalWorld.
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "backends/backend.hpp"
#include "backends/local/local_transport.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/runtime.hpp"
#include "hilo/testing.hpp"

namespace hilo {

namespace detail {
namespace {
class SingleRankBackend final : public Backend {
 public:
  explicit SingleRankBackend(Log log) : log_(std::move(log)) {}
  std::string_view name() const override { return "local"; }
  std::unique_ptr<Transport> world() override {
    return std::make_unique<local::LocalTransport>(std::make_shared<local::LocalWorld>(1), 0,
                                                   std::vector<int>{0}, 0, log_);
  }

 private:
  Log log_;
};
}  // namespace
std::unique_ptr<Backend> start_local_backend(const Log& log) {
  return std::make_unique<SingleRankBackend>(log);
}
}  // namespace detail

namespace {
// The ranks of a run_local job as threads over `world`. A rank a FaultPlan killed has had its
// loss announced already (LocalWorld::rank_lost) and is neither finished nor failed.
void run_ranks(const std::shared_ptr<local::LocalWorld>& world, int n,
               const std::function<void(Communicator&)>& fn) {
  const detail::LogLevel log_level = detail::log_level_from_environment();
  std::vector<int> members(n);
  std::iota(members.begin(), members.end(), 0);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      try {
        Communicator comm(std::make_unique<local::LocalTransport>(
            world, 0, members, r, detail::Log::for_local_rank(log_level, r)));
        fn(comm);
        world->rank_finished(r);
      } catch (const local::RankKilled&) {
        // Died as planned: not an error of the job.
      } catch (...) {
        world->rank_failed(r, std::current_exception());
      }
    });
  }
  for (auto& t : threads) t.join();
  if (auto error = world->first_error()) std::rethrow_exception(error);
}

void check_run_local(int n, const std::function<void(Communicator&)>& fn) {
  constexpr int max_ranks = 4096;
  if (n < 1 || n > max_ranks)
    detail::throw_error<std::invalid_argument>("hilo: run_local: n = ", n, " ranks; use 1..",
                                               max_ranks);
  if (!fn) detail::throw_error<std::invalid_argument>("hilo: run_local: the function is empty");
}
}  // namespace

void run_local(int n, const std::function<void(Communicator&)>& fn) {
  check_run_local(n, fn);
  auto world = std::make_shared<local::LocalWorld>(n);
  run_ranks(world, n, fn);
}

void run_local(int n, const std::function<void(Communicator&)>& fn,
               const testing::FaultPlan& plan) {
  check_run_local(n, fn);
  if (plan.empty()) return run_local(n, fn);
  for (const auto& [rank, call] : plan.kills())
    if (rank >= n)
      detail::throw_error<std::invalid_argument>("hilo: run_local: the FaultPlan kills rank ", rank,
                                                 ", but the job has ranks 0..", n - 1);
  auto world = std::make_shared<local::LocalWorld>(n, plan);
  run_ranks(world, n, fn);
}

}  // namespace hilo
