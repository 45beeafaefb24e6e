#include "cpu_binding.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "common/system_error.hpp"
#include "hilo/detail/error_message.hpp"
#include "hilo/errors.hpp"

namespace hilo::hilorun {
namespace {

// One core: the allowed hardware threads that share a package and a core_id.
struct Core {
  int package = 0;
  std::vector<int> cpus;
};

std::vector<int> allowed_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
    common::throw_errno("sched_getaffinity");
  }
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  return cpus;
}

// A number from the CPU's sysfs topology; nullopt where sysfs does not say (some containers):
// then each CPU counts as its own core on package 0.
std::optional<int> topology_value(int cpu, const char* name) {
  std::ifstream file("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/" + name);
  int value = 0;
  if (!(file >> value)) return std::nullopt;
  return value;
}

// The allowed cores, each in the order of its lowest CPU.
std::vector<Core> allowed_cores() {
  std::vector<Core> cores;
  std::map<std::pair<int, int>, std::size_t> index_of;  // (package, core_id) -> index in cores
  for (int cpu : allowed_cpus()) {
    int package = topology_value(cpu, "physical_package_id").value_or(0);
    // Without a core_id, a key no other CPU shares.
    int core_id = topology_value(cpu, "core_id").value_or(-1 - cpu);
    auto [found, added] = index_of.try_emplace({package, core_id}, cores.size());
    if (added) cores.push_back({package, {}});
    cores[found->second].cpus.push_back(cpu);
  }
  return cores;
}

}  // namespace

BindTo parse_bind_to(const std::string& flag, const std::string& value) {
  if (value == "none") return BindTo::none;
  if (value == "core") return BindTo::core;
  if (value == "socket") return BindTo::socket;
  detail::throw_error<std::invalid_argument>(flag, " takes none, core or socket, not '", value,
                                             "'");
}

const char* bind_to_name(BindTo bind_to) {
  switch (bind_to) {
    case BindTo::none:
      return "none";
    case BindTo::core:
      return "core";
    case BindTo::socket:
      return "socket";
  }
  return "?";
}

std::string BindingRequest::encode() const {
  std::ostringstream text;
  text << (bind_to ? bind_to_name(*bind_to) : "default") << ' ' << job_size << ' ' << local_rank
       << ' ' << local_size << ' ' << oversubscribe << ' ' << report;
  return text.str();
}

BindingRequest BindingRequest::decode(const std::string& text) {
  std::istringstream in(text);
  std::string policy;
  BindingRequest request;
  if (!(in >> policy >> request.job_size >> request.local_rank >> request.local_size >>
        request.oversubscribe >> request.report) ||
      request.local_rank < 0 || request.local_size <= request.local_rank) {
    detail::throw_error<Error>("malformed launch block (bad binding '", text, "')");
  }
  if (policy != "default") {
    try {
      request.bind_to = parse_bind_to("binding", policy);
    } catch (const std::invalid_argument& e) {
      detail::throw_error<Error>("malformed launch block (", e.what(), ")");
    }
  }
  return request;
}

CpuBinding resolve_binding(const BindingRequest& request, const std::string& host) {
  std::vector<Core> cores = allowed_cores();
  CpuBinding binding;
  auto core_count = static_cast<int>(cores.size());
  bool overloaded = request.local_size > core_count;
  BindTo bind_to = request.bind_to.value_or(BindTo::none);
  if (!request.bind_to && !overloaded) {
    bind_to = request.job_size <= 2 ? BindTo::core : BindTo::socket;
  }
  if (request.bind_to && *request.bind_to != BindTo::none && overloaded && !request.oversubscribe) {
    detail::throw_error<Error>("--bind-to ", bind_to_name(bind_to), ": ", request.local_size,
                               " ranks on host ", host, " but only ", core_count,
                               (core_count == 1 ? " core is" : " cores are"),
                               " available to hilorun there (sched_getaffinity); pass "
                               "--oversubscribe to share cores or --bind-to none");
  }
  binding.bound_to = bind_to;
  if (bind_to == BindTo::none) {
    for (const Core& core : cores)
      binding.cpus.insert(binding.cpus.end(), core.cpus.begin(), core.cpus.end());
  } else {
    binding.core = request.local_rank % core_count;
    const Core& mine = cores[static_cast<std::size_t>(binding.core)];
    binding.socket = mine.package;
    if (bind_to == BindTo::core) {
      binding.cpus = mine.cpus;
    } else {
      for (const Core& core : cores) {
        if (core.package != mine.package) continue;
        binding.cpus.insert(binding.cpus.end(), core.cpus.begin(), core.cpus.end());
      }
    }
  }
  std::sort(binding.cpus.begin(), binding.cpus.end());
  return binding;
}

int apply_binding(const CpuBinding& binding) noexcept {
  if (binding.bound_to == BindTo::none) return 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : binding.cpus) CPU_SET(cpu, &set);
  return ::sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

std::string cpu_list_text(const std::vector<int>& cpus) {
  std::string text;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t last = i;
    while (last + 1 < cpus.size() && cpus[last + 1] == cpus[last] + 1) ++last;
    if (!text.empty()) text += ',';
    text += std::to_string(cpus[i]);
    if (last > i) text += '-' + std::to_string(cpus[last]);
    i = last + 1;
  }
  return text;
}

std::string CpuBinding::report_line(const std::string& host, long pid, int rank) const {
  std::string line = "[" + host + ":" + std::to_string(pid) + "] rank " + std::to_string(rank);
  switch (bound_to) {
    case BindTo::none:
      line += " not bound";
      break;
    case BindTo::core:
      line += " bound to core " + std::to_string(core) + " (socket " + std::to_string(socket) + ")";
      break;
    case BindTo::socket:
      line += " bound to socket " + std::to_string(socket);
      break;
  }
  return line + ": cpus " + cpu_list_text(cpus);
}

}  // namespace hilo::hilorun
