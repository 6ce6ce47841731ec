#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""retrace-client against a real daemon with TestOS: batch on a problem directory and on a bare core,
the task commands, the upload progress on a terminal, the failure path (the log, exit status 1) and
the refusal of a release the server does not support."""

import os
import shutil
import subprocess
import tempfile

import retrace_test as rt
from daemon_helpers import DaemonEnv

BUILD = os.environ["RETRACE_BUILD_DIR"]
CLIENT = os.path.join(BUILD, "daemon", "retrace-client")
TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
ENV = DaemonEnv(releases=tuple(MANIFEST["releases"]))


def client(srv, *args, **kw):
    env = dict(os.environ, RETRACE_SERVER_URI=srv.base_url)
    return subprocess.run([CLIENT, "--status-delay", "0", *args], capture_output=True, text=True, env=env,
                          timeout=300, **kw)


def crash(name):
    return next(c for c in MANIFEST["crashes"] if c["name"] == name)


def test_batch_problem_directory_and_task_commands():
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        c = crash("r2-threads")
        r = client(srv, "batch", "--dir", os.path.join(TOS, "crashes", c["name"]))
        rt.check(r.returncode == 0, f"batch failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        out = r.stdout
        rt.check("Retrace job finished successfully" in out, out)
        crashing = out.split("Crashing thread:", 1)[1].split("All threads:", 1)[0]
        for frame in c["frames"]:
            rt.check(f"{frame['function']} (" in crashing and f"{frame['file']}:{frame['line']}" in crashing,
                     f"frame {frame} missing:\n{crashing}")
        rt.check("Exploitable rating (0-9 scale): " in out, out)
        task = out.split("Task Id: ")[1].split()[0]
        password = out.split("Task Password: ")[1].split()[0]
        st = client(srv, "status", "--task", task, "--password", password)
        rt.check(st.returncode == 0 and st.stdout.startswith("FINISHED_SUCCESS\n"), st.stdout + st.stderr)
        log = client(srv, "log", "--task", task, "--password", password)
        rt.check(log.returncode == 0 and "Retrace took" in log.stdout, log.stdout + log.stderr)
        bad = client(srv, "backtrace", "--task", task, "--password", "wrong")
        rt.check(bad.returncode == 1 and "403" in bad.stderr, bad.stderr)


def test_batch_bare_core():
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        c = crash("r1-null")
        d = os.path.join(TOS, "crashes", c["name"])
        r = client(srv, "batch", "--core", os.path.join(d, "coredump"), "--executable", c["executable"],
                   "--package", c["package"], "--os-release", MANIFEST["releases"][c["release"]]["os_release"])
        rt.check(r.returncode == 0, f"batch failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        top = c["frames"][0]
        rt.check(f"{top['function']} (" in r.stdout and f"{top['file']}:{top['line']}" in r.stdout, r.stdout)


def test_progress_on_a_terminal():
    rt.require_tool("script")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        d = os.path.join(TOS, "crashes", "r1-abort")
        cmd = f"RETRACE_SERVER_URI={srv.base_url} {CLIENT} --status-delay 0 create --dir {d}"
        r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=120)
        rt.check(r.returncode == 0, f"({r.returncode}) {r.stdout}")
        rt.check("Uploading: 100%" in r.stdout and "MiB" in r.stdout, f"no progress bar on a terminal:\n{r.stdout}")
        quiet = client(srv, "create", "--dir", d)
        rt.check(quiet.returncode == 0 and "Uploading" not in quiet.stderr + quiet.stdout,
                 "progress printed without a terminal")


def test_failure_prints_the_log():
    tmp = tempfile.mkdtemp(prefix="test-client-")
    try:
        d = os.path.join(tmp, "broken")
        shutil.copytree(os.path.join(TOS, "crashes", "r1-null"), d)
        with open(os.path.join(d, "coredump"), "wb") as f:
            f.write(b"this is not a core file\n")
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            r = client(srv, "batch", "--dir", d)
            rt.check(r.returncode == 1, f"exit {r.returncode}")
            rt.check("Retrace job failed" in r.stdout, r.stdout)
            rt.check("[E] The file 'coredump' is not an ELF core file" in r.stderr, r.stderr)
    finally:
        shutil.rmtree(tmp)


def test_unsupported_release_is_refused():
    tmp = tempfile.mkdtemp(prefix="test-client-")
    try:
        d = os.path.join(tmp, "plan9")
        shutil.copytree(os.path.join(TOS, "crashes", "r1-null"), d)
        os.remove(os.path.join(d, "os_info"))
        with open(os.path.join(d, "os_release"), "w") as f:
            f.write("Plan 9 release 4 (Labs)\n")
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            r = client(srv, "batch", "--dir", d)
            rt.check(r.returncode == 1 and "Release plan-9-4-x86_64 is not supported by the server" in r.stderr,
                     f"({r.returncode}) {r.stderr}")
            rt.check("Task Id" not in r.stdout, "a task was created for an unsupported release")
            r = client(srv, "batch", "--core", os.path.join(d, "coredump"), "--executable", "/usr/bin/crashy",
                       "--package", "crashy-9.9-9.tos1", "--os-release", "TestOS release 1 (Amber)")
            rt.check(r.returncode == 1 and "does not know package crashy-9.9-9.tos1" in r.stderr,
                     f"unknown package: ({r.returncode}) {r.stderr}")
    finally:
        shutil.rmtree(tmp)


try:
    rt.run_tests([test_batch_problem_directory_and_task_commands, test_batch_bare_core, test_progress_on_a_terminal,
                  test_failure_prints_the_log, test_unsupported_release_is_refused])
finally:
    ENV.cleanup()
