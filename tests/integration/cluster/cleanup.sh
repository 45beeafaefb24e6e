#!/usr/bin/env bash
# ctest's cleanup fixture for the cluster tests: stops a local Slurm and removes the namespace
# hosts that a killed test (ctest TIMEOUT) could not tear down itself. Takes the cluster lock
# first, so it never pulls the cluster from under a test of another ctest run.
set -uo pipefail
prog=cluster-cleanup
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

take_cluster_lock
status=0
"$scripts/slurm-local" down || status=1
"$scripts/netns-hosts" down || status=1
exit $status
