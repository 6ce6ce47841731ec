#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""One warm-cache coredump retrace through the HTTP API (upload to backtrace available) versus the
floor: the same gdb commands run directly on the host against the already assembled root (as
sysroot). Prints medians, the ratio, and the daemon's time per stage. A benchmark, not a test.

    bench/bench-daemon-retrace.py [--build build] [--iterations 10] [--crash r1-null]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
ap.add_argument("--iterations", type=int, default=10)
ap.add_argument("--crash", default="r1-null")
opts = ap.parse_args()
build = os.path.abspath(opts.build)
os.environ["RETRACE_BUILD_DIR"] = build
os.environ.setdefault("RETRACE_TESTOS_DIR", os.path.join(build, "tests", "testos"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "helpers"))
import retrace_test as rt  # noqa: E402
from daemon_helpers import DaemonEnv, post  # noqa: E402

tos = rt.testos_dir()
crash = next(c for c in rt.testos_manifest()["crashes"] if c["name"] == opts.crash)
archive = open(os.path.join(tos, "crashes", crash["name"] + ".tar.xz"), "rb").read()
# the same upload again and again: every one must run gdb, not reuse the first result
env = DaemonEnv(releases=(crash["release"],), ReuseIdenticalUploads="no")


def retrace(srv):
    t0 = time.monotonic()
    st, h, _ = post(srv.port, archive)
    assert st == 201, st
    hdr = {"X-Task-Password": h["X-Task-Password"]}
    while True:
        _, hh, _ = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}", hdr)
        if hh["X-Task-Status"].startswith("FINISHED"):
            break
        time.sleep(0.005)
    st, _, bt = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/backtrace", hdr)
    assert st == 200 and b"Crashing thread" in bt, st
    return time.monotonic() - t0


try:
    with env.server() as srv:
        srv.start(ready_path="settings")
        retrace(srv)  # cold: imports nothing (sync did), assembles the root
        api = [retrace(srv) for _ in range(opts.iterations)]
        _, _, stats = rt.http_get(srv.base_url + "stats")
    roots = sorted((os.path.join(env.cache_dir, "roots", r) for r in os.listdir(os.path.join(env.cache_dir, "roots"))),
                   key=os.path.getmtime)
    root = roots[-1]
    argv = subprocess.run([os.path.join(build, "tests", "test-daemon-gdb"), "argv", "gdb",
                           os.path.join(root, crash["executable"].lstrip("/")),
                           os.path.join(tos, "crashes", crash["name"], "coredump")],
                          capture_output=True, check=True).stdout.decode().split("\0")[:-1]
    floor_argv = [argv[0], "-batch", "-nx", "-iex", f"set sysroot {root}",
                  "-iex", f"set debug-file-directory {root}/usr/lib/debug"] + argv[3:]
    floor = []
    for _ in range(opts.iterations):
        t0 = time.monotonic()
        out = subprocess.run(floor_argv, capture_output=True, text=True)
        floor.append(time.monotonic() - t0)
        assert "@@retrace:crash_sources@@\n#0" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
finally:
    env.cleanup()

a, f = statistics.median(api), statistics.median(floor)
print(f"crash {crash['name']}, {opts.iterations} iterations each")
print(f"through the API (upload → backtrace): median {a * 1000:.0f} ms")
print(f"floor (host gdb, same commands, root as sysroot): median {f * 1000:.0f} ms")
print(f"ratio API / floor: {a / f:.2f}")
durations = json.loads(stats)["durations"]
print("daemon stages over all tasks (s): " +
      ", ".join(f"{k} median {v['median']:.3f} p95 {v['p95']:.3f}" for k, v in durations.items()))
