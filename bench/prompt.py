#!/usr/bin/env python3
"""Time to prompt: starts COMMAND... on a new pseudo-terminal RUNS times, measures the time until
the shell's prompt ('# ') appears, types `exit`, and prints the median in milliseconds.
Usage: prompt.py RUNS COMMAND..."""
import os
import pty
import select
import statistics
import sys
import time


def once(argv):
    start = time.monotonic()
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    seen = b""
    shown = None
    deadline = start + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if shown is None and b"# " in seen:
            shown = time.monotonic() - start
            os.write(master, b"exit\r")
    os.waitpid(pid, 0)
    os.close(master)
    if shown is None:
        sys.exit("no prompt from %s; the terminal showed %r" % (" ".join(argv), seen[-300:]))
    return shown * 1000


runs = int(sys.argv[1])
command = sys.argv[2:]
once(command)  # warm-up
print("%.1f" % statistics.median(once(command) for _ in range(runs)))
