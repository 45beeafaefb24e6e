#!/usr/bin/env python3
"""Integration tests of hilorun's wait-for report: one case per ctest test
(integration.hilorun.wait_for.<case>), each a job of hang_probe that hangs in a known way.

Usage: wait_for_test.py --hilorun PATH --probe PATH CASE

The report is asked for by --timeout expiry, by SIGQUIT to hilorun, or comes when a rank raises
hilo::Timeout (HILO_TIMEOUT). Every hilorun started here runs under a time limit and is stopped
at the end; so is everything the probe leaves behind.
"""
import argparse
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

from hilorun_test import LIMIT, Failure, Harness, check, is_alive, run_case

PROBE_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hang_probe.cpp")


def line_of(marker):
    """The line of hang_probe.cpp whose comment is `marker`."""
    with open(PROBE_SOURCE) as f:
        for number, line in enumerate(f, 1):
            if line.rstrip().endswith("// " + marker):
                return number
    raise Failure(f"no line marked '{marker}' in {PROBE_SOURCE}")


def recv_line(rank, peer, marker):
    """The per-rank line of a rank blocked in recv from `peer`, tag 7 (without the time)."""
    return re.compile(rf"^hilorun: rank {rank} \(localhost\): waiting in recv from rank {peer}, "
                      rf"tag 7, on world, for [0-9.]+ s, at hang_probe\.cpp:{line_of(marker)}$",
                      re.M)


def cycle_deadlock_line(size):
    """The deadlock line of `size` ranks each receiving from the next."""
    parts = []
    for rank in range(size):
        marker = "rank 0 waits" if rank == 0 else "rank R waits"
        parts.append(f"rank {rank} waits for rank {(rank + 1) % size} "
                     f"(recv tag 7 at hang_probe.cpp:{line_of(marker)})")
    return "hilorun: deadlock: " + "; ".join(parts) + "\n"


def check_cycle_report(stderr, size):
    for rank in range(size):
        marker = "rank 0 waits" if rank == 0 else "rank R waits"
        check(recv_line(rank, (rank + 1) % size, marker).search(stderr),
              f"no line saying rank {rank} waits in recv from rank {(rank + 1) % size}")
    check(cycle_deadlock_line(size) in stderr, "no deadlock line naming the cycle")


def cycle_timeout_case(h, size):
    done = h.run(["--timeout", "4", "-n", str(size), "-x", f"PROBE_PID_DIR={h.pid_dir}",
                  h.probe, "cycle"])
    check(done.returncode == 124, "a timed-out job must exit 124")
    check("hilorun: what each rank was waiting for:\n" in done.stderr,
          "no wait-for report heading after --timeout")
    check_cycle_report(done.stderr, size)
    h.check_no_survivors(size)


def case_cycle2_timeout(h):
    cycle_timeout_case(h, 2)


def case_cycle3_timeout(h):
    cycle_timeout_case(h, 3)


def read_lines(stream, lines):
    for line in stream:
        lines.put(line)


def cycle_sigquit_case(h, size):
    """SIGQUIT until a report names the cycle (the ranks may not be blocked at the first one);
    the job must go on after each report, then end on SIGTERM."""
    job = h.start(["-n", str(size), "-x", f"PROBE_PID_DIR={h.pid_dir}", h.probe, "cycle"])
    lines = queue.Queue()
    reader = threading.Thread(target=read_lines, args=(job.stderr, lines), daemon=True)
    reader.start()
    stderr = ""
    try:
        h.wait_for_pid_files(size)
        expected = cycle_deadlock_line(size)
        deadline = time.monotonic() + LIMIT
        while expected not in stderr:
            check(time.monotonic() < deadline, f"no deadlock line within {LIMIT} s of SIGQUITs")
            check(job.poll() is None, "hilorun ended on SIGQUIT")
            job.send_signal(signal.SIGQUIT)
            # One report: its heading, then a line per rank (and maybe a deadlock line).
            report_end = time.monotonic() + 10
            got = 0
            while got < size + 1 and time.monotonic() < report_end:
                try:
                    stderr += lines.get(timeout=0.5)
                    got += 1
                except queue.Empty:
                    pass
            try:
                while True:
                    stderr += lines.get(timeout=0.5)
            except queue.Empty:
                pass
        check("hilorun: received SIGQUIT; what each rank is waiting for (the job goes on):\n"
              in stderr, "no wait-for report heading after SIGQUIT")
        check(job.poll() is None, "hilorun ended after its report on SIGQUIT")
        check_cycle_report(stderr, size)
    finally:
        print(f"--- stderr so far\n{stderr}---")
        job.send_signal(signal.SIGTERM)
        try:
            job.wait(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            job.kill()
            job.wait()
    check(job.returncode == 128 + signal.SIGTERM, "hilorun must end with 143 on SIGTERM")
    h.check_no_survivors(size)


def case_cycle2_sigquit(h):
    cycle_sigquit_case(h, 2)


def case_cycle3_sigquit(h):
    cycle_sigquit_case(h, 3)


def case_cycle2_rank_timeout(h):
    """HILO_TIMEOUT: a rank that fails on its hilo::Timeout brings the report, from what the
    ranks reported as they raised theirs."""
    done = h.run(["-n", "2", "-x", "HILO_TIMEOUT=2", "-x", f"PROBE_PID_DIR={h.pid_dir}",
                  h.probe, "cycle"])
    check(done.returncode != 0, "a job whose ranks raised hilo::Timeout must fail")
    check(re.search(r"^hilorun: rank [01] failed after raising hilo::Timeout; what each rank was "
                    r"waiting for:$", done.stderr, re.M),
          "no wait-for report heading after a rank's Timeout")
    check(cycle_deadlock_line(2) in done.stderr, "no deadlock line naming the cycle")
    h.check_no_survivors(2)


def case_irecv_cycle2_rank_timeout(h):
    """As cycle2_rank_timeout, the ranks waiting for irecv Requests: a Request's wait reports
    its Timeout too."""
    done = h.run(["-n", "2", "-x", "HILO_TIMEOUT=2", "-x", f"PROBE_PID_DIR={h.pid_dir}",
                  h.probe, "irecv_cycle"])
    check(done.returncode != 0, "a job whose ranks raised hilo::Timeout must fail")
    site = f"hang_probe.cpp:{line_of('rank waits in its request')}"
    check(f"hilorun: deadlock: rank 0 waits for rank 1 (irecv tag 7 at {site}); rank 1 waits for "
          f"rank 0 (irecv tag 7 at {site})\n" in done.stderr, "no deadlock line naming the cycle")
    h.check_no_survivors(2)


def case_waits_for_exited(h):
    child = None
    try:
        done = h.run(["--timeout", "4", "-n", "3", "-x", f"PROBE_PID_DIR={h.pid_dir}", h.probe,
                      "exited"])
        with open(os.path.join(h.pid_dir, "child.pids")) as f:
            child = int(f.read())
        check(done.returncode == 124, "a timed-out job must exit 124")
        check(recv_line(0, 1, "rank 0 waits for rank 1").search(done.stderr),
              "no line saying rank 0 waits in recv from rank 1")
        check("hilorun: rank 1 (localhost): exited with status 0\n" in done.stderr,
              "no line saying rank 1 exited with status 0")
        check(re.search(r"^hilorun: rank 2 \(localhost\): waiting in barrier, on world, ",
                        done.stderr, re.M), "no line saying rank 2 waits in a barrier")
        site = f"hang_probe.cpp:{line_of('rank 0 waits for rank 1')}"
        check("hilorun: rank 0 waits for rank 1, which has exited (exited with status 0) "
              f"(recv tag 7 at {site})\n" in done.stderr,
              "no line naming the wait for the exited rank 1")
        check("deadlock:" not in done.stderr, "a deadlock named where there is no cycle")
    finally:
        child_file = os.path.join(h.pid_dir, "child.pids")
        if child is None and os.path.exists(child_file):  # hilorun itself failed or hung
            with open(child_file) as f:
                child = int(f.read() or 0) or None
        if child is not None and is_alive(child):
            os.kill(child, signal.SIGKILL)
    h.check_no_survivors(3)


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hilorun", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hilorun-wait-for-") as workdir:
        harness = Harness(os.path.abspath(args.hilorun), os.path.abspath(args.probe), None,
                          workdir)
        return run_case(CASES[args.case], harness)


if __name__ == "__main__":
    sys.exit(main())
