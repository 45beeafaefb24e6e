// The contract between hilorun and the ranks it starts: the environment variables every rank
// finds, which the runtime reads to pick and set up the TCP backend.
//
//   HILO_LAUNCHER=hilorun   present only under hilorun; it means "use the tcp backend"
//   HILO_RANK               this rank, 0 .. HILO_SIZE-1
//   HILO_SIZE               how many ranks the job has
//   HILO_LOCAL_RANK         index of this rank among the ranks on the same host
//   HILO_LOCAL_SIZE         how many ranks run on this host
//   HILO_HOST               the host name as written in the hostfile or --host (for messages)
//   HILO_HOST_ADDR          the IPv4 address this rank should listen on: 127.0.0.1 when every
//                           rank is local, else the address hilorun resolved for HILO_HOST (for
//                           local ranks of a multi-host job, hilorun's own address towards the
//                           other hosts). Not set when the user sets HILO_TCP_IF: choosing the
//                           interface is then the backend's job.
//   HILO_COORD              ip:port of the rendezvous server (RendezvousServer in hilorun)
//   HILO_JOB_TOKEN          64 hex characters (32 random bytes), fresh for every launch. Never on
//                           a command line, never printed: local ranks get it in their
//                           environment; remote ranks get it through the launch agent's stdin
//                           (see hilorun --remote-exec), never on the agent's command line.
//
// Also passed: every other HILO_* variable of hilorun's environment (HILO_TIMEOUT, HILO_TCP_IF,
// HILO_TCP_PORTS, ...), and each `-x VAR` / `-x VAR=value` (mpirun's habit). Local ranks also
// inherit the rest of hilorun's environment; remote ranks get the environment the launch agent
// gives them (ssh: a login environment) plus the variables above.
#pragma once

namespace hilo::launch::env {

inline constexpr const char* launcher = "HILO_LAUNCHER";
inline constexpr const char* launcher_hilorun = "hilorun";  // the value of HILO_LAUNCHER
inline constexpr const char* rank = "HILO_RANK";
inline constexpr const char* size = "HILO_SIZE";
inline constexpr const char* local_rank = "HILO_LOCAL_RANK";
inline constexpr const char* local_size = "HILO_LOCAL_SIZE";
inline constexpr const char* host = "HILO_HOST";
inline constexpr const char* host_addr = "HILO_HOST_ADDR";
inline constexpr const char* coord = "HILO_COORD";
inline constexpr const char* job_token = "HILO_JOB_TOKEN";
inline constexpr const char* timeout = "HILO_TIMEOUT";
inline constexpr const char* tcp_if = "HILO_TCP_IF";
inline constexpr const char* launch_agent = "HILO_LAUNCH_AGENT";  // read by hilorun itself

}  // namespace hilo::launch::env
