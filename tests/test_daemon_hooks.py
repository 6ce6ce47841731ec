#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Site hooks (docs/hooks.md) on a real daemon: hooks writing marker files with their environment at
every stage of a successful and of a failing coredump task, in order and in name order within a stage;
removal and clean-up hooks (expiry and archiving, ArchiveTaskAfter); a hook that runs out of HookTimeout (its process group killed, the task
finishes); a failing hook that does not block the task; a required one that fails it; files that are not
executable ignored with a warning; a bad HookRequired refused at startup."""

import os
import stat
import subprocess
import tempfile
import time

import retrace_test as rt
from daemon_helpers import SERVER, DaemonEnv, post, tar_of, wait_finished

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
ENV = DaemonEnv(releases=tuple(MANIFEST["releases"]), always={"ReuseIdenticalUploads": "no"})
ARCHIVE = open(os.path.join(TOS, "crashes", "r1-null.tar.xz"), "rb").read()
RUN_STAGES = ["pre_start", "start", "pre_prepare_debuginfo", "post_prepare_debuginfo",
              "pre_prepare_environment", "post_prepare_environment", "pre_retrace", "post_retrace"]
ALL_STAGES = RUN_STAGES + ["success", "fail", "pre_remove_task", "post_remove_task", "pre_clean_task",
                           "post_clean_task"]

# Writes one line per run into MARKS/<task id>: stage, script, the task's facts, whether its directory
# exists; and the whole environment into MARKS/<task id>.<stage>.env.
MARKER = """#!/bin/sh
d=absent
[ -d "$RETRACE_TASK_DIR" ] && d=present
printf '%s %s %s %s %s %s %s %s\\n' "$RETRACE_HOOK" "$(basename "$0")" "$RETRACE_TASK_ID" "$RETRACE_TASK_TYPE" \\
    "$RETRACE_TASK_STATUS" "$RETRACE_TASK_DIR" "$d" "${RETRACE_TASK_CLEANUP:--}" >> "@MARKS@/$RETRACE_TASK_ID"
env > "@MARKS@/$RETRACE_TASK_ID.$RETRACE_HOOK.env"
echo "hello from $RETRACE_HOOK"
"""


def write_hook(hook_dir, stage, name, text, mode=0o755):
    os.makedirs(os.path.join(hook_dir, stage), exist_ok=True)
    path = os.path.join(hook_dir, stage, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


# The tests' hook and mark directories, removed at the end of the run.
TEMP_DIRS = []


def temp_dir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    TEMP_DIRS.append(d)
    return d


def hook_tree(marks, stages=ALL_STAGES):
    d = temp_dir("hooks-")
    for s in stages:
        write_hook(d, s, "10-mark", MARKER.replace("@MARKS@", marks))
    return d


def marks_of(marks, tid):
    try:
        with open(os.path.join(marks, tid)) as f:
            return [line.split() for line in f.read().splitlines()]
    except FileNotFoundError:
        return []


def wait_for(what, cond, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    rt.fail(f"timed out waiting for {what}")


def upload(srv, archive=ARCHIVE):
    st, h, body = post(srv.port, archive)
    rt.check(st == 201, f"upload: {st} {body!r}")
    return h["X-Task-Id"], h["X-Task-Password"]


def task_log(srv, tid, pw):
    st, _, body = rt.http_get(f"{srv.base_url}{tid}/log", {"X-Task-Password": pw})
    rt.check(st == 200, f"log: {st}")
    return body.decode()


def save_dir():
    return os.path.join(os.path.dirname(ENV.config), "tasks")


def test_every_stage_of_a_successful_task():
    marks = temp_dir("marks-")
    hooks = hook_tree(marks)
    # Name order within a stage; a file that is not executable and a directory are ignored.
    write_hook(hooks, "start", "20-second", MARKER.replace("@MARKS@", marks))
    write_hook(hooks, "start", "05-not-executable", "#!/bin/sh\nexit 1\n", mode=0o644)
    os.makedirs(os.path.join(hooks, "start", "07-a-directory"))
    ENV.set_keys(HookDir=hooks, AllowAPIDelete="yes")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        tid, pw = upload(srv)
        status, _ = wait_finished(srv.base_url, tid, pw)
        rt.check(status == "FINISHED_SUCCESS", status)
        lines = wait_for("the success hook", lambda: (m := marks_of(marks, tid)) and m[-1][0] == "success" and m)
        order = [(l[0], l[1]) for l in lines]
        want = [(s, "10-mark") for s in RUN_STAGES]
        want.insert(2, ("start", "20-second"))
        want.append(("success", "10-mark"))
        rt.check(order == want, f"hooks ran in this order: {order}")
        task_dir = os.path.realpath(os.path.join(save_dir(), tid))
        for l in lines:
            rt.check(l[2] == tid and l[3] == "retrace" and os.path.realpath(l[5]) == task_dir and l[6] == "present",
                     f"environment of a hook: {l}")
            rt.check(l[4] == ("FINISHED_SUCCESS" if l[0] == "success" else "PENDING"), f"status seen: {l}")
        for s in RUN_STAGES + ["success"]:
            env = open(os.path.join(marks, f"{tid}.{s}.env")).read()
            rt.check(pw not in env, f"the task's password is in the environment of the {s} hook")
            rt.check(f"RETRACE_HOOK={s}\n" in env, env)
        log = task_log(srv, tid, pw)
        rt.check("hook start/10-mark: hello from start" in log, log)
        rt.check("hook post_retrace/10-mark: hello from post_retrace" in log, log)
        rt.check("start/05-not-executable ignored: not a regular executable file" in log, log)
        rt.check("start/07-a-directory ignored" in log, log)
        # Removal through the API: pre_remove_task sees the task, post_remove_task its directory gone.
        st, _, body = delete(srv, tid, pw)
        rt.check(st == 200, f"delete: {st} {body!r}")
        lines = marks_of(marks, tid)
        rt.check([l[0] for l in lines[-2:]] == ["pre_remove_task", "post_remove_task"], lines)
        rt.check(lines[-2][6] == "present" and lines[-1][6] == "absent", lines[-2:])
        rt.check(lines[-2][4] == "FINISHED_SUCCESS", lines[-2])


def delete(srv, tid, pw):
    from daemon_helpers import raw_request
    return raw_request(srv.port, f"POST /{tid}/delete HTTP/1.1\r\nHost: x\r\nX-Task-Password: {pw}\r\n"
                                 "Content-Length: 0\r\nConnection: close\r\n\r\n")


def failing_members():
    d = os.path.join(TOS, "crashes", "r1-null")
    members = [(f, open(os.path.join(d, f), "rb").read()) for f in ("coredump", "executable")]
    members.append(("package", b"crashy-1.0-1.p9"))
    members.append(("os_release", b"Plan 9 release 4 (Labs)\n"))
    return members


def test_failing_task_and_clean_up():
    """A task failing in its analysis: the fail hook after pre_prepare_debuginfo; after a restart with a
    short DeleteTaskAfter, the clean-up hooks of its expiry."""
    marks = temp_dir("marks-")
    hooks = hook_tree(marks)
    ENV.set_keys(HookDir=hooks)
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        tid, pw = upload(srv, tar_of(failing_members()))
        status, _ = wait_finished(srv.base_url, tid, pw)
        rt.check(status == "FINISHED_FAILURE", status)
        lines = wait_for("the fail hook", lambda: (m := marks_of(marks, tid)) and m[-1][0] == "fail" and m)
        rt.check([l[0] for l in lines] == ["pre_start", "start", "pre_prepare_debuginfo", "fail"], lines)
        rt.check(lines[-1][4] == "FINISHED_FAILURE", lines[-1])
    # Garbage collection runs at startup: the task is past DeleteFailedTaskAfter.
    ENV.set_keys(HookDir=hooks, DeleteFailedTaskAfter="1s")
    time.sleep(1.5)
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        lines = wait_for("the clean-up hooks",
                         lambda: (m := marks_of(marks, tid)) and m[-1][0] == "post_clean_task" and m)
        rt.check([l[0] for l in lines[-2:]] == ["pre_clean_task", "post_clean_task"], lines)
        rt.check(lines[-2][6] == "present" and lines[-1][6] == "absent" and lines[-1][7] == "delete", lines)


def test_timeout_failure_and_required():
    marks = temp_dir("marks-")
    hooks = temp_dir("hooks-")
    # Leaves a process of its own group behind and never ends: both are killed at HookTimeout.
    write_hook(hooks, "start", "10-hang",
               f"#!/bin/sh\nsleep 600 &\necho $! > {marks}/child\necho $$ > {marks}/parent\n"
               "echo about to hang\nsleep 600\n")
    write_hook(hooks, "pre_retrace", "10-fail", "#!/bin/sh\necho something is wrong >&2\nexit 3\n")
    write_hook(hooks, "success", "10-mark", MARKER.replace("@MARKS@", marks))
    write_hook(hooks, "fail", "10-mark", MARKER.replace("@MARKS@", marks))
    ENV.set_keys(HookDir=hooks, HookTimeout="2")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        tid, pw = upload(srv)
        status, _ = wait_finished(srv.base_url, tid, pw)
        rt.check(status == "FINISHED_SUCCESS", f"not-required hooks blocked the task: {status}")
        log = task_log(srv, tid, pw)
        rt.check("hook start/10-hang: about to hang" in log, log)
        rt.check("hook start/10-hang failed: ran out of HookTimeout (2 s); its process group was killed" in log, log)
        rt.check("hook pre_retrace/10-fail: something is wrong" in log, log)
        rt.check("hook pre_retrace/10-fail failed: exited with status 3 (not required: the task goes on)" in log, log)
        for name in ("parent", "child"):
            pid = int(open(os.path.join(marks, name)).read())

            def gone():
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return True
                # a zombie of an exited shell counts as gone
                try:
                    return open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z"
                except FileNotFoundError:
                    return True
            wait_for(f"the hook's {name} process to be killed", gone, timeout=30)
        wait_for("the success hook", lambda: (m := marks_of(marks, tid)) and m[-1][0] == "success")

    # The same failing hook, required: the task fails, saying which hook and how to fix it.
    ENV.set_keys(HookDir=hooks, HookTimeout="2", HookRequired="start, pre_retrace")
    os.unlink(os.path.join(hooks, "start", "10-hang"))
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        tid, pw = upload(srv)
        status, _ = wait_finished(srv.base_url, tid, pw)
        rt.check(status == "FINISHED_FAILURE", f"a required hook failed, the task did not: {status}")
        log = task_log(srv, tid, pw)
        rt.check("The required hook pre_retrace/10-fail failed: exited with status 3" in log and
                 "HookRequired" in log, log)
        rt.check("Generating backtrace" not in log.split("pre_retrace/10-fail failed")[1].split("\n", 1)[1], log)
        lines = wait_for("the fail hook", lambda: (m := marks_of(marks, tid)) and m[-1][0] == "fail" and m)
        rt.check(lines[-1][4] == "FINISHED_FAILURE", lines)


def test_archive():
    """ArchiveTaskAfter: a finished task moves with its results to ArchiveDir (by rename, and by copy when
    ArchiveDir is on another file system, e.g. /dev/shm), with task.json; the API answers 410 for it; the
    clean-up hooks run around the move, post_clean_task told the new place."""
    import json
    import shutil
    marks = temp_dir("marks-")
    hooks = hook_tree(marks, stages=["pre_clean_task", "post_clean_task"])
    places = [tempfile.mkdtemp(prefix="archive-", dir=os.path.dirname(ENV.config))]
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) and \
            os.stat("/dev/shm").st_dev != os.stat(os.path.dirname(ENV.config)).st_dev:
        places.append(tempfile.mkdtemp(prefix="archive-", dir="/dev/shm"))
    try:
        for archive_dir in places:
            ENV.set_keys(HookDir=hooks)
            with ENV.server() as srv:
                srv.start(ready_path="settings")
                tid, pw = upload(srv)
                status, _ = wait_finished(srv.base_url, tid, pw)
                rt.check(status == "FINISHED_SUCCESS", status)
                st, _, backtrace = rt.http_get(f"{srv.base_url}{tid}/backtrace", {"X-Task-Password": pw})
                rt.check(st == 200, f"backtrace: {st}")
            time.sleep(1.5)
            ENV.set_keys(HookDir=hooks, ArchiveTaskAfter="1s", ArchiveDir=archive_dir)
            with ENV.server() as srv:
                srv.start(ready_path="settings")
                dest = os.path.join(archive_dir, tid)
                lines = wait_for("the archive's post_clean_task hook",
                                 lambda: (m := marks_of(marks, tid)) and m[-1][0] == "post_clean_task" and m)
                rt.check([l[0] for l in lines] == ["pre_clean_task", "post_clean_task"], lines)
                rt.check(lines[0][7] == "archive" and lines[0][6] == "present" and
                         os.path.realpath(lines[0][5]) == os.path.realpath(os.path.join(save_dir(), tid)), lines[0])
                rt.check(lines[1][7] == "archive" and lines[1][6] == "present" and
                         os.path.realpath(lines[1][5]) == os.path.realpath(dest), lines[1])
                rt.check(not os.path.exists(os.path.join(save_dir(), tid)), "the task stayed in SaveDir")
                with open(os.path.join(dest, "results", "backtrace"), "rb") as f:
                    rt.check(f.read() == backtrace, "the archived backtrace differs")
                rt.check(os.path.getsize(os.path.join(dest, "crash", "coredump")) > 0, "no archived core")
                doc = json.load(open(os.path.join(dest, "task.json")))
                rt.check(doc["id"] == int(tid) and doc["status"] == "FINISHED_SUCCESS", doc)
                st, _, body = rt.http_get(f"{srv.base_url}{tid}", {"X-Task-Password": pw})
                rt.check(st == 410 and b"archived" in body, f"an archived task: {st} {body!r}")
                st, _, body = rt.http_get(f"{srv.base_url}123456789", {"X-Task-Password": pw})
                rt.check(st == 404, f"an unknown task: {st}")
    finally:
        for p in places:
            shutil.rmtree(p, ignore_errors=True)
        ENV.set_keys()


def test_bad_hook_required_refused():
    ENV.set_keys(HookRequired="start, success")
    p = subprocess.run([SERVER, "--config", ENV.config, "--listen", f"127.0.0.1:{rt.free_port()}"],
                       env=ENV.env(), capture_output=True, text=True, timeout=60)
    rt.check(p.returncode != 0 and "HookRequired: 'success'" in p.stderr, f"{p.returncode} {p.stderr}")
    ENV.set_keys()


try:
    rt.run_tests([test_bad_hook_required_refused, test_every_stage_of_a_successful_task,
                  test_failing_task_and_clean_up, test_timeout_failure_and_required, test_archive])
finally:
    ENV.cleanup()
    for d in TEMP_DIRS:
        rt.rmtree(d)
