#!/usr/bin/env python3
"""A rank killed with SIGKILL while it holds a hilo::DistributedMutex: the ranks queued for the
mutex must get hilo::PeerLost promptly instead of waiting forever.

usage: kill_holder.py HILORUN DSYNC_CHECK [busy_coordinator]

Runs `hilorun -n 4 dsync_check kill_holder`: rank 1 locks the mutex and prints its pid, ranks
0, 2 and 3 queue for it; this script kills rank 1 and checks that each waiter reports PeerLost,
that none got the mutex, and that hilorun names the killed rank and fails.

With busy_coordinator, rank 0 (the coordinator) does not queue but sleeps through the kill, so
ranks 2 and 3 cannot learn of the loss from the coordinator ending: their PeerLost must name
rank 1 itself.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

RANKS = 4


def main():
    hilorun, dsync_check = sys.argv[1], sys.argv[2]
    busy_coordinator = sys.argv[3:] == ["busy_coordinator"]
    waiters = RANKS - 2 if busy_coordinator else RANKS - 1
    env = dict(os.environ, HILO_TIMEOUT="20")
    job = subprocess.Popen([hilorun, "-n", str(RANKS), dsync_check, "kill_holder", *sys.argv[3:]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                           start_new_session=True)
    stdout, stderr = [], []
    seen = threading.Condition()

    def read(stream, into):
        for line in stream:
            with seen:
                into.append(line.rstrip("\n"))
                seen.notify_all()

    readers = [threading.Thread(target=read, args=(job.stdout, stdout), daemon=True),
               threading.Thread(target=read, args=(job.stderr, stderr), daemon=True)]
    for r in readers:
        r.start()

    def wait_for(pattern, count, seconds=30):
        deadline = time.monotonic() + seconds
        with seen:
            while True:
                found = [m for m in (re.match(pattern, l) for l in stdout) if m]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or job.poll() is not None:
                    raise SystemExit(f"FAIL: expected {count} lines like {pattern!r}\n"
                                     + "\n".join(stdout + stderr))
                seen.wait(min(left, 0.2))

    try:
        holder_pid = int(wait_for(r"^rank 1 pid (\d+) holding$", 1)[0].group(1))
        wait_for(r"^rank \d+ waiting$", waiters)
        time.sleep(0.3)  # they are queued at the coordinator by now
        killed_at = time.monotonic()
        os.kill(holder_pid, signal.SIGKILL)
        code = job.wait(timeout=60)
        for r in readers:
            r.join(5)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    elapsed = time.monotonic() - killed_at
    print("--- stdout\n" + "\n".join(stdout) + "\n--- stderr\n" + "\n".join(stderr) + "\n---")

    failures = []
    lost = [l for l in stdout if l.startswith("PeerLost(")]
    if len(lost) != waiters:
        failures.append(f"expected {waiters} waiters to report PeerLost, saw {len(lost)}")
    if not any(l.startswith("PeerLost(rank 1)") for l in lost):
        failures.append("no waiter's PeerLost names rank 1, the killed holder")
    if busy_coordinator and not all(l.startswith("PeerLost(rank 1)") for l in lost):
        failures.append("with the coordinator alive, every PeerLost must name rank 1")
    if any("got the mutex" in l for l in stdout):
        failures.append("a waiter got the mutex that the killed rank held")
    if code == 0:
        failures.append("hilorun exited 0 although a rank was killed")
    if not any("rank 1" in l and "signal 9" in l for l in stderr):
        failures.append("hilorun did not name rank 1 as killed by signal 9")
    if elapsed > 15:
        failures.append(f"the job took {elapsed:.1f} s to end after the kill")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print(f"OK: all {waiters} waiters got PeerLost; the job ended {elapsed:.2f} s after the kill")
    return 0


if __name__ == "__main__":
    sys.exit(main())
