// mpirun's --bind-to for hilorun: which CPUs a rank may run on, decided on the host the rank runs
// on (by hilorun for local ranks, by `hilorun --remote-exec` for remote ones), because only there
// are the host's cores known.
//
// The CPUs come from the process's own allowed set (sched_getaffinity), not from the number of
// CPUs of the machine: a container, a cgroup or `taskset` may allow fewer. Those CPUs are grouped
// into cores (hardware threads with the same package and core_id in
// /sys/devices/system/cpu/cpuN/topology) and sockets (same package), each in the order of its
// lowest CPU number. The rank with local rank i on its host then gets
//   core:   the CPUs of core i;
//   socket: the CPUs of the socket that holds core i;
//   none:   the whole allowed set (no restriction).
// More ranks on a host than cores: with an explicit --bind-to core/socket that is an error unless
// --oversubscribe, which wraps around (rank i gets core i mod cores), as mpirun refuses to
// overload a core unless told to. The default binding (no --bind-to) is mpirun 4.1's: core for a
// job of at most 2 ranks, socket above, and none on a host whose ranks outnumber its cores, so
// that an oversubscribed laptop is left to the kernel's scheduler.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hilo::hilorun {

enum class BindTo { none, core, socket };

// "none" / "core" / "socket"; std::invalid_argument naming the accepted values otherwise.
BindTo parse_bind_to(const std::string& flag, const std::string& value);
const char* bind_to_name(BindTo bind_to);

// What a host needs to bind one rank; travels to remote hosts in the launch block.
struct BindingRequest {
  std::optional<BindTo> bind_to;  // nullopt: the default described above
  int job_size = 1;
  int local_rank = 0;
  int local_size = 1;
  bool oversubscribe = false;
  bool report = false;  // --report-bindings

  std::string encode() const;
  // hilo::Error if `text` is not what encode() writes.
  static BindingRequest decode(const std::string& text);
};

// The CPUs one rank is given.
struct CpuBinding {
  BindTo bound_to = BindTo::none;
  std::vector<int> cpus;  // ascending
  int core = -1;          // index among the host's allowed cores, for core binding
  int socket = -1;        // package id, for core and socket binding

  // The rank's line for --report-bindings, e.g.
  //   "[node1:4242] rank 3 bound to core 1 (socket 0): cpus 1,5"
  //   "[node1:4242] rank 3 bound to socket 0: cpus 0-7"
  //   "[node1:4242] rank 3 not bound: cpus 0-7"
  std::string report_line(const std::string& host, long pid, int rank) const;
};

// Decides the binding of one rank on this host from sched_getaffinity and sysfs; a hilo::Error
// naming `host` when the request overloads its cores.
CpuBinding resolve_binding(const BindingRequest& request, const std::string& host);

// Restricts the calling process to `binding.cpus` (nothing to do for none). Only a system call:
// safe between fork and exec. Returns 0 or an errno value.
int apply_binding(const CpuBinding& binding) noexcept;

// "0-3,8,10-11", the format of /proc/self/status Cpus_allowed_list.
std::string cpu_list_text(const std::vector<int>& cpus);

}  // namespace hilo::hilorun
