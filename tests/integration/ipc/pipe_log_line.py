#!/usr/bin/env python3
"""pipe_log: the child reads an e-mail and a request from stdin, the parent logs one line.

Checks the log line is "<RFC 2822-style UTC time>|email|request" with a time within the run,
that a second run appends, and that a child that gets no input leads to a clear error and no
log line.
usage: pipe_log_line.py PIPE_LOG
"""
import email.utils
import os
import re
import subprocess
import sys
import tempfile
import time

pipe_log = sys.argv[1]
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def run(stdin_text, log_path):
    return subprocess.run([pipe_log, "--log", log_path], input=stdin_text, capture_output=True,
                          text=True, timeout=30)


with tempfile.TemporaryDirectory() as directory:
    log_path = os.path.join(directory, "log")
    before = time.time()
    result = run("ana@example.org\nMy order has not arrived\n", log_path)
    after = time.time()
    check(result.returncode == 0, f"pipe_log exits 0 (stderr: {result.stderr.strip()!r})")
    check("Thank you for trusting us" in result.stdout, "the child thanked the user")

    with open(log_path) as log:
        lines = log.read().splitlines()
    check(len(lines) == 1, f"one log line: {lines}")
    pattern = (r"^(\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000)"
               r"\|ana@example\.org\|My order has not arrived$")
    match = re.match(pattern, lines[0]) if lines else None
    check(match is not None, f"line has the seed's format: {lines[0] if lines else None!r}")
    if match:
        logged = email.utils.parsedate_to_datetime(match.group(1)).timestamp()
        check(int(before) <= logged <= after + 1, "timestamp is the time of the run (UTC)")

    run("bo@example.org\nSuggestion: open on Sundays\n", log_path)
    with open(log_path) as log:
        lines = log.read().splitlines()
    check(len(lines) == 2 and lines[1].endswith("|bo@example.org|Suggestion: open on Sundays"),
          "a second run appends its own line")

    result = run("", log_path)
    check(result.returncode == 1, f"no input: exit 1 ({result.returncode})")
    check("the child sent no request" in result.stderr, f"clear error: {result.stderr.strip()!r}")
    with open(log_path) as log:
        check(len(log.read().splitlines()) == 2, "nothing logged without a request")

sys.exit(1 if failures else 0)
