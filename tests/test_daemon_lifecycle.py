#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The task queue of a real daemon: bounded parallelism, a bounded queue that alone answers 503, the
load /settings reports, deletion stopping work, kill -9 and SIGTERM with tasks waiting and running
(every task finishes after the restart), and 50 concurrent uploads with MaxParallelTasks=2.

To hold tasks in place deterministically, the test takes the package cache's lock exclusively (as
`retrace-server-cache gc` does): workers then wait in "Preparing environment" until it is released."""

import concurrent.futures
import fcntl
import os
import signal
import time

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, wait_finished

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
# Every upload here is the same archive, and each must really run (queue, cancellation, restarts):
# no reuse of an identical upload's result.
ENV = DaemonEnv(releases=tuple(MANIFEST["releases"]), always={"ReuseIdenticalUploads": "no"})
ARCHIVE = open(os.path.join(TOS, "crashes", "r1-null.tar.xz"), "rb").read()
PREPARING = "Preparing environment for backtrace generation"


class CacheLock:
    def __enter__(self):
        self.fd = os.open(os.path.join(ENV.cache_dir, "lock"), os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __exit__(self, *exc):
        self.release()


def upload(srv):
    st, h, body = post(srv.port, ARCHIVE)
    rt.check(st == 201, f"upload: {st} {body!r}")
    return h["X-Task-Id"], h["X-Task-Password"]


def status(srv, tid, pw):
    st, h, body = rt.http_get(f"{srv.base_url}{tid}", {"X-Task-Password": pw})
    return st, h.get("X-Task-Status"), body.decode().strip()


def settings(srv):
    _, _, body = rt.http_get(srv.base_url + "settings")
    return dict(line.split(" ", 1) for line in body.decode().splitlines() if " " in line)


def wait_for(what, cond, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    rt.fail(f"timed out waiting for {what}")


def test_queue_full_answers_503():
    ENV.set_keys(MaxParallelTasks=1, MaxQueuedTasks=2)
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        lock = CacheLock().__enter__()
        tasks = [upload(srv)]
        wait_for("the first task to wait for the cache", lambda: status(srv, *tasks[0])[2] == PREPARING)
        tasks += [upload(srv), upload(srv)]
        s = settings(srv)
        rt.check(s["running_tasks"] == "3" and s["max_running_tasks"] == "3", s)
        st, h, body = post(srv.port, ARCHIVE)
        rt.check(st == 503 and h.get("Retry-After"), f"upload into a full queue: {st} {h} {body!r}")
        lock.release()
        for tid, pw in tasks:
            st, _ = wait_finished(srv.base_url, tid, pw)
            rt.check(st == "FINISHED_SUCCESS", f"task {tid}: {st}")
        # A worker holds its place a moment after the task's end is written (the cache's eviction
        # pass runs after each task): slow under the sanitizers.
        wait_for("/settings to count no task", lambda: settings(srv)["running_tasks"] == "0", timeout=60)


def test_concurrent_uploads_never_overfill():
    """MaxQueuedTasks holds when uploads arrive together: each accepted upload holds its place from the
    moment it is accepted, so the 201s never exceed the room (here 3 places, the one worker busy). All
    20 clients come from 127.0.0.1, and a closed connection counts against its address until its HTTP
    thread reaps it (after the handler it may be busy in): the per-address limit is raised here."""
    ENV.set_keys(MaxParallelTasks=1, MaxQueuedTasks=3, MaxConnectionsPerAddress=256)
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        lock = CacheLock().__enter__()
        first = upload(srv)
        wait_for("the first task to wait for the cache", lambda: status(srv, *first)[2] == PREPARING)
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(lambda _: post(srv.port, ARCHIVE), range(40)))
        codes = [st for st, _, _ in results]
        accepted = [h for st, h, _ in results if st == 201]
        rt.check(set(codes) <= {201, 503}, f"answers: {codes}")
        rt.check(len(accepted) == 3, f"{len(accepted)} uploads accepted with room for 3: {codes}")
        s = settings(srv)
        rt.check(s["running_tasks"] == "4", s)
        st, _, _ = post(srv.port, ARCHIVE)
        rt.check(st == 503, f"a full queue took another upload: {st}")
        lock.release()
        for h in accepted:
            fin, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
            rt.check(fin == "FINISHED_SUCCESS", f"task {h['X-Task-Id']}: {fin}")
        # Refused uploads gave their places back: the queue takes uploads again (and the task finishes,
        # leaving nothing queued for the next test).
        tid, pw = upload(srv)
        fin, _ = wait_finished(srv.base_url, tid, pw)
        rt.check(fin == "FINISHED_SUCCESS", f"task {tid}: {fin}")


def test_delete_stops_work():
    ENV.set_keys(MaxParallelTasks=1, AllowAPIDelete="yes")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        with CacheLock():
            running = upload(srv)
            wait_for("the task to wait for the cache", lambda: status(srv, *running)[2] == PREPARING)
            queued = upload(srv)
            for tid, pw in (queued, running):
                st, _, body = rt.http_get(f"{srv.base_url}{tid}/delete", {"X-Task-Password": pw})
                rt.check(st == 200, f"delete {tid}: {st} {body!r}")
                st, _, _ = status(srv, tid, pw)
                rt.check(st == 404, f"deleted task {tid} still answers {st}")
                rt.check(not os.path.exists(os.path.join(ENV.dir, "tasks", tid)), f"task {tid} left its directory")
        # The daemon goes on working.
        tid, pw = upload(srv)
        st, _ = wait_finished(srv.base_url, tid, pw)
        rt.check(st == "FINISHED_SUCCESS", st)
        rt.check(not os.path.exists(os.path.join(ENV.dir, "tasks", running[0])), "a cancelled task came back")


def test_kill9_and_sigterm_lose_nothing():
    ENV.set_keys(MaxParallelTasks=1)
    tasks = []
    with ENV.server("first") as srv:
        srv.start(ready_path="settings")
        with CacheLock():
            tasks.append(upload(srv))
            wait_for("a running task", lambda: status(srv, *tasks[0])[2] == PREPARING)
            tasks += [upload(srv) for _ in range(3)]
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
    with ENV.server("second") as srv:
        srv.start(ready_path="settings")
        with CacheLock():
            wait_for("the restarted daemon to run a task again",
                     lambda: any(status(srv, *t)[2] == PREPARING for t in tasks))
            tasks.append(upload(srv))
            srv.proc.send_signal(signal.SIGTERM)
            try:
                rc = srv.proc.wait(timeout=20)
            except Exception:
                threads = os.popen(f"grep -H . /proc/{srv.proc.pid}/task/*/wchan").read()
                rt.fail(f"the daemon did not exit within 20 s of SIGTERM; its threads wait in:\n{threads}")
            rt.check(rc == 0, f"exit status {rc} after SIGTERM")
            rt.check("resume at the next start" in srv.log(), srv.log())
    with ENV.server("third") as srv:
        srv.start(ready_path="settings")
        for tid, pw in tasks:
            st, seen = wait_finished(srv.base_url, tid, pw)
            rt.check(st == "FINISHED_SUCCESS", f"task {tid} after the restarts: {st} {seen}")
        print(f"   {len(tasks)} tasks survived kill -9 and SIGTERM")


def descendants(pid):
    """pid and every process below it, from /proc's parent links."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def alive(pids):
    left = []
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    left.append(p)
        except OSError:
            pass
    return left


def test_kill9_during_gdb_leaves_no_sandbox():
    """kill -9 of the daemon while gdb runs: the sandbox (helper, init, gdb) dies with it within 2 s,
    and the restarted daemon runs the task to the end."""
    ENV.set_keys(MaxParallelTasks=1)
    with ENV.server("killed") as srv:
        srv.start(ready_path="settings")
        tid, pw = upload(srv)
        lock = os.path.join(ENV.dir, "tasks", tid, "sandbox.lock")
        helper = None
        deadline = time.monotonic() + 120
        while helper is None and time.monotonic() < deadline:
            for p in descendants(srv.proc.pid)[1:]:
                try:
                    with open(f"/proc/{p}/cmdline", "rb") as f:
                        argv = f.read().split(b"\0")
                except OSError:
                    continue
                if lock.encode() in argv and b"gdb" in b" ".join(argv):
                    helper = p
            time.sleep(0.01)
        rt.check(helper is not None, f"no sandbox running gdb seen for task {tid}\n{srv.log()}")
        time.sleep(0.2)  # into gdb's run
        tree = descendants(helper)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        t0 = time.monotonic()
        while alive(tree) and time.monotonic() - t0 < 2:
            time.sleep(0.02)
        rt.check(not alive(tree), f"processes of the sandbox outlived the daemon by 2 s: {alive(tree)}")
        print(f"   sandbox of {len(tree)} processes gone {time.monotonic() - t0:.3f} s after kill -9")
    with ENV.server("restarted") as srv:
        srv.start(ready_path="settings")
        st, seen = wait_finished(srv.base_url, tid, pw)
        rt.check(st == "FINISHED_SUCCESS", f"task {tid} after kill -9 mid-gdb: {st} {seen}")


def test_50_concurrent_uploads():
    ENV.set_keys(MaxParallelTasks=2)
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(lambda _: post(srv.port, ARCHIVE), range(50)))
        codes = [st for st, _, _ in results]
        rt.check(codes == [201] * 50, f"uploads refused while the queue had room: {codes}")
        peak = 0
        for st, h, _ in results:
            s = settings(srv)
            peak = max(peak, int(s["running_tasks"]))
            fin, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
            rt.check(fin == "FINISHED_SUCCESS", f"task {h['X-Task-Id']}: {fin}")
        _, _, body = rt.http_get(srv.base_url + "metrics")
        text = body.decode()
        for line in ('retrace_tasks{status="FINISHED_SUCCESS"}', 'retrace_queue_tasks{state="waiting"} 0',
                     'retrace_stage_seconds_count{stage="run"}', 'retrace_root_cache_total{result="hit"}',
                     'retrace_retraces_total{result="success"}'):
            rt.check(line in text, f"/metrics lacks {line}:\n{text}")
        hits = int(text.split('retrace_root_cache_total{result="hit"} ')[1].split()[0])
        rt.check(hits >= 49, f"the same package set should reuse its root: {hits} hits of 50")
        print(f"   50 uploads accepted and finished (load seen up to {peak})")


def test_garbage_collection():
    """Finished tasks past DeleteTaskAfter / DeleteFailedTaskAfter go (the daemon collects at start and
    then every minute)."""
    ENV.set_keys(DeleteTaskAfter="1s", DeleteFailedTaskAfter="1s")
    with ENV.server("before") as srv:
        srv.start(ready_path="settings")
        tid, pw = upload(srv)
        st, _ = wait_finished(srv.base_url, tid, pw)
        rt.check(st == "FINISHED_SUCCESS", st)
    time.sleep(1.5)
    with ENV.server("after") as srv:
        srv.start(ready_path="settings")
        wait_for("the expired task to be deleted", lambda: status(srv, tid, pw)[0] == 404, timeout=30)
        rt.check(not os.path.exists(os.path.join(ENV.dir, "tasks", tid)), "the expired task left its directory")
        rt.check("older than DeleteTaskAfter" in srv.log(), srv.log())
    ENV.set_keys(DeleteTaskAfter="0", DeleteFailedTaskAfter="0")
    with ENV.server("keep") as srv:
        srv.start(ready_path="settings")
        tid, pw = upload(srv)
        wait_finished(srv.base_url, tid, pw)
    time.sleep(1.2)
    with ENV.server("keep-after") as srv:
        srv.start(ready_path="settings")
        time.sleep(1)
        rt.check(status(srv, tid, pw)[0] == 200, "DeleteTaskAfter = 0 must keep tasks")


try:
    rt.run_tests([test_garbage_collection, test_queue_full_answers_503, test_concurrent_uploads_never_overfill, test_delete_stops_work, test_kill9_and_sigterm_lose_nothing,
                  test_kill9_during_gdb_leaves_no_sandbox,
                  test_50_concurrent_uploads])
finally:
    ENV.cleanup()
