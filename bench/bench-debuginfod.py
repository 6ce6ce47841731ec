#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon's debuginfod endpoint versus elfutils' own `debuginfod -R` serving the same TestOS
repositories, measured side by side in one run. A benchmark, not a test.

  ready:      ours = retrace-server-reposync of the releases (CachePrefetch = none: index only) plus
              the daemon's start; theirs = debuginfod's scan of the RPM directories until its scan
              queue is empty
  cold fetch: the first GET /buildid/<id>/debuginfo of every debug file the TestOS crashes need
              (ours extracts the package on demand; theirs unpacks the RPM)
  warm fetch: the same requests again
  throughput: the largest of those files fetched --repeat times by 4 parallel clients

    bench/bench-debuginfod.py [--build build] [--repeat 40]
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
ap.add_argument("--repeat", type=int, default=40)
opts = ap.parse_args()
build = os.path.abspath(opts.build)
os.environ["RETRACE_BUILD_DIR"] = build
os.environ.setdefault("RETRACE_TESTOS_DIR", os.path.join(build, "tests", "testos"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "helpers"))
import retrace_test as rt  # noqa: E402
from daemon_helpers import DaemonEnv  # noqa: E402

if not shutil.which("debuginfod"):
    sys.exit("bench-debuginfod: elfutils' debuginfod is needed (apt-get install debuginfod)")

tos = rt.testos_dir()
manifest = rt.testos_manifest()
releases = sorted({c["release"] for c in manifest["crashes"]})
build_ids = sorted({m["build_id"] for c in manifest["crashes"] for m in c["build_ids"]
                    if not m["name"].startswith("linux-vdso")})


def fetch(base, bid):
    t0 = time.monotonic()
    with urllib.request.urlopen(f"{base}buildid/{bid}/debuginfo", timeout=300) as r:
        n = len(r.read())
    return time.monotonic() - t0, n


def fetch_all(base):
    """(total seconds, bytes) of one GET of every build-id that either server has."""
    total, size = 0.0, 0
    for bid in build_ids:
        try:
            t, n = fetch(base, bid)
        except urllib.error.HTTPError:
            continue
        total += t
        size += n
    return total, size


def throughput(base, bid):
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda _: fetch(base, bid)[1], range(opts.repeat)))
    return sum(sizes) / (time.monotonic() - t0)


def wait_http(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{url} did not answer")


def debuginfod_scan_done(base):
    text = urllib.request.urlopen(base + "metrics", timeout=5).read().decode()

    def metric(name):
        return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M))
    traversed = metric(r'thread_work_total\{role="traverse"\}')
    pending = metric(r'thread_work_pending\{role="scan"\}')
    busy = metric(r'thread_busy\{role="scan"\}')
    return traversed >= 1 and pending == 0 and busy == 0


results = {}
work = tempfile.mkdtemp(prefix="bench-debuginfod-")
env = None
theirs = None
try:
    # Ours: index the releases, start the daemon.
    env = DaemonEnv(AllowDebuginfod="yes", CachePrefetch="none")
    t0 = time.monotonic()
    for r in releases:
        env.sync(r)
    srv = env.server()
    srv.start(ready_path="settings")
    ours_ready = time.monotonic() - t0
    ours_base = srv.base_url
    # Theirs: scan the same RPMs (every release's os and debug repositories).
    port = rt.free_port()
    t0 = time.monotonic()
    theirs = subprocess.Popen(["debuginfod", "-R", "-p", str(port), "-d", os.path.join(work, "db.sqlite"),
                               "-t", "0", "-g", "0", os.path.join(tos, "repos")],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "debuginfod.log"), "w"))
    theirs_base = f"http://127.0.0.1:{port}/"
    wait_http(theirs_base + "metrics")
    while not debuginfod_scan_done(theirs_base):
        time.sleep(0.05)
    theirs_ready = time.monotonic() - t0

    results["ready"] = (ours_ready, theirs_ready)
    results["cold"] = (fetch_all(ours_base), fetch_all(theirs_base))
    results["warm"] = (fetch_all(ours_base), fetch_all(theirs_base))
    sizes = {}
    for bid in build_ids:
        try:
            sizes[bid] = fetch(ours_base, bid)[1]
        except urllib.error.HTTPError:
            pass
    largest = max(sizes, key=sizes.get)
    results["throughput"] = (throughput(ours_base, largest), throughput(theirs_base, largest))
    srv.stop()
finally:
    if theirs:
        theirs.terminate()
        theirs.wait()
    if env:
        env.cleanup()
    shutil.rmtree(work, ignore_errors=True)

(ours_cold, ours_bytes), (theirs_cold, theirs_bytes) = results["cold"]
(ours_warm, _), (theirs_warm, _) = results["warm"]
print(f"TestOS releases {', '.join(releases)}: {len(build_ids)} build-ids of the sample crashes "
      f"({ours_bytes / 1e6:.1f} MB of debug files from ours, {theirs_bytes / 1e6:.1f} MB from debuginfod)")
print(f"{'':28}{'retrace-server':>16}{'debuginfod -R':>16}{'ratio':>8}")
o, t = results["ready"]
print(f"{'ready (sync+start / scan)':28}{o:>14.2f} s{t:>14.2f} s{o / t:>8.2f}")
print(f"{'cold fetch, all files':28}{ours_cold:>14.3f} s{theirs_cold:>14.3f} s{ours_cold / theirs_cold:>8.2f}")
print(f"{'warm fetch, all files':28}{ours_warm:>14.3f} s{theirs_warm:>14.3f} s{ours_warm / theirs_warm:>8.2f}")
o, t = results["throughput"]
print(f"{'throughput, 4 clients':28}{o / 1e6:>11.1f} MB/s{t / 1e6:>11.1f} MB/s{o / t:>8.2f}")
print("(ratios: ours / theirs; below 1 is faster for times, above 1 for throughput)")
