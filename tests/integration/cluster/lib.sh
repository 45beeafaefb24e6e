# shellcheck shell=bash disable=SC2154  # $prog is set by the caller
# Shared by the cluster test scripts in this folder. Sourced, not run. Expects $prog.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
scripts=$repo/scripts
# shellcheck source-path=SCRIPTDIR source=../../../scripts/cluster-lib.sh
source "$scripts/cluster-lib.sh"

# The build tree whose programs the tests run; ctest sets it to its own tree.
export HILO_BUILD=${HILO_BUILD:-$repo/build/release}
# Open MPI refuses to run as root unless told; CI and containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# take_cluster_lock: Slurm and namespace tests share namespaces, munge and ports. ctest's
# RESOURCE_LOCK serialises them inside one ctest run; this lock also covers two ctest runs (two
# worktrees, two build trees) on one machine. Bounded: gives up after 5 minutes.
take_cluster_lock() {
  local lock_file=${HILO_CLUSTER_LOCK:-/tmp/hilo-cluster.lock}
  exec {cluster_lock_fd}>>"$lock_file"
  if ! flock -w 300 "$cluster_lock_fd"; then
    echo "$prog: another cluster test held $lock_file for 5 minutes; giving up" >&2
    exit 1
  fi
}

# check_output FILE REGEX MIN_MATCHES EXIT_STATUS TIMEOUT: the launcher's exit status was 0 and at
# least MIN_MATCHES lines of FILE match REGEX. Says which check failed.
check_output() {
  local file=$1 regex=$2 min_matches=$3 status=$4 timeout_seconds=$5 found
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "$prog: FAILED: the launcher did not finish within ${timeout_seconds}s (killed)" >&2
    return 1
  fi
  if [ "$status" -ne 0 ]; then
    echo "$prog: FAILED: the launcher exited with status $status" >&2
    return 1
  fi
  found=$(grep -cE -- "$regex" "$file" || true)
  if [ "$found" -lt "$min_matches" ]; then
    echo "$prog: FAILED: $found line(s) match '$regex', expected at least $min_matches" >&2
    return 1
  fi
  echo "$prog: $found line(s) match '$regex'"
}

# check_distinct_hosts FILE MIN HOSTS_FILE: FILE names at least MIN distinct hosts listed in
# HOSTS_FILE ("NAME ADDRESS" lines), as host=NAME tokens or hosts=NAME,NAME,... lists.
check_distinct_hosts() {
  local file=$1 min=$2 hosts_file=$3 seen
  seen=$(grep -oE '\bhosts?=[^[:space:]]+' "$file" | cut -d= -f2 | tr ',' '\n' |
    grep -Fxf <(cut -d' ' -f1 "$hosts_file") | sort -u | tr '\n' ' ' || true)
  if [ "$(wc -w <<<"$seen")" -lt "$min" ]; then
    echo "$prog: FAILED: the output names the hosts [ $seen], expected at least $min distinct" \
      "hosts of the test bed" >&2
    return 1
  fi
  echo "$prog: ran on $(wc -w <<<"$seen") distinct hosts: $seen"
}
