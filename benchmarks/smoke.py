#!/usr/bin/env python3
"""Smoke check for one benchmark run (ctest label `benchmark`).

    smoke.py EXPECTED_REGEX [EXPECTED_REGEX ...] -- command args...

Runs the command (an argument `{store}` becomes a fresh temporary directory, for Gloo's file
store) and passes only if it exits 0, prints the CSV header, every other stdout line is a row of
8 fields with a numeric value, and each EXPECTED_REGEX matches some row. No timing is checked.
"""
import re
import shutil
import subprocess
import sys
import tempfile

HEADER = "benchmark,system,transport,size_bytes,ranks,repetition,value,unit"


def main():
    if "--" not in sys.argv[2:] or sys.argv.index("--") + 1 >= len(sys.argv):
        sys.exit("usage: smoke.py EXPECTED_REGEX [EXPECTED_REGEX ...] -- command args...")
    split = sys.argv.index("--")
    expected = [re.compile(r) for r in sys.argv[1:split]]
    store = tempfile.mkdtemp(prefix="hilo-bench-store-")
    try:
        command = [store if a == "{store}" else a for a in sys.argv[split + 1:]]
        done = subprocess.run(command, capture_output=True, text=True, timeout=100)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    problems = []
    if done.returncode != 0:
        problems.append(f"exit status {done.returncode}")
    lines = [l for l in done.stdout.splitlines() if l.strip()]
    if HEADER not in lines:
        problems.append("no CSV header line")
    rows = [l for l in lines if l != HEADER]
    for row in rows:
        fields = row.split(",")
        try:
            ok = len(fields) == 8 and float(fields[6]) >= 0
        except ValueError:
            ok = False
        if not ok:
            problems.append(f"not a CSV row: {row!r}")
    for pattern in expected:
        if not any(pattern.search(r) for r in rows):
            problems.append(f"no row matches {pattern.pattern!r}")
    if problems:
        print("smoke FAILED: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"smoke ok: {len(rows)} rows")


if __name__ == "__main__":
    main()
