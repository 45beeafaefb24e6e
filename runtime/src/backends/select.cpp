// hilo::Runtime: which backend this process runs (selected_backend) and starting it. The only
// place that knows every backend; each backend's start function is declared in backend.hpp.
#include "hilo/runtime.hpp"

#include <cstdlib>

#include "backends/backend.hpp"
#include "comm/communicator_access.hpp"
#include "hilo/detail/error_message.hpp"
#include "launch/launcher.hpp"

namespace hilo {

namespace {

struct BackendChoice {
  std::string name;  // "local", "mpi" or "tcp"
  std::string why;   // for the log: the launcher found, and whether HILO_BACKEND chose
};

BackendChoice choose_backend() {
  const launch::Launcher launcher = launch::detect_launcher();
  const std::string started_by = launcher.kind == launch::LauncherKind::none
                                     ? std::string("no launcher found")
                                     : "started by " +
                                           std::string(launch::launcher_name(launcher.kind)) +
                                           " (" + launcher.evidence + " is set)";
  const char* chosen = std::getenv("HILO_BACKEND");
  if (chosen == nullptr || *chosen == '\0')
    return {std::string(launch::default_backend(launcher.kind)),
            started_by + ", whose default it is"};
  const std::string name = chosen;
  if (name != "local" && name != "mpi" && name != "tcp")
    detail::throw_error<Error>("hilo: HILO_BACKEND='", name,
                               "' is not a backend; use local, mpi or tcp");
  if (!launch::backend_fits(name, launcher.kind))
    detail::throw_error<Error>(launch::backend_mismatch_message(name, launcher));
  return {name, "HILO_BACKEND=" + name + ", " + started_by};
}

}  // namespace

std::string selected_backend() {
  return choose_backend().name;
}

Runtime::Runtime() {
  start(nullptr, nullptr);
}
Runtime::Runtime(int& argc, char**& argv) {
  start(&argc, &argv);
}

// argc/argv go only to MPI, which may consume its own arguments.
void Runtime::start([[maybe_unused]] int* argc, [[maybe_unused]] char*** argv) {
  log_ = detail::Log::for_this_process();
  const detail::Checks checks = detail::checks_from_environment();
  const BackendChoice choice = choose_backend();
  log_.write(detail::LogLevel::info, "runtime", "backend ", choice.name, ": ", choice.why);
  const std::string& name = choice.name;
  if (name == "local") {
    backend_ = detail::start_local_backend(log_);
  } else if (name == "mpi") {
#if defined(HILO_WITH_MPI)
    backend_ = detail::start_mpi_backend(argc, argv, log_, checks);
#else
    detail::throw_error<Error>(
        "hilo: the mpi backend was selected but this hilo was built without MPI (configure with "
        "-DHILO_WITH_MPI=ON)");
#endif
  } else {
#if defined(HILO_WITH_TCP)
    backend_ = detail::start_tcp_backend(log_);
#else
    detail::throw_error<Error>(
        "hilo: the tcp backend was selected but this hilo was built without it");
#endif
  }
  world_ = std::make_unique<Communicator>(backend_->world());
  backend_->watch_pending(detail::CommunicatorAccess::pending(*world_));
}

// The world communicator goes first: its transport may still need the backend.
Runtime::~Runtime() {
  world_.reset();
  backend_.reset();
}

std::string_view Runtime::backend_name() const {
  return backend_->name();
}

}  // namespace hilo
