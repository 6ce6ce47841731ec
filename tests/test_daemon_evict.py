#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The bounded cache (CacheMaxSize). With a limit far below what one task needs: a task succeeds, its
packages are evicted once it has ended, a second task of the same crash extracts them again and
succeeds; stats and /metrics count hits, misses and evictions. A pinned root (a shared flock on its
directory, what a running task holds) keeps its packages and files through `retrace-server-cache
evict`; unpinned, they go, and assembling again extracts them again."""

import fcntl
import os
import re
import time

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, wait_finished

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
CRASH = MANIFEST["crashes"][0]
RELEASE = CRASH["release_id"]


def retrace(srv, archive):
    with open(archive, "rb") as f:
        st, h, body = post(srv.port, f.read())
    rt.check(st == 201, f"{archive}: {st} {body!r}")
    status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
    code, _, log = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/log", {"X-Task-Password": h["X-Task-Password"]})
    return status, log.decode(errors="replace") if code == 200 else ""


def extracted_in(log):
    return sum(int(n) for n in re.findall(r"Extracted (\d+) packages \(", log))


def wait_for(what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        rt.check(time.monotonic() < deadline, f"timed out waiting for {what}")
        time.sleep(0.2)


def test_task_succeeds_after_its_packages_were_evicted():
    env = DaemonEnv(releases=(CRASH["release"],), CachePrefetch="none", ReuseIdenticalUploads="no", CacheMaxSize="64K")
    try:
        archive = os.path.join(TOS, "crashes", CRASH["name"] + ".tar.xz")
        with env.server() as srv:
            srv.start(ready_path="settings")
            status, log = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log}")
            first = extracted_in(log)
            rt.check(first > 0, f"the first task extracted nothing:\n{log}")
            # The worker evicts once the task has ended (after its status is stored); stats reads the
            # index query by query, so wait for the whole result.
            def evicted():
                s = env.stats()
                done = (s["packages-extracted"] == 0 and s["cache-bytes"] <= 64 * 1024 and s["roots"] == 0
                        and s["evicted-bytes"] > 0)
                return s if done else None
            s = wait_for("the eviction after the first task", evicted)
            rt.check(s["evicted-packages"] >= first, f"evicted fewer packages than extracted: {s}")
            # the gdb indexes count in CacheMaxSize and went with their debug files' packages
            index_dir = os.path.join(env.cache_dir, "gdb-index")
            rt.check(s["cache-gdb-index-bytes"] == 0 and not os.listdir(index_dir),
                     f"gdb indexes left after their packages were evicted: {os.listdir(index_dir)} {s}")
            status, log = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"second task after eviction: {status}\n{log}")
            rt.check(extracted_in(log) > 0, f"the second task did not extract again:\n{log}")
            m = re.search(r"Cache: (\d+) of (\d+) packages were extracted already, (\d+) extracted", log)
            rt.check(m and int(m.group(3)) > 0, f"no cache line in the log:\n{log}")
            s = wait_for("the eviction after the second task", evicted)
            rt.check(s["package-misses"] >= 2 * int(m.group(3)) and s["cache-max-size"] == 64 * 1024,
                     f"stats: {s}")
            code, _, body = rt.http_get(f"{srv.base_url}metrics")
            text = body.decode()
            rt.check(code == 200, f"/metrics: {code}")
            ev = re.search(r"^retrace_package_cache_evicted_packages_total (\d+)$", text, re.M)
            miss = re.search(r'^retrace_package_cache_packages_total\{result="miss"\} (\d+)$', text, re.M)
            lim = re.search(r"^retrace_package_cache_limit_bytes (\d+)$", text, re.M)
            rt.check(ev and int(ev.group(1)) > 0 and miss and int(miss.group(1)) > 0 and lim
                     and int(lim.group(1)) == 65536, f"/metrics:\n{text}")
        rt.check("0 bad" in env.cache("verify").stdout, "verify after evictions")
    finally:
        env.cleanup()


def test_pinned_root_survives_eviction():
    env = DaemonEnv(releases=(CRASH["release"],), CachePrefetch="none", ReuseIdenticalUploads="no", CacheMaxSize="1")
    try:
        closure = set(env.cache("closure", RELEASE).stdout.split())
        rt.check(closure, "empty debugger closure")
        other = next(f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}" for p in MANIFEST["packages"]
                     if p["dist_release"] == CRASH["release"] and not p["debug"]
                     and f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}" not in closure)
        root = env.cache("assemble", RELEASE, "gdb", "--with-debugger").stdout.strip()  # the plugin's gdb_package
        rt.check(os.path.isdir(root), f"no root: {root!r}")
        env.cache("extract", RELEASE, other)
        before = env.stats()
        rt.check(before["packages-extracted"] == len(closure) + 1, f"{before}, closure {len(closure)}")

        files = []
        for d, _, names in os.walk(root):
            files += [os.path.join(d, n) for n in names if os.path.isfile(os.path.join(d, n))
                      and not os.path.islink(os.path.join(d, n))]
        rt.check(files, "the root has no files")
        pin = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(pin, fcntl.LOCK_SH)  # what a running task holds
            r = env.cache("evict")
            s = env.stats()
            rt.check(s["packages-extracted"] == len(closure) and s["evicted-packages"] == 1,
                     f"the pinned root's packages went, or the other stayed: {s}")
            rt.check("roots in use" in r.stderr, f"no word of the pinned root:\n{r.stderr}")
            rt.check(os.path.isdir(root) and all(os.path.getsize(f) >= 0 for f in files),
                     "the pinned root lost files")
            for f in files[:50]:
                with open(f, "rb") as fh:
                    fh.read(1)
            rt.check("0 bad" in env.cache("verify").stdout, "verify with a pinned root")
        finally:
            os.close(pin)
        env.cache("evict")
        s = env.stats()
        rt.check(s["packages-extracted"] == 0 and not os.path.exists(root) and s["cache-bytes"] <= 1,
                 f"unpinned, not evicted: {s}")
        rt.check(s["evicted-packages"] == len(closure) + 1, f"{s}")
        again = env.cache("assemble", RELEASE, "gdb", "--with-debugger")
        rt.check(again.stdout.strip() == root and os.path.isdir(root) and "Extracted" in again.stderr,
                 f"assembling again did not extract again:\n{again.stderr}")
        rt.check(env.stats()["packages-extracted"] == len(closure), "not extracted again")
        rt.check("0 bad" in env.cache("verify").stdout, "verify after extracting again")
    finally:
        env.cleanup()


if __name__ == "__main__":
    rt.run_tests([test_task_succeeds_after_its_packages_were_evicted, test_pinned_root_survives_eviction])
