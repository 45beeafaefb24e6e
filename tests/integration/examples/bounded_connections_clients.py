#!/usr/bin/env python3
"""bounded_connections against clients from outside the program, in Python.

    bounded_connections_clients.py PROGRAM CLIENT_PY

Runs PROGRAM (one rank, with --external 4) and, while its own clients are busy, connects to its
service with: a client that sends garbage, one that sends an over-long line, one whose
connection is reset mid-request, one that connects and stays silent, then the example's
client.py twice, "hello\n" without a name, and the seed's own client (connect, send b'hello',
close: no name, no newline, no wait for a reply). Passes if the garbage senders get an error
reply, both client.py runs and the nameless hello are welcomed while the silent connection is
still open, the service printed "hello" as received for the nameless client and the seed's,
and the program ends OK with exactly those counts: served = its own requests + 4,
rejected = 2, dropped = 2. So a bad client costs only its own connection, and the seed's
client is served.
"""
import importlib.util
import queue
import re
import socket
import struct
import subprocess
import sys
import threading
import time

OWN_REQUESTS = 2 * 2  # --clients 2 --requests 2
OUTSIDE = 4  # client.py twice, a nameless hello that waits, and the seed's client


def fail(message, output):
    print("".join(output))
    print(f"bounded_connections_clients: FAILED: {message}")
    return 1


def load_client(path):
    """client.py as a module: the test reads replies with the client's own read_reply."""
    spec = importlib.util.spec_from_file_location("client", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    program, client_py = sys.argv[1], sys.argv[2]
    read_reply = load_client(client_py).read_reply
    service = subprocess.Popen(
        [program, "--external", str(OUTSIDE), "--clients", "2", "--requests", "2"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    output = []

    def pump():
        for line in service.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        endpoint = None
        while endpoint is None:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                return fail("the program ended before its service was up", output)
            output.append(line)
            endpoint = re.search(r"service on ([0-9.]+):([0-9]+)", line)
        host, port = endpoint.group(1), int(endpoint.group(2))
        address = (host, port)

        # Garbage: an error reply, then the service closes that connection.
        with socket.create_connection(address, timeout=10) as garbage:
            garbage.sendall(b"\x00\xff\xfeGET / HTTP/1.0\n")
            reply = read_reply(garbage)
            if not reply.startswith(b"error"):
                return fail(f"garbage got {reply!r}, not an error reply", output)
        # A line longer than the service reads: also an error reply.
        with socket.create_connection(address, timeout=10) as too_long:
            too_long.sendall(b"hello " + b"x" * 300 + b"\n")
            reply = read_reply(too_long)
            if not reply.startswith(b"error"):
                return fail(f"an over-long request got {reply!r}, not an error reply", output)
        # Its connection fails in the middle of its request: a reset (SO_LINGER 0), not the
        # orderly end of stream that ends a request.
        with socket.create_connection(address, timeout=10) as rude:
            rude.sendall(b"hel")
            rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Connects and says nothing, and stays connected while the others are served.
        silent = socket.create_connection(address, timeout=10)
        try:
            for name in ("outside1", "outside2"):
                run = subprocess.run([sys.executable, client_py, host, str(port), "--name", name,
                                      "--timeout", "20"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     timeout=60)
                output.append(f"[client.py] {run.stdout}")
                if run.returncode != 0 or not run.stdout.startswith(f"welcome {name}:"):
                    return fail(f"client.py --name {name} was not welcomed "
                                f"(exit {run.returncode})", output)
            # No name, and it waits for its reply at the newline.
            with socket.create_connection(address, timeout=20) as nameless:
                nameless.sendall(b"hello\n")
                reply = read_reply(nameless)
                output.append(f"[nameless] {reply!r}\n")
                if not reply.startswith(b"welcome: "):
                    return fail(f"'hello' without a name got {reply!r}, not a welcome", output)
            # The seed's client, as in the notes (Python 3 needs bytes); only the timeout added.
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect((host, port))
            s.send(b'hello')
            s.close()
        finally:
            silent.close()

        status = service.wait(timeout=60)
        while (line := lines.get(timeout=10)) is not None:
            output.append(line)
    except (queue.Empty, subprocess.TimeoutExpired, OSError) as error:
        service.kill()
        service.wait()
        return fail(f"{type(error).__name__}: {error}", output)

    text = "".join(output)
    print(text)
    summary = re.search(r"^bounded_connections: OK .*$", text, re.MULTILINE)
    if status != 0 or not summary:
        return fail(f"the program exited {status} without its OK line", [])
    wanted = (f"served={OWN_REQUESTS + OUTSIDE} requests={OWN_REQUESTS} outside={OUTSIDE} "
              f"rejected=2 dropped=2 ")
    if wanted not in summary.group(0):
        return fail(f"the summary should say '{wanted.strip()}'", [])
    # What the seed's server prints is the data it received: b'hello\n' from the nameless
    # client and the seed client's b'hello', each printed as hello.
    printed = re.findall(r'^bounded_connections: received "hello"$', text, re.MULTILINE)
    if len(printed) != 2:
        return fail(f"the service printed 'received \"hello\"' {len(printed)} times, not twice "
                    f"(the nameless client and the seed's)", [])
    print("bounded_connections_clients: PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
