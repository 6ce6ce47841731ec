#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Extraction on demand: a release synced with CachePrefetch = none is only indexed; the first tasks
extract what their roots need. Two tasks retracing the same crash at once extract each package once
(the "Extracted N packages" lines of both logs add up to the packages the cache extracted). A stored
RPM damaged after the sync fails the task that needs it, naming the package; it is moved aside, the
next sync downloads it again and the task then succeeds."""

import concurrent.futures
import glob
import hashlib
import os
import re

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, wait_finished
from rpmcache_helpers import sync_summary

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
CRASH = MANIFEST["crashes"][0]


def retrace(srv, archive):
    with open(archive, "rb") as f:
        st, h, body = post(srv.port, f.read())
    rt.check(st == 201, f"{archive}: {st} {body!r}")
    status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
    code, _, log = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/log", {"X-Task-Password": h["X-Task-Password"]})
    return status, log.decode(errors="replace") if code == 200 else ""


def extracted_in(log):
    return sum(int(n) for n in re.findall(r"Extracted (\d+) packages \(", log))


def stored_rpm(env, name):
    p = next(p for p in MANIFEST["packages"]
             if p["name"] == name and p["dist_release"] == CRASH["release"] and p["arch"] == "x86_64")
    with open(os.path.join(TOS, p["file"]), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    return os.path.join(env.repo_dir, "packages", sha[:2], sha + ".rpm"), f"{name}-{p['version']}-{p['release']}"


def test_concurrent_tasks_extract_once():
    # two tasks of the same crash really run at once (no reuse of an identical upload's result)
    env = DaemonEnv(releases=(CRASH["release"],), always={"ReuseIdenticalUploads": "no"}, CachePrefetch="none",
                    MaxParallelTasks="2")
    try:
        before = env.stats()
        rt.check(before["packages-extracted"] < before["packages"] and before["packages-indexed-only"] > 0,
                 f"CachePrefetch = none extracted everything: {before}")
        archive = os.path.join(TOS, "crashes", CRASH["name"] + ".tar.xz")
        with env.server() as srv:
            srv.start(ready_path="settings")
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                results = list(pool.map(lambda _: retrace(srv, archive), range(2)))
        for status, log in results:
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log}")
        after = env.stats()
        delta = int(after["packages-extracted"] - before["packages-extracted"])
        logged = sum(extracted_in(log) for _, log in results)
        print(f"   the two tasks extracted {logged} packages ({[extracted_in(l) for _, l in results]}), "
              f"the cache {delta}")
        rt.check(delta > 0 and logged == delta, f"extracted {delta} packages, the logs say {logged}:\n"
                 + "\n".join(log for _, log in results))
        rt.check("0 bad" in env.cache("verify").stdout, "verify after on-demand extraction")
    finally:
        env.cleanup()


def test_damaged_rpm_fails_the_task_and_sync_replaces_it():
    env = DaemonEnv(releases=(CRASH["release"],), CachePrefetch="none")
    try:
        rpm, nvr = stored_rpm(env, "gdb")  # in every root, never read by the resolver
        size = os.path.getsize(rpm)
        os.chmod(rpm, 0o644)
        with open(rpm, "r+b") as f:  # same size: only extraction can tell
            f.seek(size - 100)
            f.write(bytes(100))
        archive = os.path.join(TOS, "crashes", CRASH["name"] + ".tar.xz")
        with env.server() as srv:
            srv.start(ready_path="settings")
            status, log = retrace(srv, archive)
            rt.check(status == "FINISHED_FAILURE" and nvr in log and "damaged" in log, f"{status}\n{log}")
            rt.check(not os.path.exists(rpm) and os.path.exists(rpm + ".corrupt"), "damaged RPM not moved aside")
            s = sync_summary(env.sync(CRASH["release"]).stdout)
            rt.check(s["downloaded"] == 1 and s["refused"] == 0, f"the sync did not replace it: {s}")
            status, log = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log}")
    finally:
        env.cleanup()


if __name__ == "__main__":
    rt.run_tests([test_concurrent_tasks_extract_once, test_damaged_rpm_fails_the_task_and_sync_replaces_it])
