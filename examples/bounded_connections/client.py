#!/usr/bin/env python3
"""The seed's socket client, ported to Python 3 and to bounded_connections' service.

    python3 client.py HOST PORT [--name NAME] [--timeout SECONDS]

Connects to the service, says "hello NAME", prints the reply and exits 0 if it was a welcome.
HOST and PORT are the ones bounded_connections prints ("service on HOST:PORT"). Standard
library only.
"""
import argparse
import socket
import sys


def read_reply(sock):
    """Everything up to and with the first newline, or until the service closes."""
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(256)
        if not chunk:
            break
        reply += chunk
    return reply


def main():
    parser = argparse.ArgumentParser(description="Say hello to bounded_connections' service.")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--name", default="python", help="who says hello (default: python)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for the connection and for the reply (default 30)")
    args = parser.parse_args()

    try:
        # As the seed: a TCP socket connected to (IP, port), then send the greeting. Unlike the
        # seed it waits for the reply, which comes once the service has admitted it.
        with socket.create_connection((args.host, args.port), timeout=args.timeout) as sock:
            sock.sendall(f"hello {args.name}\n".encode())
            reply = read_reply(sock)
    except OSError as error:
        print(f"client.py: {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1

    text = reply.decode(errors="replace").strip()
    print(text)
    return 0 if text.startswith("welcome") else 1


if __name__ == "__main__":
    sys.exit(main())
