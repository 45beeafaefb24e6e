#!/usr/bin/env bash
# Run a launcher across the network-namespace hosts and check what the program printed.
#
#   run-on-netns-hosts.sh [--hosts N] [--min-hosts K] [--matches M] [--timeout S] \
#                         EXPECT_REGEX LAUNCHER [ARGS...]
#
# Brings up N hosts (default 3) with scripts/netns-hosts, runs LAUNCHER ARGS inside the first
# one (hilo-h1, as its hostname), and passes only if
#   - the launcher exits 0 within S seconds (default 90),
#   - at least M lines (default 1) match the extended regex EXPECT_REGEX, and
#   - the output names at least K distinct hosts of the test bed (default N), as host=NAME
#     tokens (one per rank, as mpi_hostname prints) or a hosts=NAME,NAME,... list.
# The hosts are torn down on every exit path. Exit 77 (SKIPPED) where namespaces are not
# possible, unless CI is set. For example, with mpirun:
#
#   run-on-netns-hosts.sh --matches 6 '^mpi_hostname: OK' mpirun --hostfile hostfiles/netns \
#     --mca plm_rsh_agent "$PWD/scripts/netns-agent" --mca btl tcp,self --oversubscribe -n 6 PROG
set -euo pipefail
prog=run-on-netns-hosts
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

hosts=3
min_hosts=""
matches=1
timeout_seconds=90
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=$2; shift 2 ;;
    --min-hosts) min_hosts=$2; shift 2 ;;
    --matches) matches=$2; shift 2 ;;
    --timeout) timeout_seconds=$2; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -lt 2 ]; then
  sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
expect=$1
shift
min_hosts=${min_hosts:-$hosts}

cluster_require_root "making network namespaces"
take_cluster_lock
trap '"$scripts/netns-hosts" down' EXIT
"$scripts/netns-hosts" up "$hosts" ||
  { status=$?; trap - EXIT; "$scripts/netns-hosts" down >/dev/null; exit $status; }
first_host=$(head -n 1 "${HILO_NETNS_DIR:-/tmp/hilo-netns}/hosts" | cut -d' ' -f1)

output=$(mktemp)
trap 'rm -f "$output"; "$scripts/netns-hosts" down' EXIT
echo "$prog: on $first_host: $*"
launcher_status=0
timeout --kill-after=10 "$timeout_seconds" "$scripts/netns-hosts" exec "$first_host" "$@" \
  >"$output" 2>&1 </dev/null || launcher_status=$?
cat "$output"

check_output "$output" "$expect" "$matches" "$launcher_status" "$timeout_seconds" || exit 1
check_distinct_hosts "$output" "$min_hosts" "${HILO_NETNS_DIR:-/tmp/hilo-netns}/hosts" || exit 1
echo "$prog: PASSED"
