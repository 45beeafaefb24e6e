#include "options.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "hilo/detail/error_message.hpp"

namespace hilo::hilorun {
namespace {

// Each spelling hilorun accepts for a flag that takes a value, and where the value goes.
enum class Flag {
  ranks,
  hostfile,
  host,
  export_var,
  timeout,
  launch_agent,
  coord_addr,
  output_filename,
  bind_to,
  map_by,
  per_host
};

std::optional<Flag> flag_with_value(const std::string& name) {
  if (name == "-n" || name == "-np" || name == "--np" || name == "--n") return Flag::ranks;
  if (name == "--hostfile" || name == "-hostfile" || name == "--machinefile" ||
      name == "-machinefile") {
    return Flag::hostfile;
  }
  if (name == "--host" || name == "-host" || name == "-H") return Flag::host;
  if (name == "-x") return Flag::export_var;
  if (name == "--timeout" || name == "-timeout") return Flag::timeout;
  if (name == "--launch-agent" || name == "-launch-agent") return Flag::launch_agent;
  if (name == "--coord-addr") return Flag::coord_addr;
  if (name == "--output-filename" || name == "-output-filename") return Flag::output_filename;
  if (name == "--bind-to" || name == "-bind-to") return Flag::bind_to;
  if (name == "--map-by" || name == "-map-by") return Flag::map_by;
  if (name == "-N" || name == "--npernode" || name == "-npernode") return Flag::per_host;
  return std::nullopt;
}

int parse_rank_count(const std::string& flag, const std::string& value) {
  int n = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (error != std::errc{} || end != value.data() + value.size() || n < 1) {
    detail::throw_error<std::invalid_argument>(flag, " needs a number of ranks >= 1, not '", value,
                                               "'");
  }
  return n;
}

double parse_seconds(const std::string& flag, const std::string& value) {
  std::size_t used = 0;
  double seconds = 0;
  try {
    seconds = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || !std::isfinite(seconds) || seconds <= 0) {
    detail::throw_error<std::invalid_argument>(flag, " needs a number of seconds > 0, not '", value,
                                               "'");
  }
  return seconds;
}

launch::MapBy parse_map_by(const std::string& flag, const std::string& value) {
  if (value == "slot") return launch::MapBy::slot;
  if (value == "node") return launch::MapBy::node;
  if (value == "core") return launch::MapBy::core;
  detail::throw_error<std::invalid_argument>(flag, " takes slot, node or core, not '", value, "'");
}

void check_export(const std::string& value) {
  std::string name = value.substr(0, value.find('='));
  bool valid = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) {
    valid = valid && (c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9'));
  }
  if (!valid) detail::throw_error<std::invalid_argument>("-x '", value, "': not VAR or VAR=value");
}

}  // namespace

Options parse_options(const std::vector<std::string>& args) {
  Options options;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || arg[0] != '-') break;  // the program
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      return options;
    }
    if (arg == "--tag-output" || arg == "-tag-output") {
      options.tag_output = true;
      continue;
    }
    if (arg == "--report-bindings" || arg == "-report-bindings") {
      options.report_bindings = true;
      continue;
    }
    if (arg == "--output-nocopy") {
      options.output_to_terminal = false;
      continue;
    }
    if (arg == "--oversubscribe" || arg == "-oversubscribe") {
      options.oversubscribe = true;
      continue;
    }
    // A flag with a value: `--flag value` or `--flag=value`.
    std::string name = arg, value;
    bool inline_value = false;
    if (auto equals = arg.find('='); equals != std::string::npos && arg.rfind("--", 0) == 0) {
      name = arg.substr(0, equals);
      value = arg.substr(equals + 1);
      inline_value = true;
    }
    auto flag = flag_with_value(name);
    if (!flag) {
      detail::throw_error<std::invalid_argument>("unknown option '", arg, "'");
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) detail::throw_error<std::invalid_argument>(name, " needs a value");
      value = args[++i];
    }
    switch (*flag) {
      case Flag::ranks:
        options.ranks = parse_rank_count(name, value);
        break;
      case Flag::hostfile:
        options.hostfile = value;
        break;
      case Flag::host:
        options.host_list = value;
        break;
      case Flag::export_var:
        check_export(value);
        options.exports.push_back(value);
        break;
      case Flag::timeout:
        options.timeout_seconds = parse_seconds(name, value);
        break;
      case Flag::launch_agent:
        if (value.find_first_not_of(" \t") == std::string::npos) {
          detail::throw_error<std::invalid_argument>(name,
                                                     " needs a command, e.g. --launch-agent ssh");
        }
        options.launch_agent = value;
        break;
      case Flag::coord_addr:
        if (in_addr parsed{}; ::inet_pton(AF_INET, value.c_str(), &parsed) != 1) {
          detail::throw_error<std::invalid_argument>(
              name, " needs an IPv4 address of this machine, not '", value, "'");
        }
        options.coord_addr = value;
        break;
      case Flag::output_filename:
        if (value.empty()) detail::throw_error<std::invalid_argument>(name, " needs a directory");
        options.output_directory = value;
        break;
      case Flag::bind_to:
        options.bind_to = parse_bind_to(name, value);
        break;
      case Flag::map_by:
        options.map_by = parse_map_by(name, value);
        break;
      case Flag::per_host:
        try {
          options.per_host = parse_rank_count(name, value);
        } catch (const std::invalid_argument&) {
          detail::throw_error<std::invalid_argument>(
              name, " needs a number of ranks per host >= 1, not '", value, "'");
        }
        break;
    }
  }
  options.program.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (options.program.empty()) throw std::invalid_argument("no program to run");
  if (options.hostfile && options.host_list) {
    throw std::invalid_argument("use either --hostfile or --host, not both");
  }
  if (!options.output_to_terminal && !options.output_directory) {
    throw std::invalid_argument(
        "--output-nocopy needs --output-filename DIR (else the output is lost)");
  }
  return options;
}

const char* usage_text() {
  return R"(Usage: hilorun -n N [options] program [args...]

Starts N ranks of `program` for hilo's TCP backend: on this machine, or on the hosts of a
hostfile (Open MPI's format, so the same file works with mpirun).

Options (mpirun's names where they overlap):
  -n, -np, --np N         number of ranks (default without -n: one per slot of the hosts)
  --hostfile FILE         hosts and slots, lines `host [slots=N] [max_slots=N]`, # comments
  --host, -H a,b:2        hosts on the command line; `:N` gives a host N slots (default 1)
  --oversubscribe         allow more ranks than slots (always allowed without hosts given)
  -x VAR[=value]          export VAR (with hilorun's value, or `value`) to every rank
  --tag-output            prefix each output line with `[rank] ` (mpirun writes `[1,rank]<stdout>:`)
  --timeout S             stop the whole job after S seconds (exit status 124), first
                          printing what each rank is waiting for (as SIGQUIT does)
  --launch-agent CMD      how remote ranks start: `CMD HOST COMMAND...` (default ssh,
                          or $HILO_LAUNCH_AGENT); the same hilorun path must exist there
  --coord-addr IP         address of the rendezvous server for a multi-host job (default: the
                          local address that routes to the first remote host)
  --map-by slot|node|core which host each rank goes to: slot fills each host's slots in
                          order (default), node deals ranks to the hosts in turn, core places
                          like slot (remote hosts' cores are not known before they start)
  -N, --npernode N        exactly N ranks per host (-n defaults to N per host)
  --bind-to none|core|socket
                          restrict each rank to one core, or to the cores of its socket, out of
                          the CPUs hilorun may use on its host (sched_getaffinity); the i-th rank
                          on a host gets the i-th core. Default as mpirun 4.1: core for up to 2
                          ranks, socket above, none on a host with more ranks than cores. More
                          ranks than cores with an explicit core/socket needs --oversubscribe,
                          which wraps around
  --report-bindings       one line per rank on stderr: `[host:pid] rank N bound to core C
                          (socket S): cpus LIST` (or `bound to socket S`, `not bound`)
  --output-filename DIR   also write each rank's stdout and stderr to DIR/1/rank.N/stdout and
                          DIR/1/rank.N/stderr (mpirun's layout; N zero-padded to the width of
                          the last rank)
  --output-nocopy         with --output-filename: write only the files, not the terminal
  -h, --help              this text

Ranks find HILO_RANK, HILO_SIZE, HILO_LOCAL_RANK, HILO_LOCAL_SIZE, HILO_HOST, HILO_HOST_ADDR,
HILO_COORD and HILO_JOB_TOKEN in their environment, plus every HILO_* variable of hilorun's.
Output is forwarded line by line; SIGINT/SIGTERM are forwarded to every rank. SIGQUIT to
hilorun prints what each rank is blocked in (its pending hilo calls, and any cycle of ranks
waiting for one another), and the job goes on. When a rank
fails, the others are stopped (SIGTERM, then SIGKILL after 2 s) and hilorun exits with that
rank's status (128+N for signal N), naming it.
)";
}

}  // namespace hilo::hilorun
