#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scale-out: throughput (retraces per minute) of one api daemon and 1, 2, 4 worker daemons sharing a
PostgreSQL task store (TaskStore), against the single-node daemon on its sqlite store, on the same
queue of TestOS crashes (every upload runs gdb: ReuseIdenticalUploads = no); and the queue latency,
upload → claimed (PostgreSQL: the lease's start; sqlite: the task's first stage), as percentiles.
Each worker has MaxParallelTasks = 1 and its own warm package cache; the single node runs with
MaxParallelTasks = 1 and with as many as the largest worker count. A benchmark, not a test: it prints
numbers and ratios, it asserts nothing about them.

    bench/bench-pg-scaleout.py [--build build] [--tasks 40] [--workers 1,2,4]
"""

import argparse
import os
import re
import shutil
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
ap.add_argument("--tasks", type=int, default=40)
ap.add_argument("--workers", default="1,2,4")
opts = ap.parse_args()
build = os.path.abspath(opts.build)
os.environ["RETRACE_BUILD_DIR"] = build
os.environ.setdefault("RETRACE_TESTOS_DIR", os.path.join(build, "tests", "testos"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "helpers"))
import pg_helpers  # noqa: E402
import retrace_test as rt  # noqa: E402
from daemon_helpers import SERVER, DaemonEnv, post  # noqa: E402

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
RELEASE = MANIFEST["crashes"][0]["release"]
CRASHES = [c["name"] for c in MANIFEST["crashes"] if c["release"] == RELEASE and c["kind"] != "python"]
ARCHIVES = [open(os.path.join(TOS, "crashes", n + ".tar.xz"), "rb").read() for n in CRASHES]
WORKERS = [int(n) for n in opts.workers.split(",")]

env = DaemonEnv(releases=(RELEASE,))
with open(env.config) as f:
    BASE = f.read()
pg = pg_helpers.PgCluster()


class Daemon(rt.Server):
    def __init__(self, role, name, store, parallel=1):
        conf = os.path.join(env.dir, f"{name}.conf")
        cache = "cache"
        if role == "worker":
            cache = f"cache-{name}"
            if not os.path.exists(os.path.join(env.dir, cache)):
                shutil.copytree(env.cache_dir, os.path.join(env.dir, cache), symlinks=True)
        keys = {"MaxParallelTasks": str(parallel), "MaxQueuedTasks": "1000", "ReuseIdenticalUploads": "no",
                "SaveDir": "tasks-pg" if store else "tasks-sqlite"}
        if store:
            keys["TaskStore"] = pg.uri
        text = BASE.replace("CacheDir = cache\n", f"CacheDir = {cache}\n")
        for k, v in keys.items():
            text = re.sub(rf"^{k} = .*\n", "", text, flags=re.M) + f"{k} = {v}\n"
        with open(conf, "w") as f:
            f.write(text)
        e = env.env()
        e["RETRACE_SERVER_CONFIG_PATH"] = conf
        self.role = role
        super().__init__(lambda port, tmp: [SERVER, "--config", conf, "--listen", f"127.0.0.1:{port}",
                                            "--role", role], name=name, env=e)

    def wait_ready(self, path, timeout):
        if self.role != "worker":
            return super().wait_ready(path, timeout)
        deadline = time.monotonic() + timeout
        while "claiming tasks" not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(self.log())
            time.sleep(0.05)


def finished(api, tasks):
    for tid, pw in tasks:
        _, h, _ = rt.http_get(f"{api.base_url}{tid}", {"X-Task-Password": pw})
        if not h.get("X-Task-Status", "").startswith("FINISHED"):
            return False
    return True


def run_queue(api, n):
    """Uploads n crashes at once, waits for all; returns (seconds from the first upload to the last end,
    task ids)."""
    t0 = time.monotonic()
    tasks = []
    for i in range(n):
        st, h, _ = post(api.port, ARCHIVES[i % len(ARCHIVES)])
        assert st == 201, st
        tasks.append((h["X-Task-Id"], h["X-Task-Password"]))
    pending = list(tasks)
    while pending:
        pending = [t for t in pending if not finished(api, [t])]
        time.sleep(0.1)
    return time.monotonic() - t0, [t[0] for t in tasks]


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def warm(api):
    # every crash once: each worker's roots assembled before the measured queue
    run_queue(api, len(ARCHIVES))


results = {}
try:
    single = [1] + ([max(WORKERS)] if max(WORKERS) > 1 else [])
    for par in single:
        with Daemon("all", f"single{par}", store=False, parallel=par) as d:
            d.start(ready_path="settings")
            warm(d)
            secs, ids = run_queue(d, opts.tasks)
            import sqlite3
            db = sqlite3.connect(os.path.join(env.dir, "tasks-sqlite", "tasks.db"))
            lat = [(s - c) / 1e6 for (c, s) in db.execute(
                f"SELECT created_usec, started_usec FROM tasks WHERE id IN ({','.join(ids)})")]
            db.close()
            results[f"sqlite, 1 daemon, MaxParallelTasks={par}"] = (secs, lat)
    for n in WORKERS:
        pg.psql("DROP TABLE IF EXISTS tasks, stats, task_stages, task_waits, daemons, retrace_schema")
        api = Daemon("api", "api", store=True)
        workers = [Daemon("worker", f"w{i}", store=True) for i in range(n)]
        try:
            api.start(ready_path="settings")
            for w in workers:
                w.start()
            warm(api)
            secs, ids = run_queue(api, opts.tasks)
            lat = [(int(r[1]) - int(r[0])) / 1e6 for r in pg.psql(
                f"SELECT created_usec, claimed_usec FROM tasks WHERE id IN ({','.join(ids)})")]
            results[f"postgresql, 1 api + {n} worker(s)"] = (secs, lat)
        finally:
            for w in workers:
                w.stop()
            api.stop()
finally:
    pg.close()
    env.cleanup()

print(f"{opts.tasks} retraces of {len(CRASHES)} TestOS crashes (round robin), every one running gdb; "
      f"{os.cpu_count()} CPUs")
base = None
for name, (secs, lat) in results.items():
    rate = opts.tasks / secs * 60
    base = base or rate
    print(f"{name:45s} {rate:6.1f} retraces/min ({secs:5.1f} s)  x{rate / base:4.2f}  "
          f"upload→claimed p50 {pct(lat, 50):6.2f} s  p90 {pct(lat, 90):6.2f} s  p99 {pct(lat, 99):6.2f} s")
