#!/usr/bin/env bash
# Check that Open MPI's mpirun accepts a hostfile of hostfiles/, and optionally run on it.
#
#   check-hostfile.sh HOSTFILE [PROGRAM]
#
# Always: mpirun reads HOSTFILE and plans a job without launching it (--do-not-launch), inside a
# network namespace of its own so that the hosts of a template are never looked up or
# contacted; the slots it reports must equal the sum of the file's slots=N.
# With PROGRAM (only for hosts of this machine: hostfiles/localhost): mpirun really starts one
# rank per slot, and every rank must print "OK rank=R size=SLOTS".
set -euo pipefail
prog=check-hostfile
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
hostfile=$1
program=${2:-}
[ -r "$hostfile" ] || { echo "$prog: FAILED: cannot read $hostfile" >&2; exit 1; }
cluster_require_root "isolating mpirun in a network namespace"
cluster_require_commands mpirun unshare

slots=$(awk '/^[[:space:]]*#/ { next }
  { for (i = 1; i <= NF; i++) if ($i ~ /^slots=[0-9]+$/) total += substr($i, 7) }
  END { print total + 0 }' "$hostfile")
echo "$prog: $hostfile declares $slots slots"

plan=$(timeout 30 unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh \
  mpirun --hostfile "$hostfile" --display-allocation --do-not-launch -n 1 true 2>&1) || true
if grep -q 'parse error' <<<"$plan"; then
  echo "$plan" >&2
  echo "$prog: FAILED: mpirun could not parse $hostfile" >&2
  exit 1
fi
if ! grep -q "Total slots allocated $slots\$" <<<"$plan"; then
  echo "$plan" >&2
  echo "$prog: FAILED: mpirun did not report 'Total slots allocated $slots'" >&2
  exit 1
fi
echo "$prog: mpirun accepts $hostfile ($slots slots)"

if [ -n "$program" ]; then
  status=0
  output=$(timeout 60 mpirun --hostfile "$hostfile" -n "$slots" "$program" 2>&1) || status=$?
  echo "$output"
  file=$(mktemp)
  trap 'rm -f "$file"' EXIT
  echo "$output" >"$file"
  check_output "$file" "OK rank=[0-9]+ size=$slots " "$slots" "$status" 60 || exit 1
fi
echo "$prog: PASSED"
