#!/usr/bin/env python3
"""Reads the value shm_writer shares, using only the standard library.

The counterpart of the seed's Python reader (which needed the third-party sysv_ipc module).
Layout of the segment, as shm_writer.cpp documents it:
    byte 0        state: 0 = value being written, 1 = value ready, 2 = a reader acknowledged
    bytes 1..511  the value, UTF-8, terminated by a NUL byte
"""
import argparse
import sys
import time
from multiprocessing import resource_tracker, shared_memory

STATE_OFFSET = 0
VALUE_OFFSET = 1
READY, ACKNOWLEDGED = 1, 2


def attach(name):
    """Opens the segment without letting Python delete it when this reader exits."""
    try:
        # Python 3.13+: track=False keeps the segment out of the resource tracker.
        return shared_memory.SharedMemory(name=name, create=False, track=False)
    except TypeError:
        pass
    segment = shared_memory.SharedMemory(name=name, create=False)
    # Before 3.13 (Debian 12 has 3.11) attaching also registers the segment with the resource
    # tracker, which unlinks it when this process exits, as if the reader owned it: the
    # writer's segment would vanish under it. Unregister it: the writer owns it.
    resource_tracker.unregister(segment._name, "shared_memory")
    return segment


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="hilo_shared_value", help="segment name")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for the value to be ready")
    parser.add_argument("--no-ack", action="store_true",
                        help="read only: do not tell the writer it may remove the segment")
    args = parser.parse_args()

    try:
        segment = attach(args.name)
    except FileNotFoundError:
        sys.exit(f"reader.py: no shared memory segment named {args.name!r} "
                 f"(/dev/shm/{args.name} does not exist): start shm_writer first")
    try:
        deadline = time.monotonic() + args.timeout
        while segment.buf[STATE_OFFSET] not in (READY, ACKNOWLEDGED):
            if time.monotonic() > deadline:
                sys.exit(f"reader.py: segment {args.name!r} exists but no value was ready "
                         f"within {args.timeout} s")
            time.sleep(0.01)
        raw = bytes(segment.buf[VALUE_OFFSET:])
        value = raw[:raw.find(b"\0")] if b"\0" in raw else raw
        print(value.decode("utf-8"))
        if not args.no_ack:
            segment.buf[STATE_OFFSET] = ACKNOWLEDGED
    finally:
        segment.close()


if __name__ == "__main__":
    main()
