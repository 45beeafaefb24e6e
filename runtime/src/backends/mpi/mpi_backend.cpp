// The MPI backend's lifetime: MPI_Init_thread/MPI_Finalize as RAII, errors returned instead of
// aborting, and a job-wide abort when an exception escapes on one rank (otherwise the other
// ranks would wait for it forever inside their next MPI call).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "backends/backend.hpp"
#include "backends/mpi/mpi_call.hpp"
#include "backends/mpi/mpi_transport.hpp"
#include "comm/communicator_access.hpp"
#include "hilo/comm/communicator.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/mpi.hpp"

namespace hilo::mpi {

using detail::make_message;
using detail::OnRank;
using detail::throw_error;

namespace {

int world_rank() {
  int initialized = 0, finalized = 0, rank = -1;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

[[noreturn]] void abort_job(const std::string& why) {
  std::fprintf(stderr,
               "hilo: rank %d: %s; aborting the whole MPI job so no rank waits for this one\n",
               world_rank(), why.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

// Installed by MpiBackend for its lifetime: an exception that escapes main ends in std::terminate.
[[noreturn]] void terminate_handler() {
  std::string what = "std::terminate was called";
  if (auto error = std::current_exception()) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = std::string("uncaught exception: ") + e.what();
    } catch (...) {
      what = "uncaught exception of a non-standard type";
    }
  }
  abort_job(what);
}

}  // namespace
int thread_level() {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  return provided;
}

namespace {
// The thread level hilo asks MPI for: HILO_MPI_THREADS=single|funneled|serialized|multiple.
// The default is multiple (as mpi4py and MPL choose): any thread may use any communicator, and
// hilo may progress nonblocking receives of unknown size in a thread of its own. A program that
// calls hilo from one thread only can ask for less and save Open MPI's locking on every call
// (the level a plain MPI_Init gives); receives of unknown size then progress in test()/wait().
int requested_thread_level() {
  const char* text = std::getenv("HILO_MPI_THREADS");
  if (text == nullptr || *text == '\0') return MPI_THREAD_MULTIPLE;
  const std::string value = text;
  if (value == "single") return MPI_THREAD_SINGLE;
  if (value == "funneled") return MPI_THREAD_FUNNELED;
  if (value == "serialized") return MPI_THREAD_SERIALIZED;
  if (value == "multiple") return MPI_THREAD_MULTIPLE;
  throw_error<Error>("hilo: HILO_MPI_THREADS is '", value,
                     "'; use single, funneled, serialized or multiple (default: multiple)");
}

class MpiBackend final : public detail::Backend {
 public:
  MpiBackend(int* argc, char*** argv, detail::Log log, detail::Checks checks)
      : log_(std::move(log)), checks_(checks) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      const int requested = requested_thread_level();
      // MPI_Init_thread aborts by default on failure; there is no hilo::Error to give before it.
      MPI_Init_thread(argc, argv, requested, &provided);
      owns_mpi_ = true;
    }
    mpi::check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN),
               "MPI_Comm_set_errhandler");
    progress_ = std::make_shared<MpiProgress>(thread_level() == MPI_THREAD_MULTIPLE);
    previous_terminate_ = std::set_terminate(terminate_handler);
  }

  ~MpiBackend() override {
    if (std::uncaught_exceptions() > 0)
      abort_job("the hilo::Runtime is being destroyed by an exception that is still propagating");
    progress_->stop();
    std::set_terminate(previous_terminate_);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owns_mpi_ && !finalized) MPI_Finalize();
  }

  std::string_view name() const override { return "mpi"; }
  std::unique_ptr<Transport> world() override {
    return std::make_unique<MpiTransport>(MPI_COMM_WORLD, false, progress_, log_, false,
                                          checks_.collectives);
  }

 private:
  detail::Log log_;
  detail::Checks checks_;
  bool owns_mpi_ = false;
  std::shared_ptr<MpiProgress> progress_;
  std::terminate_handler previous_terminate_ = nullptr;
};

}  // namespace

}  // namespace hilo::mpi

namespace hilo::detail {

std::unique_ptr<Backend> start_mpi_backend(int* argc, char*** argv, const Log& log,
                                           const Checks& checks) {
  auto backend = std::make_unique<mpi::MpiBackend>(argc, argv, log, checks);
  if (log.enabled(LogLevel::info)) {
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int level = mpi::thread_level();
    const char* level_name = level == MPI_THREAD_MULTIPLE     ? "multiple"
                             : level == MPI_THREAD_SERIALIZED ? "serialized"
                             : level == MPI_THREAD_FUNNELED   ? "funneled"
                                                              : "single";
    log.write(LogLevel::info, "mpi", "MPI started: rank ", rank, " of ", size, ", thread level ",
              level_name);
  }
  return backend;
}

}  // namespace hilo::detail

namespace hilo {

MPI_Comm mpi::native_handle(const Communicator& comm) {
  auto& transport = detail::CommunicatorAccess::transport(comm);
  if (auto* native = dynamic_cast<mpi::MpiTransport*>(&transport)) return native->comm();
  detail::throw_error<std::invalid_argument>(
      "hilo: mpi::native_handle needs the mpi backend; this communicator runs on '",
      comm.backend_name(), "'");
}

Communicator mpi::from_native(MPI_Comm comm) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    detail::throw_error<Error>(
        "hilo: mpi::from_native needs MPI to be initialised first (MPI_Init_thread)");
  auto progress = std::make_shared<mpi::MpiProgress>(mpi::thread_level() == MPI_THREAD_MULTIPLE);
  return Communicator(std::make_unique<mpi::MpiTransport>(comm, false, std::move(progress)));
}

}  // namespace hilo
