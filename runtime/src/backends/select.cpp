// hilo::Runtime: which backend this process runs (selected_backend) and starting it. The only
// place that knows every backend; each backend's start function is declared in backend.hpp.
#include "hilo/runtime.hpp"

#include <cstdlib>

#include "backends/backend.hpp"
#include "hilo/detail/error_message.hpp"
#include "launch/launcher.hpp"

namespace hilo {

std::string selected_backend() {
  const launch::Launcher launcher = launch::detect_launcher();
  const char* chosen = std::getenv("HILO_BACKEND");
  if (chosen == nullptr || *chosen == '\0')
    return std::string(launch::default_backend(launcher.kind));
  const std::string name = chosen;
  if (name != "local" && name != "mpi" && name != "tcp")
    detail::throw_error<Error>("hilo: HILO_BACKEND='", name,
                               "' is not a backend; use local, mpi or tcp");
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
    detail::throw_error<Error>(
        "hilo: the mpi backend was selected but this hilo was built without MPI (configure with "
        "-DHILO_WITH_MPI=ON)");
#endif
  } else {
#if defined(HILO_WITH_TCP)
    backend_ = detail::start_tcp_backend();
#else
    detail::throw_error<Error>(
        "hilo: the tcp backend was selected but this hilo was built without it");
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

}  // namespace hilo
