#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gdb's own cost with and without the server's gdb indexes (CacheGdbIndex): for each setting a
daemon with TestOS synced retraces the crash once (extraction, root, and with CacheGdbIndex the
indexes), then N warm retraces; prints the medians of the "Generating backtrace" stage (gdb in the
sandbox) and of the whole task, and their ratio. A benchmark, not a test.

    bench/bench-gdb-index.py [--build build] [--iterations 5] [--crash NAME]
"""

import argparse
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
ap.add_argument("--iterations", type=int, default=5)
ap.add_argument("--crash", default=None, help="default: the TestOS crash with the most modules")
opts = ap.parse_args()
build = os.path.abspath(opts.build)
os.environ["RETRACE_BUILD_DIR"] = build
os.environ.setdefault("RETRACE_TESTOS_DIR", os.path.join(build, "tests", "testos"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "helpers"))
import retrace_test as rt  # noqa: E402
from daemon_helpers import DaemonEnv, post, wait_finished  # noqa: E402

tos = rt.testos_dir()
crashes = rt.testos_manifest()["crashes"]
crash = (next(c for c in crashes if c["name"] == opts.crash) if opts.crash
         else max(crashes, key=lambda c: len(c["build_ids"])))
archive = open(os.path.join(tos, "crashes", crash["name"] + ".tar.xz"), "rb").read()


def retrace(srv):
    st, h, _ = post(srv.port, archive)
    assert st == 201, st
    status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
    _, _, log = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/log", {"X-Task-Password": h["X-Task-Password"]})
    log = log.decode(errors="replace")
    assert status == "FINISHED_SUCCESS", log
    gdb = float(re.search(r"Generating backtrace took ([0-9.]+) s", log).group(1))
    stages = sum(float(x) for x in re.findall(r"\] \[I\] [A-Z][^\n]* took ([0-9.]+) s\n", log))
    return gdb, stages, log


results = {}
for setting in ("no", "yes"):
    env = DaemonEnv(releases=(crash["release"],), CacheGdbIndex=setting)
    try:
        with env.server() as srv:
            srv.start(ready_path="settings")
            _, _, first = retrace(srv)
            built = re.search(r"gdb indexes: [^\n]*", first)
            runs = [retrace(srv) for _ in range(opts.iterations)]
        results[setting] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        print(f"CacheGdbIndex = {setting}: gdb {results[setting][0]:.3f} s, stages {results[setting][1]:.3f} s"
              + (f"; first task: {built.group(0)}" if built else ""))
        if setting == "yes":
            used = re.search(r"gdb read [^\n]*", runs[-1][2])
            print(f"   warm task: {used.group(0) if used else 'no index-cache line'}")
    finally:
        env.cleanup()
print(f"crash {crash['name']} ({len(crash['build_ids'])} modules), {opts.iterations} warm retraces each: "
      f"gdb with indexes / without = {results['yes'][0] / results['no'][0]:.2f}")
