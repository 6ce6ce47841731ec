#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""One vmcore retrace through the HTTP API (upload of the fixture's dump to the backtrace available,
warm cache: the kernel-debuginfo package already imported) versus the floor: the same crash command
script run directly on the host (the host's crash, the fixture's vmlinux and dump). Prints medians
and the ratio. A benchmark, not a test: it never fails on time.

    bench/bench-vmcore.py [--build build] [--iterations 3] [--format kdump|elf]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
ap.add_argument("--iterations", type=int, default=3)
ap.add_argument("--format", choices=("kdump", "elf"), default="kdump")
opts = ap.parse_args()
build = os.path.abspath(opts.build)
os.environ["RETRACE_BUILD_DIR"] = build
os.environ.setdefault("RETRACE_TESTOS_DIR", os.path.join(build, "tests", "testos"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "helpers"))
import retrace_test as rt  # noqa: E402
import vmcore_fixture  # noqa: E402
from daemon_helpers import post, tar_of  # noqa: E402

fx = vmcore_fixture.ensure()
dump = fx[opts.format]
with open(dump, "rb") as f:
    archive = tar_of([("vmcore", f.read())], mode="w")
env = vmcore_fixture.daemon_env(fx, MaxPackedSize="1G", MaxUnpackedSize="2G")


def retrace(srv):
    t0 = time.monotonic()
    st, h, _ = post(srv.port, archive, "application/x-tar", task_type=2)
    assert st == 201, st
    hdr = {"X-Task-Password": h["X-Task-Password"]}
    while True:
        _, hh, _ = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}", hdr)
        if hh["X-Task-Status"].startswith("FINISHED"):
            break
        time.sleep(0.02)
    st, _, bt = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/backtrace", hdr)
    assert st == 200 and b"Panicking task" in bt, st
    return time.monotonic() - t0


def host_crash():
    """The floor: the same command script, the host's crash, the same vmlinux and dump."""
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "commands")
        with open(script, "w") as f:
            f.write("set scroll off\n")
            for c in ("sys", "bt", "bt -a", "log", "ps", "kmem -i", "mod"):
                f.write(f"{c}\n")
            f.write("exit\n")
        t0 = time.monotonic()
        with open(script) as stdin:
            subprocess.run(["crash", "-s", "--no_crashrc", fx["vmlinux"], dump], stdin=stdin,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=tmp)
        return time.monotonic() - t0


try:
    with env.server() as srv:
        srv.start(ready_path="settings")
        retrace(srv)  # warm-up: imports kernel-debuginfo into the cache, first root
        api = [retrace(srv) for _ in range(opts.iterations)]
    floor = [host_crash() for _ in range(opts.iterations)]
finally:
    env.cleanup()
a, b = statistics.median(api), statistics.median(floor)
print(f"vmcore ({opts.format}, {os.path.getsize(dump)} bytes), {opts.iterations} iterations, medians:")
print(f"upload to backtrace via the API: {a:8.2f} s")
print(f"crash on the host (floor):       {b:8.2f} s")
print(f"ratio API / floor:               {a / b:8.2f}x")
