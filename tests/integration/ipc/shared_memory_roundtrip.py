#!/usr/bin/env python3
"""shm_writer shares a value, examples/shared_memory/reader.py reads it back with python3.

Checks the value round-trips byte for byte (non-ASCII included), that the reader's
acknowledgement ends the writer cleanly, and that no segment is left in /dev/shm, including
when the reader only peeks (--no-ack) and the writer is then stopped with SIGINT.
usage: shared_memory_roundtrip.py SHM_WRITER READER_PY
"""
import os
import signal
import subprocess
import sys
import time

writer_exe, reader_py = sys.argv[1], sys.argv[2]
name = f"hilo_it_shm_{os.getpid()}"
segment_path = f"/dev/shm/{name}"
value = "hola, mundo | ñandú 42"
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def start_writer(text):
    writer = subprocess.Popen([writer_exe, "--name", name, "--seconds", "30", text],
                              stdout=subprocess.PIPE, text=True)
    first_line = writer.stdout.readline()  # printed once the value is in place
    check(first_line == f"Shared value: {text}\n", f"writer announces the value: {first_line!r}")
    return writer


def read(*extra):
    return subprocess.run([sys.executable, reader_py, "--name", name, *extra],
                          capture_output=True, text=True, timeout=30)


# 1. Read and acknowledge: the writer exits 0 and removes the segment.
writer = start_writer(value)
result = read()
check(result.returncode == 0, f"reader exits 0 (stderr: {result.stderr.strip()!r})")
check(result.stdout == value + "\n", f"value round-trips: {result.stdout!r}")
try:
    writer.wait(timeout=30)
except subprocess.TimeoutExpired:
    writer.kill()
check(writer.returncode == 0, f"writer exits 0 after the acknowledgement ({writer.returncode})")
check(not os.path.exists(segment_path), "segment removed by the writer")

# 2. Peek twice without acknowledging: Python must not unlink the writer's segment on exit.
writer = start_writer("second")
first, second = read("--no-ack"), read("--no-ack")
check(first.stdout == "second\n" and second.stdout == "second\n", "two readers both see it")
check(os.path.exists(segment_path), "segment still there after the readers exit")
writer.send_signal(signal.SIGINT)
writer.wait(timeout=30)
check(writer.returncode == 130, f"writer stopped by SIGINT exits 130 ({writer.returncode})")
check(not os.path.exists(segment_path), "segment removed after SIGINT")

# 3. No writer: the reader says so instead of hanging.
result = read()
check(result.returncode != 0 and "start shm_writer first" in result.stderr,
      f"reader without writer fails clearly: {result.stderr.strip()!r}")

if os.path.exists(segment_path):
    os.unlink(segment_path)
sys.exit(1 if failures else 0)
