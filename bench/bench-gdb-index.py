#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gdb's own cost with and without the server's gdb indexes (CacheGdbIndex). A daemon with TestOS
synced retraces the crash once (which builds the indexes of its debug files into CacheDir/gdb-index);
then the task's gdb (`thread apply all -ascending backtrace full`, `info sharedlibrary`) runs in the
sandbox over the same root and core, alternately without and with the index cache bound and enabled,
N times each; prints the medians of wall and CPU time (user + system of the children: less sensitive
to other load) and the frames printed (the same both ways). A benchmark, not a test.

    bench/bench-gdb-index.py [--build build] [--iterations 5] [--crash NAME]
"""

import argparse
import glob
import os
import resource
import statistics
import subprocess
import sys
import time

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
from daemon_helpers import SANDBOX, DaemonEnv, post, wait_finished  # noqa: E402

crashes = rt.testos_manifest()["crashes"]
crash = (next(c for c in crashes if c["name"] == opts.crash) if opts.crash
         else max(crashes, key=lambda c: len(c["build_ids"])))
archive = open(os.path.join(rt.testos_dir(), "crashes", crash["name"] + ".tar.xz"), "rb").read()
env = DaemonEnv(releases=(crash["release"],), ReuseIdenticalUploads="no")  # each upload runs gdb
try:
    with env.server() as srv:
        srv.start(ready_path="settings")
        st, h, _ = post(srv.port, archive)
        assert st == 201, st
        status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
        assert status == "FINISHED_SUCCESS", status
    roots = glob.glob(os.path.join(env.cache_dir, "roots", "*"))
    index_dir = os.path.join(env.cache_dir, "gdb-index")
    crash_dir = os.path.join(env.dir, "tasks", h["X-Task-Id"], "crash")
    base = [SANDBOX, "--root", roots[0], "--ro-bind", crash_dir, "/crash", "--ro-bind", index_dir, "/gdb-index",
            "--tmpfs", "/tmp", "--setenv", "HOME", "/tmp", "--", "/usr/bin/gdb", "-batch", "-nx",
            "-iex", "set auto-load off", "-iex", "set debuginfod enabled off"]
    tail = ["-ex", "thread apply all -ascending backtrace full", "-ex", "info sharedlibrary",
            crash["executable"], "/crash/coredump"]
    with_index = ["-iex", "set index-cache directory /gdb-index", "-iex", "set index-cache enabled on"]
    runs = {"without": [], "with": []}
    for _ in range(opts.iterations):
        for name, extra in (("without", []), ("with", with_index)):
            r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
            out = subprocess.run(base + extra + tail, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
            r1, t1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
            runs[name].append((t1 - t0, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
                               out.count(b"\n#")))
    print(f"crash {crash['name']}: {len(crash['build_ids'])} modules, indexes built: {len(os.listdir(index_dir))}")
    med = {}
    for name, v in runs.items():
        med[name] = (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
        print(f"{name:8} index cache: wall {med[name][0]:.3f} s, CPU {med[name][1]:.3f} s, frames {v[0][2]}")
    print(f"with / without: wall {med['with'][0] / med['without'][0]:.2f}, "
          f"CPU {med['with'][1] / med['without'][1]:.2f} ({opts.iterations} runs each, alternating)")
finally:
    env.cleanup()
