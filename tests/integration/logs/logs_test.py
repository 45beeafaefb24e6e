#!/usr/bin/env python3
"""Integration tests of HILO_LOG: one case per ctest test (integration.logs.<case>).

Usage: logs_test.py --probe PATH [--hilorun PATH] [--mpirun PATH] CASE

CASE is <backend>_<level> (backend local, tcp or mpi; level error, warn, info, debug or default,
HILO_LOG unset), or threads_<level> (hilo::run_local), or bad_value, or tcp_lost_<level>. Each runs log_probe (this folder) under its
launcher (none for local, hilorun -n 3 for tcp, mpirun -n 2 for mpi) within a time limit, and
checks which log lines its ranks wrote to stderr and which they did not.
"""
import argparse
import os
import re
import signal
import subprocess
import sys

LIMIT = 60  # seconds a job may take
LINE = re.compile(r"^hilo\[rank (\d+) on (\S+)\]: (error|warn|info|debug): (\S+): (.+)$")
LAUNCHER_VARIABLES = ("HILO_LAUNCHER", "HILO_RANK", "HILO_SIZE", "HILO_HOST", "HILO_COORD",
                      "HILO_JOB_TOKEN", "HILO_BACKEND", "HILO_LOG", "OMPI_COMM_WORLD_SIZE",
                      "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID",
                      "SLURM_NTASKS")
RANKS = {"local": 1, "tcp": 3, "mpi": 2}


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def run(command, level):
    """Runs `command` with HILO_LOG=level (unset for None); returns (status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    if level is not None:
        env["HILO_LOG"] = level
    print(f"$ HILO_LOG={level or ''} " + " ".join(command), flush=True)
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, errors="replace", env=env,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        print(out + err)
        raise Failure(f"no exit within {LIMIT} s")
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # anything the job left behind
        except ProcessLookupError:
            pass
    print("--- stdout\n" + out + "--- stderr\n" + err, flush=True)
    return process.returncode, out, err


def command_for(args, backend, mode):
    if backend == "local":
        return [args.probe, mode]
    if backend == "tcp":
        return [args.hilorun, "-n", str(RANKS["tcp"]), args.probe, mode]
    return [args.mpirun, "--oversubscribe", "-n", str(RANKS["mpi"]), "-x", "HILO_LOG", args.probe,
            mode]


def log_lines(stderr):
    """The log lines of `stderr` as (rank, level, topic, text); fails on a line that contains a
    log prefix anywhere but at its start or does not have the whole form (interleaved lines)."""
    lines = []
    for line in stderr.splitlines():
        if "hilo[" not in line:
            continue
        match = LINE.match(line)
        check(match is not None, f"a malformed or interleaved log line: {line!r}")
        lines.append((int(match[1]), match[3], match[4], match[5]))
    return lines


def expect_each_rank(lines, ranks, level, topic, pattern):
    for rank in range(ranks):
        check(any(r == rank and lv == level and t == topic and re.search(pattern, text)
                  for r, lv, t, text in lines),
              f"rank {rank} wrote no '{level}: {topic}: ' line matching {pattern!r}")


def healthy(args, backend, level):
    mode_level = None if level == "default" else level
    status, out, err = run(command_for(args, backend, "healthy"), mode_level)
    ranks = RANKS[backend]
    check(status == 0, f"the job exited {status}")
    check(len(re.findall(r"^log_probe: rank \d+ done$", out, re.M)) == ranks,
          "not every rank finished")
    lines = log_lines(err)
    if level in ("error", "warn", "default"):
        # A healthy run has nothing wrong to report.
        check(not lines, f"HILO_LOG={level} wrote {len(lines)} lines on a healthy run")
        return
    launcher = {"local": "no launcher found", "tcp": r"started by hilorun \(HILO_LAUNCHER is set\)",
                "mpi": r"started by mpirun \(OMPI_COMM_WORLD_SIZE is set\)"}[backend]
    expect_each_rank(lines, ranks, "info", "runtime", rf"^backend {backend}: {launcher}")
    if backend == "tcp":
        expect_each_rank(lines, ranks, "info", "tcp", rf"^rank \d+ of {ranks} listening on "
                                                      r"127\.0\.0\.1:\d+$")
        expect_each_rank(lines, ranks, "info", "tcp", r"^rendezvous at \S+ done")
        expect_each_rank(lines, ranks, "info", "tcp",
                         rf"^connected to all other ranks \({ranks - 1}\)$")
        expect_each_rank(lines, ranks, "info", "tcp", r"^shared memory with ranks ")
    if backend == "mpi":
        expect_each_rank(lines, ranks, "info", "mpi", rf"^MPI started: rank \d+ of {ranks}, "
                                                      r"thread level \w+$")
    for rank, lv, _, text in lines:
        check(rank < ranks, f"a line names rank {rank} of a {ranks}-rank job")
        if lv != "debug":
            check(not text.startswith("all-reduce") and not text.startswith("all-to-all"),
                  f"an algorithm line not at debug: {text}")
    debug = [l for l in lines if l[1] == "debug"]
    if level == "info":
        check(not debug, f"HILO_LOG=info wrote debug lines: {debug}")
        return
    expect_each_rank(lines, ranks, "debug", "algorithms",
                     rf"^all-reduce of 1000 elements of 4 bytes on {ranks} ranks: \w+$")
    if backend != "mpi":  # mpi runs this all-to-all natively (MPI_Alltoall): no algorithm to choose
        expect_each_rank(lines, ranks, "debug", "algorithms",
                         rf"^all-to-all of 4 bytes per block on {ranks} ranks: \w+$")
    if backend == "tcp":
        expect_each_rank(lines, ranks, "debug", "tcp", r"^(connected to|accepted) rank \d+ ")


def threads(args, level):
    """Three ranks of run_local in one process: each logs as its own rank, and only at debug."""
    status, out, err = run([args.probe, "threads"], level)
    check(status == 0, f"the program exited {status}")
    check(len(re.findall(r"^log_probe: rank \d+ done$", out, re.M)) == 3, "not every rank finished")
    lines = log_lines(err)
    if level != "debug":
        check(not lines, f"HILO_LOG={level} wrote {len(lines)} lines from run_local")
        return
    expect_each_rank(lines, 3, "debug", "algorithms",
                     r"^all-reduce of 1000 elements of 4 bytes on 3 ranks: \w+$")
    expect_each_rank(lines, 3, "debug", "algorithms",
                     r"^all-to-all of 4 bytes per block on 3 ranks: \w+$")


def case_bad_value(args):
    status, out, err = run(command_for(args, "local", "healthy"), "verbose")
    check(status == 5, f"expected the probe's hilo::Error exit 5, got {status}")
    check("HILO_LOG='verbose' is not a log level; use error, warn, info or debug" in err,
          "the error does not name HILO_LOG, the value and the accepted levels")
    check("done" not in out, "the program ran despite the bad HILO_LOG")


def tcp_lost(args, level):
    status, out, err = run(command_for(args, "tcp", "lose"), level)
    check(status == 0, f"the job exited {status}")
    check(len(re.findall(r"^log_probe: rank \d+ lost rank 1$", out, re.M)) == 2,
          "ranks 0 and 2 did not both get PeerLost")
    lines = log_lines(err)
    for survivor in (0, 2):
        check(any(r == survivor and lv == "error" and t == "tcp" and
                  re.match(r"peer lost: rank 1 \(host \S+, [\d.]+:\d+\) closed its connection", x)
                  for r, lv, t, x in lines),
              f"rank {survivor} wrote no 'error: tcp: peer lost: rank 1 ...' line")
    check(all(lv in ("error", "warn") for _, lv, _, _ in lines),
          f"HILO_LOG={level} wrote lines below warn")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--probe", required=True)
    parser.add_argument("--hilorun")
    parser.add_argument("--mpirun")
    parser.add_argument("case")
    args = parser.parse_args()
    try:
        if args.case == "bad_value":
            case_bad_value(args)
        elif args.case.startswith("threads_"):
            threads(args, args.case[len("threads_"):])
        elif args.case.startswith("tcp_lost_"):
            tcp_lost(args, args.case[len("tcp_lost_"):])
        else:
            backend, level = args.case.split("_", 1)
            check(backend in RANKS and level in ("error", "warn", "info", "debug", "default"),
                  f"unknown case {args.case}")
            healthy(args, backend, level)
    except Failure as failure:
        print(f"logs_test {args.case}: FAILED: {failure}")
        return 1
    print(f"logs_test {args.case}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
