#!/usr/bin/env python3
"""Run one example the way a user would and judge it by exit status and output.

    check_run.py [--status N] [--timeout S] [--expect REGEX]... [--reject REGEX]... -- CMD...

Passes if CMD exits with status N (default 0) within S seconds (default 120), every --expect
regex matches some line of its output (stdout and stderr together), and no --reject regex
does. Prints the output either way, so a failing ctest run shows what the example said.
(ctest's PASS_REGULAR_EXPRESSION alone would ignore the exit status.)
"""
import argparse
import re
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--status", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--expect", action="append", default=[])
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()

    try:
        run = subprocess.run(args.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=args.timeout, text=True,
                             errors="replace")
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        print(output)
        print(f"check_run: FAILED: no exit within {args.timeout:g} s: {' '.join(args.command)}")
        return 1
    print(run.stdout, end="")

    problems = []
    if run.returncode != args.status:
        problems.append(f"exit status {run.returncode}, expected {args.status}")
    for pattern in args.expect:
        if not re.search(pattern, run.stdout, re.MULTILINE):
            problems.append(f"no line matches {pattern!r}")
    for pattern in args.reject:
        if re.search(pattern, run.stdout, re.MULTILINE):
            problems.append(f"a line matches {pattern!r}, which must not appear")
    for problem in problems:
        print(f"check_run: FAILED: {problem}")
    if not problems:
        print("check_run: PASSED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
