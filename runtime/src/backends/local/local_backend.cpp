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

void run_local(int n, const std::function<void(Communicator&)>& fn) {
  constexpr int max_ranks = 4096;
  if (n < 1 || n > max_ranks)
    detail::throw_error<std::invalid_argument>("hilo: run_local: n = ", n, " ranks; use 1..",
                                               max_ranks);
  if (!fn) detail::throw_error<std::invalid_argument>("hilo: run_local: the function is empty");
  const detail::LogLevel log_level = detail::log_level_from_environment();
  auto world = std::make_shared<local::LocalWorld>(n);
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
      } catch (...) {
        world->rank_failed(r, std::current_exception());
      }
    });
  }
  for (auto& t : threads) t.join();
  if (auto error = world->first_error()) std::rethrow_exception(error);
}

}  // namespace hilo
