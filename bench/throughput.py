#!/usr/bin/env python3
"""Throughput into a published port: sends SIZE MiB to 127.0.0.1:PORT, RUNS times, and
prints the median in MiB/s. The server in the container reads everything and answers "ok"
once the client has finished sending (busybox: nc -l -p 80 -e sh -c 'cat >/dev/null; echo ok'),
so a port forwarder that accepts before the container listens is not mistaken for it.

usage: throughput.py PORT SIZE_MIB RUNS"""
import socket
import statistics
import sys
import time

CHUNK = b"\0" * (1 << 20)


def send(port: int, mib: int) -> float:
    """Seconds to send `mib` MiB and hear back; raises unless the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        start = time.monotonic()
        for _ in range(mib):
            s.sendall(CHUNK)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(64):
            answer += chunk
        if answer.strip() != b"ok":
            raise ConnectionError(f"no answer from the server ({answer!r})")
        return time.monotonic() - start


def retried(port: int, mib: int) -> float:
    """`send`, once the server listens again (it restarts after each connection; a port
    forwarder may accept and then reset while it does)."""
    for _ in range(200):
        try:
            return send(port, mib)
        except ConnectionError:
            time.sleep(0.01)
    return send(port, mib)


def main() -> None:
    port, mib, runs = (int(a) for a in sys.argv[1:4])
    deadline = time.monotonic() + 15
    while True:  # until the container's server listens
        try:
            send(port, 1)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    rates = [mib / retried(port, mib) for _ in range(runs)]
    print("%.0f" % statistics.median(rates))


if __name__ == "__main__":
    main()
