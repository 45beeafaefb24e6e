#!/usr/bin/env bash
# An exception escaping main on one MPI rank must end the whole job, promptly, with its message.
set -u
mpirun=$1 program=$2
start=$(date +%s)
output=$(timeout 60 "$mpirun" --oversubscribe -n 2 "$program" 2>&1)
status=$?
elapsed=$(( $(date +%s) - start ))
echo "$output"
[ $status -eq 124 ] && { echo "FAILED: the job hung (killed by timeout after 60 s)"; exit 1; }
[ $status -eq 0 ] && { echo "FAILED: mpirun exited 0"; exit 1; }
grep -q "rank 1 could not open its input file" <<<"$output" || { echo "FAILED: the exception's message is missing"; exit 1; }
grep -q "aborting the whole MPI job" <<<"$output" || { echo "FAILED: no line saying the job is aborted"; exit 1; }
echo "check_abort: OK mpirun exited $status after ${elapsed}s with the message"
