// hilorun: the launcher for hilo's TCP backend. Reads the command line and the hosts, places the
// ranks, starts the rendezvous server, starts every rank with the environment contract
// (runtime/src/launch/environment.hpp), then supervises them until the job ends.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "common/message_prefix.hpp"
#include "common/system_error.hpp"
#include "cpu_binding.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"
#include "launch/addresses.hpp"
#include "launch/environment.hpp"
#include "launch/hostfile.hpp"
#include "launch/job_token.hpp"
#include "launch/rendezvous.hpp"
#include "options.hpp"
#include "output_files.hpp"
#include "output_forwarder.hpp"
#include "rank_process.hpp"
#include "remote_exec.hpp"
#include "rendezvous_thread.hpp"
#include "supervisor.hpp"

extern char** environ;

namespace hilo::hilorun {
namespace {

namespace env = launch::env;

// An environment as NAME -> value, turned into "NAME=value" strings at the end.
using Environment = std::map<std::string, std::string>;

bool is_contract_variable(const std::string& name) {
  for (const char* contract :
       {env::launcher, env::rank, env::size, env::local_rank, env::local_size, env::host,
        env::host_addr, env::coord, env::job_token}) {
    if (name == contract) return true;
  }
  return false;
}

// hilorun's own environment, without the contract variables (an outer job's must not leak in).
// With `only_hilo`, just the HILO_* variables (what remote ranks get from it).
Environment inherited_environment(bool only_hilo) {
  Environment result;
  for (char** entry = environ; *entry; ++entry) {
    std::string text = *entry;
    auto equals = text.find('=');
    if (equals == std::string::npos) continue;
    std::string name = text.substr(0, equals);
    if (is_contract_variable(name)) continue;
    if (only_hilo && name.rfind("HILO_", 0) != 0) continue;
    result[name] = text.substr(equals + 1);
  }
  return result;
}

// The -x exports as NAME -> value; `-x VAR` takes hilorun's value of VAR.
Environment exported_variables(const std::vector<std::string>& exports) {
  Environment result;
  for (const std::string& item : exports) {
    auto equals = item.find('=');
    if (equals != std::string::npos) {
      result[item.substr(0, equals)] = item.substr(equals + 1);
      continue;
    }
    const char* value = std::getenv(item.c_str());
    if (!value) {
      // Error, not invalid_argument: the command line is fine, hilorun's environment lacks it.
      detail::throw_error<Error>("-x ", item, ": ", item,
                                 " is not set in hilorun's environment (use -x ", item, "=value)");
    }
    result[item] = value;
  }
  return result;
}

std::vector<std::string> as_strings(const Environment& environment) {
  std::vector<std::string> result;
  for (const auto& [name, value] : environment) result.push_back(name + "=" + value);
  return result;
}

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// Quoted for the remote shell ssh hands the command to.
std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::vector<launch::HostSlots> hosts_of(const Options& options, bool& implicit_localhost) {
  implicit_localhost = false;
  if (options.hostfile) return launch::read_hostfile(*options.hostfile);
  if (options.host_list) return launch::parse_host_list(*options.host_list);
  if (!options.ranks && !options.per_host) {
    throw std::invalid_argument("-n N is needed when no --hostfile or --host gives the slots");
  }
  implicit_localhost = true;  // a laptop: any number of ranks, like `mpirun -n N` there
  return {{"localhost", options.ranks.value_or(*options.per_host), std::nullopt}};
}

int total_slots(const std::vector<launch::HostSlots>& hosts) {
  int total = 0;
  for (const auto& host : hosts) total += host.slots;
  return total;
}

// Blocks the signals the supervisor takes through a signalfd; done before any thread starts
// (the rendezvous thread inherits the mask) and undone in each rank before exec.
common::UniqueFd block_handled_signals() {
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&handled, s);
  if (::sigprocmask(SIG_BLOCK, &handled, nullptr) != 0) common::throw_errno("sigprocmask");
  // Writes to a pipe whose reader died (a rank's control channel, hilorun's own stdout) must
  // return EPIPE, not kill hilorun.
  ::signal(SIGPIPE, SIG_IGN);
  common::UniqueFd fd(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) common::throw_errno("signalfd");
  return fd;
}

// Everything decided before the first rank starts; any mistake found here starts nothing.
struct JobPlan {
  int size = 0;
  std::vector<launch::Placement> placements;
  std::vector<BindingRequest> binding_requests;       // one per rank, as placed
  std::vector<CpuBinding> local_bindings;             // one per rank; used for local ranks only
  std::string coord_ip;                               // where the rendezvous server listens
  std::map<std::string, std::string> listen_address;  // host -> HILO_HOST_ADDR (empty: HILO_TCP_IF)
  Environment local_environment;                      // before the per-rank variables
  Environment remote_environment;
  std::string local_program;                // resolved path, if any rank is local
  std::vector<std::string> remote_command;  // agent words; HOST and hilorun come after
  std::string hilorun_path;                 // this executable, run as --remote-exec remotely
  std::string working_directory;
};

JobPlan plan_job(const Options& options) {
  JobPlan plan;
  bool implicit_localhost = false;
  std::vector<launch::HostSlots> hosts = hosts_of(options, implicit_localhost);
  int default_size =
      options.per_host ? *options.per_host * static_cast<int>(hosts.size()) : total_slots(hosts);
  plan.size = options.ranks.value_or(default_size);
  bool oversubscribe = options.oversubscribe || implicit_localhost;
  plan.placements = launch::place_ranks(
      hosts, plan.size, launch::PlacementPolicy{options.map_by, options.per_host, oversubscribe});

  // Bindings: decided here for local ranks, so an impossible one starts nothing; remote hosts
  // decide theirs from the same request (only they know their cores).
  for (const auto& p : plan.placements) {
    BindingRequest request;
    request.bind_to = options.bind_to;
    request.job_size = plan.size;
    request.local_rank = p.local_rank;
    request.local_size = p.local_size;
    // Only an explicit --oversubscribe lets ranks share a core: on the implicit localhost any
    // -n is fine, but a request to bind more ranks than cores is probably a mistake.
    request.oversubscribe = options.oversubscribe;
    request.report = options.report_bindings;
    plan.binding_requests.push_back(request);
    plan.local_bindings.push_back(launch::is_local_host(p.host) ? resolve_binding(request, p.host)
                                                                : CpuBinding{});
  }

  std::optional<std::string> first_remote;
  bool any_local = false;
  for (const auto& p : plan.placements) {
    if (launch::is_local_host(p.host)) {
      any_local = true;
    } else if (!first_remote) {
      first_remote = p.host;
    }
  }

  // Addresses: all on loopback for a one-machine job; otherwise the coordinator on the local
  // address facing the other hosts, and each host's ranks on that host's address.
  plan.coord_ip = "127.0.0.1";
  if (options.coord_addr) {
    plan.coord_ip = *options.coord_addr;
  } else if (first_remote) {
    plan.coord_ip = launch::local_address_towards(launch::resolve_ipv4(*first_remote));
  }
  Environment exports = exported_variables(options.exports);
  bool tcp_if_set = exports.count(env::tcp_if) || std::getenv(env::tcp_if);
  if (!tcp_if_set) {
    for (const auto& host : hosts) {
      plan.listen_address[host.host] = !launch::is_local_host(host.host)
                                           ? launch::resolve_ipv4(host.host)
                                       : first_remote ? plan.coord_ip
                                                      : "127.0.0.1";
    }
  }

  plan.local_environment = inherited_environment(false);
  plan.remote_environment = inherited_environment(true);
  for (const auto& [name, value] : exports) {
    plan.local_environment[name] = value;
    plan.remote_environment[name] = value;
  }

  if (any_local) plan.local_program = find_executable(options.program.front());
  if (first_remote) {
    const char* from_env = std::getenv(env::launch_agent);
    plan.remote_command = split_words(options.launch_agent ? *options.launch_agent
                                      : from_env           ? from_env
                                                           : "ssh");
    if (plan.remote_command.empty())
      throw Error("HILO_LAUNCH_AGENT is empty; unset it or name a command, e.g. ssh");
    find_executable(plan.remote_command.front());  // a missing agent fails before any start
  }
  plan.hilorun_path = std::filesystem::read_symlink("/proc/self/exe").string();
  plan.working_directory = std::filesystem::current_path().string();
  return plan;
}

RankProcess start_rank(const JobPlan& plan, const Options& options, const launch::Placement& p,
                       const std::string& coord, const std::string& token) {
  bool local = launch::is_local_host(p.host);
  Environment environment = local ? plan.local_environment : plan.remote_environment;
  environment[env::launcher] = env::launcher_hilorun;
  environment[env::rank] = std::to_string(p.rank);
  environment[env::size] = std::to_string(plan.size);
  environment[env::local_rank] = std::to_string(p.local_rank);
  environment[env::local_size] = std::to_string(p.local_size);
  environment[env::host] = p.host;
  if (!plan.listen_address.empty()) environment[env::host_addr] = plan.listen_address.at(p.host);
  environment[env::coord] = coord;
  environment[env::job_token] = token;
  if (local) {
    const CpuBinding& binding = plan.local_bindings.at(static_cast<std::size_t>(p.rank));
    RankProcess rank = RankProcess::start_local(p, plan.local_program, options.program,
                                                as_strings(environment), binding);
    if (options.report_bindings) {
      write_fully(STDERR_FILENO, binding.report_line(p.host, rank.pid(), p.rank) + "\n");
    }
    return rank;
  }
  std::vector<std::string> command = plan.remote_command;
  command.push_back(p.host);
  command.push_back(shell_quote(plan.hilorun_path));
  command.push_back("--remote-exec");
  return RankProcess::start_remote(
      p, command,
      encode_launch_block(as_strings(environment), options.program, plan.working_directory,
                          plan.binding_requests.at(static_cast<std::size_t>(p.rank))));
}

int run(const Options& options) {
  const JobPlan plan = plan_job(options);
  common::UniqueFd signals = block_handled_signals();  // before the rendezvous thread starts
  const std::string token = launch::make_job_token();
  RendezvousThread rendezvous(plan.coord_ip, plan.size, token);
  const std::string coord = plan.coord_ip + ":" + std::to_string(rendezvous.port());
  std::optional<OutputFiles> output_files;
  if (options.output_directory) output_files.emplace(*options.output_directory, plan.size);

  // Declared after the rendezvous thread, so destroyed first: should a start fail half-way,
  // the ranks already started are killed and reaped.
  std::vector<RankProcess> ranks;
  ranks.reserve(plan.placements.size());
  for (const auto& p : plan.placements) ranks.push_back(start_rank(plan, options, p, coord, token));

  SupervisorSettings settings;
  settings.tag_output = options.tag_output;
  settings.output_files = output_files ? &*output_files : nullptr;
  settings.output_to_terminal = options.output_to_terminal;
  settings.timeout_seconds = options.timeout_seconds;
  settings.collect_reports = [&rendezvous] { return rendezvous.reports(); };
  settings.ask_pending = [&rendezvous](std::chrono::milliseconds limit) {
    return rendezvous.ask_pending(limit);
  };
  settings.take_timeouts = [&rendezvous] { return rendezvous.take_timeouts(); };
  return supervise(ranks, signals.get(), settings);
}

}  // namespace
}  // namespace hilo::hilorun

int main(int argc, char** argv) {
  using namespace hilo::hilorun;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args.front() == "--remote-exec") {
    try {
      return run_remote_exec();
    } catch (const std::exception& e) {
      std::cerr << "hilorun --remote-exec: " << hilo::common::without_hilo_prefix(e.what()) << "\n";
      return 125;  // not 127 (program not found) nor 255 (ssh's own failures)
    }
  }
  Options options;
  try {
    options = parse_options(args);
  } catch (const std::invalid_argument& e) {
    std::cerr << "hilorun: " << hilo::common::without_hilo_prefix(e.what())
              << "\nRun 'hilorun --help' for the options.\n";
    return 2;
  }
  if (options.help) {
    std::cout << usage_text();
    return 0;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    // hilorun's own messages have no prefix; the library's start "hilo: ", which gives way to
    // hilorun's: "hilorun: hostfile hosts, line 3: ...".
    std::cerr << "hilorun: " << hilo::common::without_hilo_prefix(e.what()) << "\n";
    return 1;
  }
}
