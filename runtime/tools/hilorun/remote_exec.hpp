// How a remote rank starts without its job token ever appearing on a command line.
//
// hilorun runs `AGENT HOST '/path/to/hilorun' --remote-exec` (AGENT is ssh by default) and writes
// a launch block on the agent's stdin, which ssh carries to the remote command's stdin:
//
//   "HILO-REMOTE-EXEC 2\n"
//   "<number of variables>\0"  then each "NAME=value\0"   (HILO_JOB_TOKEN among them)
//   "<number of arguments>\0"  then each argument "\0"     (the program first)
//   "<working directory>\0"
//   "<binding request>\0"                                 (BindingRequest::encode, cpu_binding.hpp)
//
// `hilorun --remote-exec` on the remote host reads the block (bounded: 4 MiB), adds the
// variables to its environment, changes to the working directory if it exists there, decides the
// rank's CPU binding from this host's cores (printing the --report-bindings line on its stderr),
// and runs the program as its child, bound. It stays as a small supervisor, because killing a local
// ssh does not kill the remote command:
//   - every further byte on stdin is a signal number to deliver to the program (how hilorun
//     forwards SIGINT/SIGTERM to remote ranks);
//   - EOF on stdin means hilorun (or the connection) is gone: the program gets SIGTERM, then
//     SIGKILL 2 s later;
//   - SIGTERM/SIGINT/SIGHUP sent to the supervisor itself are passed on to the program;
//   - the program has PR_SET_PDEATHSIG=SIGKILL, so it dies with the supervisor.
// It exits with the program's status, or dies of the same signal; 127 if the program cannot be
// run there, 125 if the launch block is missing or malformed.
#pragma once

#include <string>
#include <vector>

#include "cpu_binding.hpp"

namespace hilo::hilorun {

std::string encode_launch_block(const std::vector<std::string>& environment,
                                const std::vector<std::string>& arguments,
                                const std::string& working_directory,
                                const BindingRequest& binding);

// The `hilorun --remote-exec` mode; returns the process exit status (or does not return).
int run_remote_exec();

}  // namespace hilo::hilorun
