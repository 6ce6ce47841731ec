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
CLIENT = os.path.join(BUILD, "client", "retrace-client")
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
        crashing = rt.crashing_thread_block(out)
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


def test_fast_task_seen_quickly():
    """Without --status-delay the client polls from 0.25 s doubling: a task of a few seconds is seen
    about when it finishes, not at the next 10 s poll."""
    import json
    import time
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        env = dict(os.environ, RETRACE_SERVER_URI=srv.base_url)
        env.pop("ABRT_STATUS_DELAY", None)
        start = time.monotonic()
        r = subprocess.run([CLIENT, "batch", "--dir", os.path.join(TOS, "crashes", "r1-null")],
                           capture_output=True, text=True, env=env, timeout=300)
        elapsed = time.monotonic() - start
        rt.check(r.returncode == 0, f"batch failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        task = r.stdout.split("Task Id: ")[1].split()[0]
        password = r.stdout.split("Task Password: ")[1].split()[0]
        st, _, body = rt.http_get(f"{srv.base_url}{task}/status", {"X-Task-Password": password})
        info = json.loads(body)
        took = info["finished"] - info["created"]
        # the poll after the finish comes at most one interval (≤ the time waited so far) later
        rt.check(elapsed <= 2 * took + 2.5 and (took > 4 or elapsed < 9.5),
                 f"the client took {elapsed:.1f} s for a task of {took} s")
        print(f"   task took {took} s, the client {elapsed:.1f} s")


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


COREDUMPCTL = """#!/usr/bin/env python3
# Serves one exported systemd-coredump entry: `info` prints its metadata, `dump --output=F` its core.
import os, shutil, sys
fixture = os.environ["COREDUMP_FIXTURE"]
args = sys.argv[1:]
if args[-1] != "crashy":
    print(f"No coredumps found.", file=sys.stderr)
    sys.exit(1)
if args[0] == "info":
    sys.stdout.write(open(os.path.join(fixture, "info.txt")).read())
elif args[0] == "dump":
    out = next(a.split("=", 1)[1] for a in args if a.startswith("--output="))
    shutil.copy(os.path.join(fixture, "core"), out)
"""


def test_batch_coredumpctl_entry():
    """An entry of systemd-coredump, through `coredumpctl info` and `coredumpctl dump`: a fixture of
    what they print for a TestOS crash stands in for a journal that has the entry."""
    c = crash("r1-null")
    tmp = tempfile.mkdtemp(prefix="test-client-")
    try:
        fixture = os.path.join(tmp, "fixture")
        os.makedirs(fixture)
        shutil.copy(os.path.join(TOS, "crashes", c["name"], "coredump"), os.path.join(fixture, "core"))
        name, ver, rel = c["package"].rsplit("-", 2)
        with open(os.path.join(fixture, "info.txt"), "w") as f:
            f.write(f"           PID: 4242 (crashy)\n           UID: 1000 (user)\n        Signal: 11 (SEGV)\n"
                    f"  Command Line: {c['executable']} null\n    Executable: {c['executable']}\n"
                    f"       Package: {name}/{ver}-{rel}\n"
                    f"       Storage: /var/lib/systemd/coredump/core.crashy.1000.zst (present)\n"
                    f"       Message: Process 4242 (crashy) of user 1000 dumped core.\n")
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir)
        with open(os.path.join(bindir, "coredumpctl"), "w") as f:
            f.write(COREDUMPCTL)
        os.chmod(os.path.join(bindir, "coredumpctl"), 0o755)
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            env = dict(os.environ, RETRACE_SERVER_URI=srv.base_url, COREDUMP_FIXTURE=fixture,
                       PATH=bindir + ":" + os.environ["PATH"])
            r = subprocess.run([CLIENT, "--status-delay", "0", "batch", "--coredumpctl", "crashy", "--os-release",
                                MANIFEST["releases"][c["release"]]["os_release"]],
                               capture_output=True, text=True, env=env, timeout=300)
            rt.check(r.returncode == 0, f"({r.returncode})\n{r.stdout}\n{r.stderr}")
            top = c["frames"][0]
            rt.check(f"{top['function']} (" in r.stdout and f"{top['file']}:{top['line']}" in r.stdout, r.stdout)
            r = subprocess.run([CLIENT, "batch", "--coredumpctl", "nosuchprogram"], capture_output=True, text=True,
                               env=env, timeout=60)
            rt.check(r.returncode == 1 and "coredumpctl info nosuchprogram failed" in r.stderr, r.stderr)
    finally:
        shutil.rmtree(tmp)


def test_https_and_insecure():
    import ssl
    rt.require_tool("openssl")
    tmp = tempfile.mkdtemp(prefix="test-client-")
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cert)
        ctx.check_hostname = False
        ENV.set_keys(TLSCertificate=cert, TLSKey=key)
        with ENV.server(ssl_context=ctx) as srv:
            srv.start(ready_path="settings")
            d = os.path.join(TOS, "crashes", "r2-cxx")
            r = client(srv, "create", "--dir", d)
            rt.check(r.returncode == 1 and "certificate" in r.stderr.lower(),
                     f"a self-signed certificate was accepted: ({r.returncode}) {r.stderr}")
            r = client(srv, "--insecure", "batch", "--dir", d)
            rt.check(r.returncode == 0 and "Retrace job finished successfully" in r.stdout, r.stdout + r.stderr)
            r = subprocess.run([CLIENT, "create", "--dir", d], capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, RETRACE_SERVER_URI=srv.base_url, RETRACE_SERVER_INSECURE="1"))
            rt.check(r.returncode == 0, f"RETRACE_SERVER_INSECURE=1: ({r.returncode}) {r.stderr}")
    finally:
        ENV.set_keys()
        shutil.rmtree(tmp)


try:
    rt.run_tests([test_fast_task_seen_quickly, test_batch_coredumpctl_entry, test_https_and_insecure, test_batch_problem_directory_and_task_commands, test_batch_bare_core, test_progress_on_a_terminal,
                  test_failure_prints_the_log, test_unsupported_release_is_refused])
finally:
    ENV.cleanup()
