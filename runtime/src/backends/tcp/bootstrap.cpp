#include "backends/tcp/bootstrap.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <thread>

#include "backends/backend.hpp"
#include "backends/tcp/mesh_setup.hpp"
#include "backends/tcp/network_choice.hpp"
#include "backends/tcp/shm_channel.hpp"
#include "backends/tcp/single_copy.hpp"
#include "backends/tcp/slurm_hostlist.hpp"
#include "backends/tcp/slurm_port.hpp"
#include "backends/tcp/tcp_transport.hpp"
#include "common/message_prefix.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"
#include "launch/addresses.hpp"
#include "launch/environment.hpp"
#include "launch/rendezvous.hpp"

namespace hilo::tcp {

namespace {

using namespace std::chrono_literals;

constexpr auto default_setup_limit = 120s;
constexpr auto default_finish_limit = 10s;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string required_env(const char* name, const char* mode) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0')
    detail::throw_error<Error>("hilo: ", name, " is not set, but ", mode,
                               " needs it; start the program with hilorun (or srun), which sets "
                               "it");
  return value;
}

long env_number(const char* name, const std::string& text, long low, long high) {
  long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value < low ||
      value > high)
    detail::throw_error<Error>("hilo: ", name, "='", text, "' is not a number from ", low, " to ",
                               high);
  return value;
}

// HILO_TIMEOUT (seconds, fractions allowed), or `fallback`.
std::chrono::milliseconds limit_from_environment(std::chrono::milliseconds fallback) {
  const char* text = std::getenv(launch::env::timeout);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(seconds > 0) || seconds > 1e9)
    detail::throw_error<Error>("hilo: HILO_TIMEOUT='", text,
                               "' is not a number of seconds > 0 (e.g. HILO_TIMEOUT=30 or 0.5)");
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000) + 1);
}

std::string this_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// Where this rank listens: HILO_TCP_IF, else HILO_HOST_ADDR, else its host name's address.
std::string listen_address(const std::string& host) {
  if (const char* rules = std::getenv(launch::env::tcp_if); rules != nullptr && *rules != '\0')
    return choose_address(rules, parse_interface_rules(rules), local_interfaces());
  if (const char* address = std::getenv(launch::env::host_addr); address != nullptr && *address)
    return address;
  try {
    return launch::resolve_ipv4(host);
  } catch (const Error& e) {
    detail::throw_error<Error>("hilo: cannot choose an address to listen on (",
                               common::without_hilo_prefix(e.what()),
                               "); set HILO_TCP_IF to an interface name or network, e.g. "
                               "HILO_TCP_IF=eth0");
  }
}

struct Job {
  int rank = 0;
  int size = 1;
  std::string host;
  std::string token;
  std::string coordinator;              // ip:port
  bool serve_rendezvous = false;        // rank 0 under srun
  bool keep_report_connection = false;  // under hilorun, which reads the ranks' reports
};

Job job_from_environment() {
  Job job;
  const std::string launcher = env_or(launch::env::launcher, "");
  if (!launcher.empty()) {
    const char* mode = "the tcp backend under hilorun";
    job.size = static_cast<int>(env_number(launch::env::size, required_env(launch::env::size, mode),
                                           1, launch::rendezvous_max_ranks));
    job.rank = static_cast<int>(
        env_number(launch::env::rank, required_env(launch::env::rank, mode), 0, job.size - 1));
    job.host = env_or(launch::env::host, this_host_name());
    job.token = required_env(launch::env::job_token, mode);
    job.coordinator = required_env(launch::env::coord, mode);
    job.keep_report_connection = launcher == launch::env::launcher_hilorun;
    return job;
  }
  if (const char* procid = std::getenv("SLURM_PROCID"); procid != nullptr && *procid != '\0') {
    const char* mode = "the tcp backend under srun";
    job.size = static_cast<int>(env_number("SLURM_NTASKS", required_env("SLURM_NTASKS", mode), 1,
                                           launch::rendezvous_max_ranks));
    job.rank = static_cast<int>(env_number("SLURM_PROCID", procid, 0, job.size - 1));
    job.host = env_or("SLURMD_NODENAME", this_host_name());
    std::string nodes = env_or("SLURM_STEP_NODELIST", env_or("SLURM_JOB_NODELIST", ""));
    if (nodes.empty()) nodes = required_env("SLURM_JOB_NODELIST", mode);
    const std::string first_host = expand_slurm_hostlist(nodes).front();
    const auto port = slurm_rendezvous_port_from_environment();
    job.coordinator = launch::resolve_ipv4(first_host) + ":" + std::to_string(port);
    job.token = env_or(launch::env::job_token, "slurm-job-" + env_or("SLURM_JOB_ID", "0") +
                                                   "-step-" + env_or("SLURM_STEP_ID", "0"));
    job.serve_rendezvous = job.rank == 0;
    return job;
  }
  job.host = this_host_name();
  return job;  // one rank on its own
}

class TcpBackend final : public detail::Backend {
 public:
  TcpBackend(std::shared_ptr<Engine> engine, std::chrono::milliseconds finish_limit)
      : engine_(std::move(engine)), finish_limit_(finish_limit) {}
  ~TcpBackend() override {
    // Unwinding from an exception: no goodbye but an abort, so the peers see this rank as lost
    // (with the reason) and fail at once instead of waiting for it.
    try {
      if (std::uncaught_exceptions() == 0)
        engine_->finish(finish_limit_);
      else
        engine_->abort(std::min<std::chrono::milliseconds>(finish_limit_, std::chrono::seconds(1)));
    } catch (...) {
    }
  }
  std::string_view name() const override { return "tcp"; }
  void watch_pending(std::shared_ptr<const detail::PendingOperations> registry) override {
    if (PendingReporter* reporter = engine_->pending_reporter())
      reporter->attach(std::move(registry));
  }
  std::unique_ptr<Transport> world() override {
    std::vector<int> members(static_cast<std::size_t>(engine_->size()));
    for (int r = 0; r < engine_->size(); ++r) members[static_cast<std::size_t>(r)] = r;
    return std::make_unique<TcpTransport>(engine_, 0, std::move(members), engine_->rank());
  }

 private:
  std::shared_ptr<Engine> engine_;
  std::chrono::milliseconds finish_limit_;
};

// One line: which ranks of this host got a shared-memory channel, and why the others did not.
void log_shared_memory(const detail::Log& log, int rank,
                       const std::vector<launch::PeerAddress>& table,
                       const std::vector<std::unique_ptr<ShmChannel>>& shm, bool wanted) {
  std::string with, without;
  for (std::size_t r = 0; r < table.size(); ++r) {
    if (static_cast<int>(r) == rank || table[r].host != table[static_cast<std::size_t>(rank)].host)
      continue;
    std::string& list = r < shm.size() && shm[r] ? with : without;
    list += (list.empty() ? "" : ", ") + std::to_string(r);
  }
  if (with.empty() && without.empty())
    return log.write(detail::LogLevel::info, "tcp",
                     "no shared memory: no other rank runs on this host");
  if (!wanted)
    return log.write(detail::LogLevel::info, "tcp", "no shared memory with ranks ", without,
                     " of this host: HILO_TCP_SHM=off");
  log.write(detail::LogLevel::info, "tcp", "shared memory with ranks ",
            with.empty() ? "(none)" : with, " of this host",
            without.empty() ? "" : "; sockets to ranks ", without,
            without.empty() ? "" : " (their own HILO_TCP_SHM=off, or a segment failed)");
}

}  // namespace

std::chrono::microseconds spin_window_from_environment() {
  const std::string text = env_or("HILO_TCP_SPIN_US", std::to_string(default_spin_window.count()));
  return std::chrono::microseconds(env_number("HILO_TCP_SPIN_US", text, 0, 1'000'000));
}

std::shared_ptr<Engine> connect_world(Listener listener, int rank, const std::string& token,
                                      const std::vector<launch::PeerAddress>& table,
                                      Deadline deadline, std::chrono::microseconds spin_window,
                                      std::shared_ptr<launch::ReportChannel> reports,
                                      const detail::Log& rank_log) {
  const auto& me = table.at(static_cast<std::size_t>(rank));
  auto log = std::make_unique<RejectionLog>("listening on " + me.ip + ":" + std::to_string(me.port),
                                            rank_log);
  std::vector<common::UniqueFd> sockets =
      connect_mesh(listener, MeshPlan{rank, token, table, deadline, rank_log}, *log);
  rank_log.write(detail::LogLevel::info, "tcp", "connected to all other ranks (", table.size() - 1,
                 ")");
  EngineConfig config;
  config.rank = rank;
  config.table = table;
  config.spin_window = spin_window;
  config.token = token;
  config.single_copy = single_copy_from_environment();
  if (reports) config.pending_reporter = std::make_shared<PendingReporter>(reports);
  config.reports = std::move(reports);
  config.log = rank_log;
  const bool shm_wanted = shm_from_environment();
  auto shm = connect_shared_memory(rank, token, table, sockets, shm_wanted, deadline, rank_log);
  if (rank_log.enabled(detail::LogLevel::info))
    log_shared_memory(rank_log, rank, table, shm, shm_wanted);
  return std::make_shared<Engine>(std::move(config), std::move(listener), std::move(sockets),
                                  std::move(log), std::move(shm));
}

}  // namespace hilo::tcp

namespace hilo::detail {

std::unique_ptr<Backend> start_tcp_backend(const Log& log) {
  using namespace hilo::tcp;
  const tcp::Job job = tcp::job_from_environment();
  const auto setup_limit = tcp::limit_from_environment(tcp::default_setup_limit);
  const auto finish_limit = tcp::limit_from_environment(tcp::default_finish_limit);
  const auto spin = spin_window_from_environment();
  const Deadline deadline = Deadline::after(setup_limit);

  if (job.size == 1) {
    EngineConfig config;
    config.table = {launch::PeerAddress{0, job.host, "127.0.0.1", 0}};
    config.spin_window = spin;
    config.log = log;
    log.write(LogLevel::info, "tcp", "a single rank on its own: no sockets");
    auto engine = std::make_shared<Engine>(std::move(config), Listener{},
                                           std::vector<common::UniqueFd>(1), nullptr);
    return std::make_unique<tcp::TcpBackend>(std::move(engine), finish_limit);
  }

  const std::string ports = tcp::env_or("HILO_TCP_PORTS", "");
  Listener listener = listen_on(tcp::listen_address(job.host),
                                ports.empty() ? PortRange{} : parse_port_range(ports));
  const launch::PeerAddress me{job.rank, job.host, listener.ip, listener.port};
  log.write(LogLevel::info, "tcp", "rank ", job.rank, " of ", job.size, " listening on ",
            listener.ip, ":", listener.port);

  // Under srun, rank 0 is also the coordinator: its server runs on a thread while it registers.
  std::unique_ptr<launch::RendezvousServer> server;
  std::exception_ptr server_error;
  std::thread serving;
  if (job.serve_rendezvous) {
    const auto coordinator = launch::split_host_port(job.coordinator);
    server = std::make_unique<launch::RendezvousServer>(coordinator.host, coordinator.port,
                                                        job.size, job.token);
    log.write(LogLevel::info, "tcp", "serving the rendezvous of ", job.size, " ranks at ",
              job.coordinator, " (rank 0 under srun)");
    serving = std::thread([&] {
      try {
        server->serve(setup_limit);
      } catch (...) {
        server_error = std::current_exception();
      }
    });
  }
  std::vector<launch::PeerAddress> table;
  common::UniqueFd report_connection;
  try {
    table = launch::register_with_coordinator(
        job.coordinator, job.token, me, job.size, setup_limit,
        job.keep_report_connection ? &report_connection : nullptr, log);
  } catch (...) {
    if (serving.joinable()) {
      server->stop();
      serving.join();
    }
    throw;
  }
  if (serving.joinable()) serving.join();
  if (server_error) std::rethrow_exception(server_error);
  log.write(LogLevel::info, "tcp", "rendezvous at ", job.coordinator, " done: the addresses of ",
            table.size(), " ranks");

  std::shared_ptr<launch::ReportChannel> reports;
  if (report_connection) {
    reports = std::make_shared<launch::ReportChannel>(std::move(report_connection));
  }
  auto engine = connect_world(std::move(listener), job.rank, job.token, table, deadline, spin,
                              std::move(reports), log);
  return std::make_unique<tcp::TcpBackend>(std::move(engine), finish_limit);
}

}  // namespace hilo::detail
