// One started rank: a local child (fork/exec) or a launch agent running `hilorun --remote-exec`
// on another host. Each is the leader of its own process group, so one killpg() reaches it and
// anything it started; its stdout and stderr come back through pipes.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.hpp"
#include "cpu_binding.hpp"
#include "launch/hostfile.hpp"

namespace hilo::hilorun {

class RankProcess {
 public:
  // Starts `program` (already resolved to a path) with `arguments` (argv[0] first) and exactly
  // the environment `environment` ("NAME=value" each), restricted to the CPUs of `binding`.
  // stdin is /dev/null.
  static RankProcess start_local(const launch::Placement& placement, const std::string& program,
                                 const std::vector<std::string>& arguments,
                                 const std::vector<std::string>& environment,
                                 const CpuBinding& binding);

  // Starts `agent_command` (agent path and words, then HOST, then the remote command) and writes
  // `launch_block` on its stdin, which stays open as the rank's control channel.
  static RankProcess start_remote(const launch::Placement& placement,
                                  const std::vector<std::string>& agent_command,
                                  const std::string& launch_block);

  RankProcess(RankProcess&& other) noexcept { *this = std::move(other); }
  RankProcess& operator=(RankProcess&& other) noexcept;
  // A rank still running when its RankProcess goes away is killed (with its process group) and
  // reaped: hilorun never leaves one behind, even when it fails half-way through a launch.
  ~RankProcess();

  const launch::Placement& placement() const { return placement_; }
  bool remote() const { return remote_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !reaped_; }

  // Sends `signal_number` to the rank: to its process group if local; through the control
  // channel if remote (SIGKILL also kills the agent's process group and closes the channel).
  void signal(int signal_number);

  // Marks the rank as reaped with `wait_status` (from waitpid), and kills whatever is left of
  // its process group (a background child it forgot).
  void reaped(int wait_status);
  int wait_status() const { return wait_status_; }

  // The read ends of the rank's stdout and stderr; the supervisor resets them at EOF.
  common::UniqueFd& output(int stream) { return stream == 1 ? stdout_ : stderr_; }

 private:
  RankProcess() = default;
  void kill_and_reap() noexcept;
  static RankProcess spawn(const launch::Placement& placement, const std::string& path,
                           const std::vector<std::string>& arguments,
                           const std::vector<std::string>* environment, bool with_control,
                           const CpuBinding* binding);

  launch::Placement placement_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool remote_ = false;
  int wait_status_ = 0;
  common::UniqueFd stdout_, stderr_, control_;
};

// The path execve() needs for `program`: itself if it has a '/', else the first executable of
// that name in $PATH. A hilo::Error naming the program if there is none.
std::string find_executable(const std::string& program);

}  // namespace hilo::hilorun
