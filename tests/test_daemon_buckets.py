#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Crash buckets end to end: TestOS crashes uploaded repeatedly and with small differences land in
the buckets daemon/README.md ("Crash buckets") says; each hash is computed here from the documented
text (component, "Thread", the top frames) with hashlib, never by the daemon's code. /stats lists the
buckets without any task id; a task's status says how many other crashes share its bucket.

Identical uploads ("Identical uploads"): byte-identical crash files, sequential or 10 at once, run
gdb once; every other task gets its own id and password and the same result at once.

Source context: the crashing thread's frames carry the lines around their line from the release's
-debugsource packages, equal to the TestOS sources (tests/testos/src) at the lines of their @line
markers.

Missing debuginfo: a crash whose library debuginfo the first sync withheld is degraded and waits
(status, /metrics); after a second sync that brings it, the task runs again by itself to a full
backtrace."""

import glob
import shutil
import subprocess

import hashlib
import json
import os
import threading
import time

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, raw_request, tar_of, wait_finished

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
CRASHES = {c["name"]: c for c in MANIFEST["crashes"]}
ENV = DaemonEnv(releases=tuple(MANIFEST["releases"]))
FILES = ("coredump", "executable", "package", "os_release")


def members(name, **override):
    d = os.path.join(TOS, "crashes", name)
    out = []
    for f in FILES:
        data = override.get(f)
        if data is None:
            with open(os.path.join(d, f), "rb") as fh:
                data = fh.read()
        out.append((f, data))
    return out


def expected_hash(component, functions):
    """The documented text: the component, "Thread\\n", then "  FUNCTION\\n" for the top three frames."""
    text = component + "Thread\n" + "".join(f"  {fn}\n" for fn in functions[:3])
    return hashlib.sha1(text.encode()).hexdigest(), text


PASSWORDS = {}


def retrace(srv, archive_members):
    st, h, body = post(srv.port, tar_of(archive_members))
    rt.check(st == 201, f"{st} {body!r}")
    tid, pw = h["X-Task-Id"], h["X-Task-Password"]
    PASSWORDS[tid] = pw
    status, _ = wait_finished(srv.base_url, tid, pw)
    auth = {"X-Task-Password": pw}
    _, _, log = rt.http_get(f"{srv.base_url}{tid}/log", auth)
    rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log.decode(errors='replace')}")
    _, _, doc = rt.http_get(f"{srv.base_url}{tid}/backtrace.json", auth)
    _, _, st_body = rt.http_get(f"{srv.base_url}{tid}/status", auth)
    return tid, json.loads(doc), json.loads(st_body), log.decode(errors="replace")


def test_buckets():
    # The crashes' top frames come from the fixture's manifest (what gdb must print); the component is
    # the source package of /usr/bin/crashy, which the TestOS spec builds from crashy.src.rpm.
    null1 = expected_hash("crashy", [f["function"] for f in CRASHES["r1-null"]["frames"]])
    null2 = expected_hash("crashy", [f["function"] for f in CRASHES["r2-null"]["frames"]])
    abort1 = expected_hash("crashy", [f["function"] for f in CRASHES["r1-abort"]["frames"]])
    threads1 = expected_hash("crashy", [f["function"] for f in CRASHES["r1-threads"]["frames"]])
    rt.check(null1[0] != threads1[0] and null1[0] != null2[0], "the fixture's crashes differ")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        seen = {}
        # r1-null twice, then with a differently spelled release line (bytes differ, crash is the same)
        for i, (name, mem) in enumerate([("r1-null", members("r1-null")), ("r1-null", members("r1-null")),
                                         ("r1-null", members("r1-null", os_release=b"TestOS release 1 (Amber)\n\n")),
                                         ("r1-abort", members("r1-abort")), ("r1-threads", members("r1-threads")),
                                         ("r2-null", members("r2-null")), ("r2-threads", members("r2-threads"))]):
            tid, doc, status, log = retrace(srv, mem)
            dup = doc.get("duphash")
            rt.check(isinstance(dup, dict) and len(dup["hash"]) == 40, f"{name}: duphash {dup}")
            rt.check(dup["component"] == "crashy", f"{name}: component {dup}")
            rt.check(f"Crash bucket {dup['hash']}" in log, log)
            rt.check(status["bucket"]["hash"] == dup["hash"], f"{name}: status {status}")
            seen.setdefault(dup["hash"], []).append((name, tid, status["bucket"]["others"]))
            print(f"   {name}: bucket {dup['hash'][:12]}, {status['bucket']['others']} others")
        rt.check(null1[0] in seen and [n for n, _, _ in seen[null1[0]]] == ["r1-null"] * 3,
                 f"r1-null expected in {null1}: {seen}")
        rt.check([o for _, _, o in seen[null1[0]]] == [0, 1, 2], f"others counted: {seen[null1[0]]}")
        rt.check(abort1[0] in seen and seen[abort1[0]][0][0] == "r1-abort",
                 f"r1-abort: the abort and assertion frames are skipped: {abort1} {seen}")
        rt.check(threads1[0] in seen and seen[threads1[0]][0][0] == "r1-threads", f"r1-threads {threads1}: {seen}")
        # the same bug reached in a single-threaded run and in a worker thread of r2: one bucket
        rt.check([n for n, _, _ in seen.get(null2[0], [])] == ["r2-null", "r2-threads"],
                 f"r2-null and r2-threads share {null2}: {seen}")

        st, _, body = rt.http_get(srv.base_url + "stats")
        stats = json.loads(body)
        buckets = {b["hash"]: b for b in stats["buckets"]}
        b = buckets.get(null1[0])
        rt.check(b and b["count"] == 3 and b["releases"] == ["testos-1-x86_64"]
                 and b["first_seen"] <= b["last_seen"] and b["packages"], f"bucket of r1-null: {b}")
        rt.check(buckets[null2[0]]["count"] == 2, stats["buckets"])
        text = body.decode()
        for tasks in seen.values():
            for _, tid, _ in tasks:
                rt.check(tid not in text, f"/stats names task {tid}")


GDB_RAN = "Generating backtrace took"
REUSED = "result is reused"


def test_identical_sequential():
    mem = members("r1-wild-write")
    ENV.set_keys(AllowTaskManager="yes", TaskManagerPassword="manager-secret")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        runs = [retrace(srv, mem) for _ in range(3)]
        first_log = runs[0][3]
        rt.check(GDB_RAN in first_log and REUSED not in first_log, first_log)
        backtraces = set()
        for tid, doc, status, log in runs[1:]:
            rt.check(REUSED in log and GDB_RAN not in log, f"task {tid} ran gdb again:\n{log}")
            rt.check(runs[0][0] not in log, f"the log of {tid} names the other task:\n{log}")
            rt.check(doc == runs[0][1], "backtrace.json differs from the reused one")
            rt.check(status["bucket"]["hash"] == runs[0][1]["duphash"]["hash"], status)
        rt.check(len({r[0] for r in runs}) == 3, "three task ids")
        # a byte-different upload of the same crash runs gdb
        _, _, _, log = retrace(srv, members("r1-wild-write", os_release=b"TestOS release 1 (Amber)\n\n"))
        rt.check(GDB_RAN in log and REUSED not in log, log)
        # the task manager's restart of a task that reused a result runs it for real
        tid = runs[1][0]
        st, _, body = raw_request(srv.port, f"POST /manager/{tid}/restart HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Length: 0\r\nConnection: close\r\n"
                                  "X-Manager-Password: manager-secret\r\n\r\n")
        rt.check(st == 200, f"restart: {st} {body!r}")
        for _ in range(600):
            _, h, _ = rt.http_get(f"{srv.base_url}manager/{tid}", {"X-Manager-Password": "manager-secret"})
            if h["X-Task-Status"].startswith("FINISHED"):
                break
            time.sleep(0.5)
        _, _, log = rt.http_get(f"{srv.base_url}manager/{tid}/log", {"X-Manager-Password": "manager-secret"})
        log = log.decode(errors="replace")
        rt.check(h["X-Task-Status"] == "FINISHED_SUCCESS" and GDB_RAN in log and REUSED not in log,
                 f"restarted task {tid}:\n{log}")
    ENV.set_keys(ReuseIdenticalUploads="no")
    try:
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            _, _, _, log = retrace(srv, mem)
            rt.check(GDB_RAN in log and REUSED not in log, f"ReuseIdenticalUploads = no:\n{log}")
    finally:
        ENV.set_keys()


def test_identical_concurrent():
    body = tar_of(members("r1-wild-jump"))
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        created, errors = [], []

        def upload():
            try:
                st, h, b = post(srv.port, body)
                if st != 201:
                    errors.append((st, b))
                else:
                    created.append((h["X-Task-Id"], h["X-Task-Password"]))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=upload) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        rt.check(not errors and len(created) == 10, f"uploads: {errors}")
        rt.check(len({p for _, p in created}) == 10, "ten passwords")
        ran, reused, backtraces = 0, 0, set()
        for tid, pw in created:
            status, _ = wait_finished(srv.base_url, tid, pw)
            auth = {"X-Task-Password": pw}
            _, _, log = rt.http_get(f"{srv.base_url}{tid}/log", auth)
            log = log.decode(errors="replace")
            rt.check(status == "FINISHED_SUCCESS", f"{tid}: {status}\n{log}")
            ran += GDB_RAN in log
            reused += REUSED in log
            _, _, bt = rt.http_get(f"{srv.base_url}{tid}/backtrace", auth)
            backtraces.add(bt)
        rt.check(ran == 1 and reused == 9, f"gdb ran {ran} times, {reused} results reused")
        rt.check(len(backtraces) == 1, f"{len(backtraces)} different backtraces")
        print(f"   10 concurrent identical uploads: gdb ran once, 9 results reused")


SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testos", "src")


def source_at(basename, line, function):
    """The lines line-3..line+3 of the TestOS source named basename whose line has the @line marker of
    function (several versions of a library have a file of that name)."""
    for path in sorted(glob.glob(os.path.join(SRC, "*", basename))):
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if line <= len(lines) and f"@line {function}" in lines[line - 1]:
            first = max(1, line - 3)
            return first, lines[first - 1:line + 3]
    return None


def test_source_context():
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        checked = 0
        for name in ("r1-null", "r2-abort", "r1-cxx", "r2-threads"):
            _, doc, _, log = retrace(srv, members(name))
            thread = next(t for t in doc["threads"] if t["crashing"])
            with_context = [f for f in thread["frames"] if "source_context" in f]
            rt.check(with_context, f"{name}: no frame with source context:\n{log}")
            for f in thread["frames"]:
                sc = f.get("source_context")
                if sc is None:
                    continue
                rt.check(f["file"] and f["line"] and f["build_id"], f"{name}: context without a line: {f}")
                rt.check(len(sc["lines"]) <= 7 and sc["first_line"] <= f["line"] < sc["first_line"] + len(sc["lines"]),
                         f"{name}: frame {f['index']}: {sc}")
            for e in CRASHES[name]["frames"]:
                want = source_at(e["file"], e["line"], e["function"])
                if want is None:
                    continue
                got = [f for f in with_context if f["function"] == e["function"] and f["line"] == e["line"]]
                rt.check(got, f"{name}: {e} has no source context: {[(f['function'], f['line']) for f in thread['frames']]}")
                sc = got[0]["source_context"]
                rt.check((sc["first_line"], sc["lines"]) == want,
                         f"{name}: {e['function']}: {sc} instead of {want}")
                checked += 1
        rt.check(checked >= 8, f"only {checked} frames compared with the sources")
        print(f"   {checked} frames' source context equal to the TestOS sources")


def metric(srv, name):
    _, _, body = rt.http_get(srv.base_url + "metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    rt.fail(f"no {name} in /metrics:\n{body.decode()}")


def test_missing_debuginfo_retry():
    """libtoken's debuginfo is withheld from the first sync: the task is degraded and waits for it
    (status, /metrics); a second sync that brings it makes the task run again by itself, to a full
    backtrace."""
    rt.require_tool("createrepo_c")
    tos = rt.testos_dir()
    crash = CRASHES["r1-null"]
    env = DaemonEnv()
    try:
        src = os.path.join(tos, "repos", crash["release"], "x86_64", "debug", "Packages")
        mirror = os.path.join(env.dir, "debug-mirror")
        os.makedirs(os.path.join(mirror, "Packages"))
        withheld = [p for p in os.listdir(src) if p.startswith("libtoken-debuginfo-")]
        rt.check(withheld, f"no libtoken-debuginfo in {src}")
        for p in os.listdir(src):
            if p not in withheld:
                shutil.copy(os.path.join(src, p), os.path.join(mirror, "Packages"))
        subprocess.run(["createrepo_c", "--quiet", mirror], check=True)
        env.write_plugin("testos", {"testos": [f"file://{tos}/repos/$VER/$ARCH/os"],
                                    "testos-debuginfo": [f"file://{mirror}"]})
        env.sync(crash["release"])
        with env.server() as srv:
            srv.start(ready_path="settings")
            tid, doc, status, log = retrace(srv, members("r1-null"))
            rt.check(doc["resolution"]["degraded"], f"not degraded without libtoken's debuginfo:\n{log}")
            waiting = status.get("waiting") or ""
            rt.check(waiting.startswith("waiting for debuginfo of ") and "libtoken.so" in waiting
                     and waiting.endswith(" in " + crash["release_id"]), f"status: {status}")
            rt.check("Waiting for debuginfo of " in log, log)
            rt.check(metric(srv, "retrace_tasks_waiting_for_debuginfo") == 1, "waiting tasks in /metrics")
            # without a sync nothing changes (the daemon looks every 10 s)
            time.sleep(12)
            _, _, again = rt.http_get(f"{srv.base_url}{tid}/log", {"X-Task-Password": PASSWORDS[tid]})
            rt.check(again.decode(errors="replace") == log, "the task ran again without a sync")
            # the second sync brings it
            for p in withheld:
                shutil.copy(os.path.join(src, p), os.path.join(mirror, "Packages"))
            subprocess.run(["createrepo_c", "--quiet", mirror], check=True)
            env.sync(crash["release"])
            deadline = time.monotonic() + 240
            auth = {"X-Task-Password": PASSWORDS[tid]}
            log = ""
            while time.monotonic() < deadline:
                _, h, _ = rt.http_get(f"{srv.base_url}{tid}", auth)
                _, _, body = rt.http_get(f"{srv.base_url}{tid}/log", auth)
                log = body.decode(errors="replace")
                if h["X-Task-Status"] == "FINISHED_SUCCESS" and "Running again" in log and "Retrace took" in log:
                    break
                time.sleep(1)
            rt.check("Running again: a sync brought debuginfo" in log, f"the task did not run again:\n{log}")
            _, _, body = rt.http_get(f"{srv.base_url}{tid}/backtrace.json", auth)
            doc = json.loads(body)
            frames = [(f["function"], f["line"]) for f in next(t for t in doc["threads"] if t["crashing"])["frames"]]
            rt.check(not doc["resolution"]["degraded"] and frames[0] == ("token_measure", 18),
                     f"after the retry: {frames[:4]}\n{log}")
            _, _, body = rt.http_get(f"{srv.base_url}{tid}/status", auth)
            rt.check(json.loads(body)["waiting"] is None, body)
            rt.check(metric(srv, "retrace_tasks_waiting_for_debuginfo") == 0, "waiting tasks in /metrics")
            print(f"   task {tid}: degraded, waited, ran again after the second sync: {frames[:3]}")
    finally:
        env.cleanup()


try:
    rt.run_tests([test_buckets, test_identical_sequential, test_identical_concurrent, test_source_context,
                  test_missing_debuginfo_retry])
finally:
    ENV.cleanup()
