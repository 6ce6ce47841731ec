#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Start → exec /bin/true → tear down: retrace-sandbox versus bubblewrap with the same isolation
(user, mount, pid, net, ipc, uts, cgroup namespaces; read-only root; fresh /proc; minimal /dev;
a tmpfs on /tmp; new session; die with the parent), many iterations in one run, interleaved so
that both see the same machine load. Prints per-run times and the ratio retrace-sandbox / bwrap.

    bench/bench-sandbox-startup.py [--iterations N] [--helper build/sandbox/retrace-sandbox]

Not a test: it never fails on the numbers. The root is a minimal directory holding /bin/true and
the libraries it needs, copied from the host."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def make_root(path):
    true = shutil.which("true") or "/bin/true"
    true = os.path.realpath(true)
    files = [true]
    out = subprocess.run(["ldd", true], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        for word in line.split():
            if word.startswith("/"):
                files.append(word)
    for f in files:
        dest = os.path.join(path, f.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.realpath(f), dest)
    os.makedirs(os.path.join(path, "bin"), exist_ok=True)
    if not os.path.exists(os.path.join(path, "bin", "true")):
        os.symlink(true, os.path.join(path, "bin", "true"))
    for d in ("tmp", "proc", "dev"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    os.chmod(path, 0o755)


def run(argv):
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, {})
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        r = subprocess.run(argv, capture_output=True, text=True)
        sys.exit(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
    return elapsed


def describe(name, times):
    ms = [t * 1000 for t in times]
    return (f"{name:16} mean {statistics.mean(ms):7.3f} ms  median {statistics.median(ms):7.3f} ms  "
            f"min {min(ms):7.3f} ms")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--helper", default=os.path.join(here, "..", "build", "sandbox", "retrace-sandbox"))
    ap.add_argument("--bwrap", default=shutil.which("bwrap") or "/usr/bin/bwrap")
    args = ap.parse_args()
    for tool in (args.helper, args.bwrap):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is missing (build the tree; apt-get install bubblewrap)")

    tmp = tempfile.mkdtemp(prefix="retrace-bench-")
    os.chmod(tmp, 0o755)
    root = os.path.join(tmp, "root")
    try:
        make_root(root)
        ours = [os.path.abspath(args.helper), "--root", root, "--tmpfs", "/tmp:16M", "--", "/bin/true"]
        bwrap = [args.bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                 "--unshare-cgroup", "--ro-bind", root, "/", "--proc", "/proc", "--dev", "/dev",
                 "--tmpfs", "/tmp", "--new-session", "--die-with-parent", "--clearenv", "--cap-drop", "ALL",
                 "--", "/bin/true"]
        for argv in (ours, bwrap):  # warm up, and fail early when one of them cannot run here
            run(argv)
        t_ours, t_bwrap = [], []
        for _ in range(args.iterations):
            t_ours.append(run(ours))
            t_bwrap.append(run(bwrap))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{args.iterations} iterations each, interleaved, as uid {os.getuid()}, "
          f"{os.cpu_count()} CPUs, kernel {os.uname().release}")
    print(describe("retrace-sandbox", t_ours))
    print(describe("bwrap", t_bwrap))
    print(f"ratio retrace-sandbox/bwrap: mean {statistics.mean(t_ours) / statistics.mean(t_bwrap):.2f}  "
          f"median {statistics.median(t_ours) / statistics.median(t_bwrap):.2f}  (< 1: faster than bwrap)")


if __name__ == "__main__":
    main()
