# shellcheck shell=bash disable=SC2154  # $prog is set by the caller
# Shared by scripts/slurm-local, scripts/netns-hosts and the cluster integration tests
# (tests/integration/cluster/). Sourced, not run. Expects $prog (the caller's name for messages).

# A part this machine cannot do (not root, a package missing) is SKIPPED with exit code 77, the
# code ctest's SKIP_RETURN_CODE is set to for these tests. Where everything must run (CI sets
# CI=true; or set HILO_REQUIRE_CLUSTER=1 yourself) the same situation is a failure instead.
readonly cluster_skip_code=77

cluster_skip() {
  if [ "${HILO_REQUIRE_CLUSTER:-}" = 1 ] || { [ -n "${CI:-}" ] && [ "${CI:-}" != false ]; }; then
    echo "$prog: FAILED: $* (CI or HILO_REQUIRE_CLUSTER=1 is set, so this may not be skipped)" >&2
    exit 1
  fi
  echo "$prog: SKIPPED: $*"
  exit $cluster_skip_code
}

# cluster_require_root WHAT: namespaces and the Slurm daemons need root.
cluster_require_root() {
  [ "$(id -u)" -eq 0 ] || cluster_skip "$1 needs root (run as root, e.g. in the CI container)"
}

# cluster_require_commands CMD...: skip naming the first command that is not installed.
cluster_require_commands() {
  local command
  for command in "$@"; do
    command -v "$command" >/dev/null 2>&1 ||
      cluster_skip "'$command' is not installed (scripts/setup installs it)"
  done
}

# wait_until SECONDS CMD...: run CMD every 0.2 s until it succeeds; fail after SECONDS.
wait_until() {
  local seconds=$1
  shift
  local tries=$((seconds * 5))
  while [ $tries -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
    tries=$((tries - 1))
  done
  return 1
}

# pid_is NAME PID: PID is alive and is the program NAME (guards against a recycled PID). The
# command name, not /proc/PID/exe: Debian's slurmd is a symlink to slurmd-wlm.
pid_is() {
  local name=$1 pid=$2 command_name
  [ -n "$pid" ] && command_name=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$command_name" = "$name" ]
}

# stop_recorded_pid NAME PIDFILE: stop the daemon whose PID we recorded when we started it
# (SIGTERM, then SIGKILL after 10 s), only if that PID still is NAME. Removes PIDFILE.
stop_recorded_pid() {
  local name=$1 pidfile=$2 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if pid_is "$name" "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_until 10 eval "! pid_is $name $pid"; then
      echo "$prog: $name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      wait_until 5 eval "! pid_is $name $pid" || echo "$prog: $name (pid $pid) is still alive" >&2
    fi
  fi
  rm -f "$pidfile"
}
