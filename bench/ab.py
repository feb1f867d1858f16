#!/usr/bin/env python3
"""Two builds of skiff, interleaved run for run: is a change slower than main?

    python3 bench/ab.py BASE_DIR NEW_DIR [RUNS]

BASE_DIR and NEW_DIR each hold a `skiff` and a `skiff-monitor` (e.g. target/release of two
checkouts). Run as root with tests/setup.sh done (the user skiff-test). Each build gets its own
stores, root and rootless, with the same busybox image; every figure is the median over RUNS
(default 30) of one command, the two builds taking turns so that the machine's noise falls on
both alike. Prints base, new and new/base.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

USER = "skiff-test"


def main():
    base, new = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    work = tempfile.mkdtemp(prefix="skiff-ab.")
    os.chmod(work, 0o755)
    try:
        tarball = os.path.join(work, "busybox.tar")
        subprocess.run(["sh", "tests/image/make-busybox-rootfs.sh", tarball], check=True,
                       stdout=subprocess.DEVNULL)
        os.chmod(tarball, 0o644)
        builds = {name: Build(work, name, path, tarball) for name, path in
                  (("base", base), ("new", new))}
        cases = [
            ("run --rm --network none true (root)", "root",
             ["run", "--rm", "--network", "none", "localhost/busybox", "true"], None),
            ("run --rm --network none true (rootless)", "user",
             ["run", "--rm", "--network", "none", "localhost/busybox", "true"], None),
            ("exec CONTAINER true (root)", "root", ["exec", "execbox", "true"], "exec"),
            ("exec CONTAINER true (rootless)", "user", ["exec", "execbox", "true"], "exec"),
            ("create (root)", "root", ["create", "localhost/busybox", "true"], None),
            ("ps -a, 100 containers (root)", "root", ["ps", "-a"], "ps"),
        ]
        print("%-42s %9s %9s %7s" % ("", "base ms", "new ms", "ratio"))
        for label, who, args, setup in cases:
            for build in builds.values():
                build.prepare(who, setup)
            times = {name: [] for name in builds}
            order = list(builds)
            for i in range(runs + 3):
                for name in (order if i % 2 == 0 else order[::-1]):
                    took = builds[name].time(who, args)
                    if i >= 3:  # warm-up
                        times[name].append(took)
            for build in builds.values():
                build.reset(who)
            b, n = statistics.median(times["base"]), statistics.median(times["new"])
            print("%-42s %9.1f %9.1f %7.3f" % (label, b, n, n / b))
    finally:
        for who in ("root", "user"):
            for build in locals().get("builds", {}).values():
                build.reset(who)
        shutil.rmtree(work, ignore_errors=True)


class Build:
    def __init__(self, work, name, source, tarball):
        self.dir = os.path.join(work, name)
        os.makedirs(os.path.join(self.dir, "home"))
        for binary in ("skiff", "skiff-monitor"):
            shutil.copy(os.path.join(source, binary), self.dir)
            os.chmod(os.path.join(self.dir, binary), 0o755)
        os.chmod(self.dir, 0o755)
        shutil.chown(os.path.join(self.dir, "home"), USER)
        for who in ("root", "user"):
            self.call(who, ["import", tarball, "localhost/busybox"])

    def command(self, who, args):
        skiff = [os.path.join(self.dir, "skiff")]
        if who == "root":
            return skiff + ["--root", os.path.join(self.dir, "root"),
                            "--runroot", os.path.join(self.dir, "run")] + args
        home = os.path.join(self.dir, "home")
        return ["runuser", "-u", USER, "--", "env", "HOME=" + home,
                "XDG_RUNTIME_DIR=" + home + "/xdg"] + skiff + args

    def call(self, who, args):
        subprocess.run(self.command(who, args), check=True, stdout=subprocess.DEVNULL)

    def time(self, who, args):
        command = self.command(who, args)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return (time.perf_counter() - start) * 1000

    def prepare(self, who, setup):
        if setup == "exec":
            self.call(who, ["run", "-d", "--network", "none", "--name", "execbox",
                            "localhost/busybox", "sleep", "1000"])
        elif setup == "ps":
            for _ in range(100):
                self.call(who, ["create", "localhost/busybox", "true"])

    def reset(self, who):
        subprocess.run(self.command(who, ["rm", "-a", "-f"]), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
