#!/usr/bin/env bash
# Submit sbatch jobs to a real local Slurm and check what each job printed.
#
#   run-slurm-jobs.sh [--netns] [--timeout S] [JOB.sbatch...]
#
# Without JOB arguments: every slurm/*.sbatch (the examples' jobs) and every job in
# tests/integration/cluster/jobs/. Brings scripts/slurm-local up, and down on every exit path.
# --netns: a two-node Slurm across scripts/netns-hosts (slurmctld in hilo-h1, a slurmd in
# hilo-h1 and hilo-h2), each job submitted with --nodes=2, and its output must name both hosts
# (host=NAME tokens). S bounds the wait for all jobs together (default 120 s).
#
# The convention every job file follows (comment lines, read by this script):
#   # hilo-expect: REGEX   a line the job must print (extended regex); several allowed, at
#                          least one required. srun can exit 0 after every task failed to
#                          start, so the output, not the exit code, says whether a job worked.
#   # hilo-needs: PATH     a program the job runs, relative to the build tree ($HILO_BUILD); a
#                          job whose program is not built is skipped, and the script says so.
# A job passes when it ends COMPLETED and every hilo-expect regex matches a line of its output.
set -euo pipefail
prog=run-slurm-jobs
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

netns=false
timeout_seconds=120
while [ $# -gt 0 ]; do
  case "$1" in
    --netns) netns=true; shift ;;
    --timeout) timeout_seconds=$2; shift 2 ;;
    -*) sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -gt 0 ]; then
  jobs=("$@")
else
  shopt -s nullglob
  jobs=("$repo"/slurm/*.sbatch "$here"/jobs/*.sbatch)
  shopt -u nullglob
fi

slurm_state=${HILO_SLURM_DIR:-/tmp/hilo-slurm}
export SLURM_CONF=$slurm_state/slurm.conf

# slurm CMD...: a Slurm client, run where it reaches slurmctld (inside hilo-h1 for --netns).
slurm() {
  if $netns; then
    "$scripts/netns-hosts" exec hilo-h1 "$@"
  else
    "$@"
  fi
}

tear_down() {
  "$scripts/slurm-local" down || true
  if $netns; then "$scripts/netns-hosts" down || true; fi
}

# Bring the cluster up; a skip (77) or failure of either script ends the test with its status.
bring_up() {
  local status=0
  if $netns; then
    "$scripts/netns-hosts" up 2 || status=$?
    [ $status -eq 0 ] && { "$scripts/slurm-local" up --netns || status=$?; }
  else
    "$scripts/slurm-local" up || status=$?
  fi
  return $status
}

# job_field FILE KEY: the values of "# hilo-KEY: VALUE" lines, one a line.
job_field() { sed -n "s/^# hilo-$2: *//p" "$1"; }

cluster_require_root "starting a local Slurm"
cluster_require_commands sbatch squeue scontrol scancel
take_cluster_lock
trap tear_down EXIT
bring_up || exit $?

outputs=$slurm_state/job-output
rm -rf "$outputs"
mkdir -p "$outputs"
submitted=() # "ID FILE" pairs
skipped=()
failed=0
extra_args=()
$netns && extra_args=(--nodes=2)
cd "$repo" # SLURM_SUBMIT_DIR: where the jobs' HILO_BUILD default points from

for job in "${jobs[@]}"; do
  name=$(basename "$job" .sbatch)
  if [ -z "$(job_field "$job" expect)" ]; then
    echo "$prog: FAILED: $job has no '# hilo-expect: REGEX' line: nothing says if it worked" >&2
    failed=1
    continue
  fi
  missing=""
  while read -r needed; do
    [ -n "$needed" ] && [ ! -x "$HILO_BUILD/$needed" ] && missing="$missing $HILO_BUILD/$needed"
  done < <(job_field "$job" needs)
  if [ -n "$missing" ]; then
    echo "$prog: SKIP $name: not built:$missing"
    skipped+=("$name")
    continue
  fi
  id=$(slurm sbatch --parsable "${extra_args[@]}" --output="$outputs/$name-%j.out" "$job") || {
    echo "$prog: FAILED: sbatch refused $job" >&2
    failed=1
    continue
  }
  id=${id%%;*} # --parsable prints "ID" or "ID;CLUSTER"
  echo "$prog: submitted $name as job $id"
  submitted+=("$id $job")
done

if [ ${#submitted[@]} -gt 0 ]; then
  ids=$(printf '%s\n' "${submitted[@]}" | cut -d' ' -f1 | paste -sd,)
  # sbatch --wait polls every 10 s; squeue answers at once. Empty output: every job ended.
  all_jobs_ended() {
    local listed
    listed=$(slurm squeue -h -j "$ids" -o %i 2>&1) || { echo "squeue failed: $listed" >&2; return 2; }
    [ -z "$listed" ]
  }
  deadline=$((SECONDS + timeout_seconds))
  until all_jobs_ended; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$prog: FAILED: jobs still queued or running after ${timeout_seconds}s:" >&2
      slurm squeue -j "$ids" >&2 || true
      IFS=, read -ra id_list <<<"$ids"
      slurm scancel "${id_list[@]}" || true
      exit 1
    fi
    sleep 0.5
  done
fi

for entry in "${submitted[@]}"; do
  id=${entry%% *}
  job=${entry#* }
  name=$(basename "$job" .sbatch)
  output=$outputs/$name-$id.out
  state=$(slurm scontrol show job "$id" | grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9:]+' |
    tr '\n' ' ' || true)
  echo "----- $name (job $id: ${state:-state unknown}) output:"
  cat "$output" 2>/dev/null || echo "(no output file $output)"
  problems=""
  [[ "$state" == *JobState=COMPLETED* ]] || problems="$problems; the job did not end COMPLETED"
  while read -r regex; do
    grep -qE -- "$regex" "$output" 2>/dev/null || problems="$problems; no line matches '$regex'"
  done < <(job_field "$job" expect)
  if $netns; then
    check_distinct_hosts "$output" 2 "$slurm_state/nodes" >/dev/null ||
      problems="$problems; the output does not name both nodes (host=NAME)"
  fi
  if [ -n "$problems" ]; then
    echo "$prog: FAILED $name:${problems#;}" >&2
    failed=1
  else
    echo "$prog: passed $name"
  fi
done

echo "$prog: ${#submitted[@]} job(s) run, ${#skipped[@]} skipped (not built: ${skipped[*]:-none})"
if [ ${#submitted[@]} -eq 0 ]; then
  echo "$prog: FAILED: no job could run (build the tree in HILO_BUILD=$HILO_BUILD first)" >&2
  exit 1
fi
[ $failed -eq 0 ] && echo "$prog: PASSED"
exit $failed
