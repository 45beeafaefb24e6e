#include "hilo/runtime.hpp"

#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include "backends/local/local_transport.hpp"
#include "launch/backend.hpp"
#include "launch/launcher.hpp"

namespace hilo {

std::string selected_backend() {
  const launch::Launcher launcher = launch::detect_launcher();
  const char* chosen = std::getenv("HILO_BACKEND");
  if (chosen == nullptr || *chosen == '\0')
    return std::string(launch::default_backend(launcher.kind));
  const std::string name = chosen;
  if (name != "local" && name != "mpi" && name != "tcp")
    throw Error("hilo: HILO_BACKEND='" + name + "' is not a backend; use local, mpi or tcp");
  if (!launch::backend_fits(name, launcher.kind))
    throw Error(launch::backend_mismatch_message(name, launcher));
  return name;
}

Runtime::Runtime() {
  start(nullptr, nullptr);
}
Runtime::Runtime(int& argc, char**& argv) {
  start(&argc, &argv);
}

// argc/argv go only to MPI, which may consume its own arguments.
void Runtime::start([[maybe_unused]] int* argc, [[maybe_unused]] char*** argv) {
  const std::string name = selected_backend();
  if (name == "local") {
    backend_ = detail::start_local_backend();
  } else if (name == "mpi") {
#if defined(HILO_WITH_MPI)
    backend_ = detail::start_mpi_backend(argc, argv);
#else
    throw Error(
        "hilo: the mpi backend was selected but this hilo was built without MPI "
        "(configure with -DHILO_WITH_MPI=ON)");
#endif
  } else {
#if defined(HILO_WITH_TCP)
    backend_ = detail::start_tcp_backend();
#else
    throw Error("hilo: the tcp backend was selected but this hilo was built without it");
#endif
  }
  world_ = std::make_unique<Communicator>(backend_->world());
}

// The world communicator goes first: its transport may still need the backend.
Runtime::~Runtime() {
  world_.reset();
  backend_.reset();
}

std::string_view Runtime::backend_name() const {
  return backend_->name();
}

namespace detail {
namespace {
class SingleRankBackend final : public Backend {
 public:
  std::string_view name() const override { return "local"; }
  std::unique_ptr<Transport> world() override {
    return std::make_unique<local::LocalTransport>(std::make_shared<local::LocalWorld>(1), 0,
                                                   std::vector<int>{0}, 0);
  }
};
}  // namespace
std::unique_ptr<Backend> start_local_backend() {
  return std::make_unique<SingleRankBackend>();
}
}  // namespace detail

void run_local(int n, const std::function<void(Communicator&)>& fn) {
  constexpr int max_ranks = 4096;
  if (n < 1 || n > max_ranks)
    throw std::invalid_argument("hilo::run_local: n = " + std::to_string(n) + " ranks; use 1.." +
                                std::to_string(max_ranks));
  if (!fn) throw std::invalid_argument("hilo::run_local: empty function");
  auto world = std::make_shared<local::LocalWorld>(n);
  std::vector<int> members(n);
  std::iota(members.begin(), members.end(), 0);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      try {
        Communicator comm(std::make_unique<local::LocalTransport>(world, 0, members, r));
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
