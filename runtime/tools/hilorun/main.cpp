// hilorun: the launcher for hilo's TCP backend. Reads the command line and the hosts, places the
// ranks, starts the rendezvous server, starts every rank with the environment contract
// (runtime/src/launch/environment.hpp), then supervises them until the job ends.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "hilo/errors.hpp"
#include "launch/addresses.hpp"
#include "launch/environment.hpp"
#include "launch/hostfile.hpp"
#include "launch/job_token.hpp"
#include "launch/rendezvous.hpp"
#include "launch/system_error.hpp"
#include "options.hpp"
#include "rank_process.hpp"
#include "remote_exec.hpp"
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
      throw std::invalid_argument("-x " + item + ": " + item +
                                  " is not set in hilorun's environment (use -x " + item +
                                  "=value)");
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
  if (!options.ranks) {
    throw std::invalid_argument("-n N is needed when no --hostfile or --host gives the slots");
  }
  implicit_localhost = true;  // a laptop: any number of ranks, like `mpirun -n N` there
  return {{"localhost", *options.ranks, std::nullopt}};
}

int total_slots(const std::vector<launch::HostSlots>& hosts) {
  int total = 0;
  for (const auto& host : hosts) total += host.slots;
  return total;
}

// Blocks the signals the supervisor takes through a signalfd; done before any thread starts
// (the rendezvous thread inherits the mask) and undone in each rank before exec.
launch::UniqueFd block_handled_signals() {
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&handled, s);
  if (::sigprocmask(SIG_BLOCK, &handled, nullptr) != 0) launch::throw_errno("sigprocmask");
  // Writes to a pipe whose reader died (a rank's control channel, hilorun's own stdout) must
  // return EPIPE, not kill hilorun.
  ::signal(SIGPIPE, SIG_IGN);
  launch::UniqueFd fd(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) launch::throw_errno("signalfd");
  return fd;
}

int run(const Options& options) {
  bool implicit_localhost = false;
  std::vector<launch::HostSlots> hosts = hosts_of(options, implicit_localhost);
  int size = options.ranks.value_or(total_slots(hosts));
  std::vector<launch::Placement> placements =
      launch::place_ranks(hosts, size, options.oversubscribe || implicit_localhost);

  // Where the rendezvous server listens and where each host's ranks listen.
  std::optional<std::string> first_remote;
  for (const auto& p : placements) {
    if (!launch::is_local_host(p.host)) {
      first_remote = p.host;
      break;
    }
  }
  Environment exports = exported_variables(options.exports);
  bool tcp_if_set = exports.count(env::tcp_if) || std::getenv(env::tcp_if);
  std::string coord_ip = "127.0.0.1";
  if (options.coord_addr) {
    coord_ip = *options.coord_addr;
  } else if (first_remote) {
    coord_ip = launch::local_address_towards(launch::resolve_ipv4(*first_remote));
  }
  std::map<std::string, std::string> listen_address;  // host -> HILO_HOST_ADDR
  if (!tcp_if_set) {
    for (const auto& host : hosts) {
      listen_address[host.host] = !launch::is_local_host(host.host)
                                      ? launch::resolve_ipv4(host.host)
                                  : first_remote ? coord_ip
                                                 : "127.0.0.1";
    }
  }

  std::string program = options.program.front();
  std::string local_program;
  bool any_local = false;
  for (const auto& p : placements) any_local = any_local || launch::is_local_host(p.host);
  if (any_local) local_program = find_executable(program);
  std::vector<std::string> agent;
  if (first_remote) {
    const char* from_env = std::getenv(env::launch_agent);
    agent = split_words(options.launch_agent ? *options.launch_agent : from_env ? from_env : "ssh");
    if (agent.empty()) throw std::invalid_argument("HILO_LAUNCH_AGENT is empty");
    find_executable(agent.front());  // fail now, before anything starts, if it is missing
  }
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string cwd = std::filesystem::current_path().string();

  launch::UniqueFd signals = block_handled_signals();
  const std::string token = launch::make_job_token();
  launch::RendezvousServer server(coord_ip, 0, size, token);
  // However run() ends, the rendezvous thread is stopped before it is joined.
  struct StopRendezvous {
    launch::RendezvousServer& server;
    std::atomic<bool>& shutting_down;
    ~StopRendezvous() {
      shutting_down = true;
      server.stop();
    }
  };

  std::atomic<bool> shutting_down{false};
  std::jthread rendezvous([&] {
    auto timeout =
        options.timeout_seconds
            ? std::chrono::milliseconds(static_cast<long long>(*options.timeout_seconds * 1000))
            : std::chrono::milliseconds::max();
    try {
      server.serve(timeout);
    } catch (const hilo::Error& e) {
      // A program that does not use hilo never registers: only real failures are news.
      if (!shutting_down) {
        std::string line = std::string("hilorun: rendezvous: ") + e.what() + "\n";
        [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
      }
    }
  });
  StopRendezvous stop_rendezvous{server, shutting_down};

  Environment local_base = inherited_environment(false);
  Environment remote_base = inherited_environment(true);
  for (const auto& [name, value] : exports) {
    local_base[name] = value;
    remote_base[name] = value;
  }
  std::vector<RankProcess> ranks;
  {
    ranks.reserve(placements.size());
    for (const auto& p : placements) {
      bool local = launch::is_local_host(p.host);
      Environment environment = local ? local_base : remote_base;
      environment[env::launcher] = env::launcher_hilorun;
      environment[env::rank] = std::to_string(p.rank);
      environment[env::size] = std::to_string(size);
      environment[env::local_rank] = std::to_string(p.local_rank);
      environment[env::local_size] = std::to_string(p.local_size);
      environment[env::host] = p.host;
      if (!tcp_if_set) environment[env::host_addr] = listen_address.at(p.host);
      environment[env::coord] = coord_ip + ":" + std::to_string(server.port());
      environment[env::job_token] = token;
      if (local) {
        ranks.push_back(
            RankProcess::start_local(p, local_program, options.program, as_strings(environment)));
      } else {
        std::vector<std::string> command = agent;
        command.push_back(p.host);
        command.push_back(shell_quote(self));
        command.push_back("--remote-exec");
        ranks.push_back(RankProcess::start_remote(
            p, command, encode_launch_block(as_strings(environment), options.program, cwd)));
      }
    }
    SupervisorSettings settings;
    settings.tag_output = options.tag_output;
    settings.timeout_seconds = options.timeout_seconds;
    return supervise(ranks, signals.get(), settings);
  }
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
      std::cerr << "hilorun --remote-exec: " << e.what() << "\n";
      return 127;
    }
  }
  Options options;
  try {
    options = parse_options(args);
  } catch (const std::invalid_argument& e) {
    std::cerr << "hilorun: " << e.what() << "\nRun 'hilorun --help' for the options.\n";
    return 2;
  }
  if (options.help) {
    std::cout << usage_text();
    return 0;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "hilorun: " << e.what() << "\n";
    return 1;
  }
}
