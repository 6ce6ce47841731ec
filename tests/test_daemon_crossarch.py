#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Cores of other architectures (TestOS's aarch64 and s390x builds, crashed under qemu-user) retraced
on this x86_64 server through the API: the release comes from the core's ELF header, the root holds
the crash's packages in a sysroot and the plugin's gdb_foreign_package (TestOS's gdb-multiarch) of the
x86_64 release beside them; the crashing thread has the right functions, files and lines. /settings
lists a foreign release only once the x86_64 release with its debugger is synced too; until then a
task says which release to sync."""

import json
import os
import re

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, tar_of, wait_finished
from rpmcache_helpers import REPOSYNC

TOS = rt.testos_dir()
path = os.path.join(TOS, "manifest-crossarch.json")
if not os.path.isfile(path):
    rt.fail(f"{path} is missing: the test distribution lacks its foreign architectures (tests/testos/crossarch.py)")
with open(path) as f:
    CROSS = json.load(f)
HOST = CROSS["host_arch"]


def frames_of(section):
    import re
    out = []
    for line in section.splitlines():
        m = re.match(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+?) \(.*\)(?: at (\S+):(\d+))?", line)
        if m:
            out.append((m.group(1), os.path.basename(m.group(2)) if m.group(2) else None,
                        int(m.group(3)) if m.group(3) else None))
    return out


def make_env():
    env = DaemonEnv()
    mirrors = {"testos": [f"file://{TOS}/repos/$VER/$ARCH/os"],
               "testos-debuginfo": [f"file://{TOS}/repos/$VER/$ARCH/debug"],
               "testos-multiarch": [f"file://{TOS}/repos/$VER/$ARCH/multiarch"]}
    env.write_plugin("testos", mirrors, f"gdb_foreign_package = {CROSS['debugger']['package']}\n"
                                        f"gdb_foreign_executable = {CROSS['debugger']['executable']}\n")
    return env


def sync(env, version, arch):
    r = env.run([REPOSYNC, "testos", version, arch])
    return r.stdout + r.stderr


def settings(srv):
    st, _, body = rt.http_get(srv.base_url + "settings")
    rt.check(st == 200, f"/settings: {st}")
    line = next((ln for ln in body.decode().splitlines() if ln.startswith("supported_releases")), "")
    return line.split()[1:]


def upload(srv, crash, with_packages=True):
    """Uploads the crash as ABRT's client does (without the 'packages' file: the root then gets glibc
    from what the crash's packages require), or with it."""
    d = os.path.join(TOS, "crashes-foreign", crash["name"])
    names = [n for n in crash["upload_files"] if with_packages or n != "packages"]
    members = []
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            members.append((n, f.read()))
    st, h, body = post(srv.port, tar_of(members))
    rt.check(st == 201, f"{crash['name']}: {st} {body!r}")
    status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
    res = {}
    for what in ("backtrace", "log", "backtrace.json"):
        code, _, b = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/{what}", {"X-Task-Password": h["X-Task-Password"]})
        res[what] = b.decode(errors="replace") if code == 200 else None
    return status, res


def in_order(frames, expected):
    i = 0
    for f in frames:
        if f == (expected[i]["function"], expected[i]["file"], expected[i]["line"]):
            i += 1
            if i == len(expected):
                return True
    return False


def test_foreign_cores():
    env = make_env()
    try:
        for arch in CROSS["arches"]:
            out = sync(env, "1", arch)
            # the prefetch of a foreign release is the host release's foreign debugger, not synced yet
            rt.check(f"The debugger package {CROSS['debugger']['package']} for {arch} cores is not in "
                     f"testos-1-{HOST}" in out and f"retrace-server-reposync testos 1 {HOST}" in out, out)
        with env.server() as srv:
            srv.start(ready_path="settings")
            listed = settings(srv)
            for arch, a in CROSS["arches"].items():
                rt.check(a["release_id"] not in listed,
                         f"{a['release_id']} listed without the {HOST} release's debugger: {listed}")
            crash = CROSS["crashes"][0]
            status, res = upload(srv, crash)
            rt.check(status == "FINISHED_FAILURE", f"{crash['name']} without the debugger's release: {status}")
            rt.check(f"retrace-server-reposync testos 1 {HOST}" in res["log"], res["log"])
            print(f"   without testos-1-{HOST}: refused, the log names the reposync to run")
        sync(env, "1", HOST)
        with env.server() as srv:
            srv.start(ready_path="settings")
            listed = settings(srv)
            for arch, a in CROSS["arches"].items():
                rt.check(a["release_id"] in listed, f"{a['release_id']} not in /settings: {listed}")
            rt.check(f"testos-1-{HOST}" in listed and f"testos-2-{HOST}" not in listed, listed)
            print(f"   /settings: {' '.join(listed)}")
            for i, crash in enumerate(CROSS["crashes"]):
                status, res = upload(srv, crash, with_packages=i % 2 == 0)
                log = res["log"] or ""
                rt.check(status == "FINISHED_SUCCESS", f"{crash['name']}: {status}\n{log}")
                rt.check(f"Release: {crash['release_id']}" in log, f"{crash['name']}: release\n{log}")
                rt.check(f"Core: {crash['arch']}," in log, f"{crash['name']}: core architecture\n{log}")
                rt.check(CROSS["debugger"]["package"] in log and "/sysroot" in log, log)
                # qemu-user's core has no build-id of glibc: the link map names it, its path finds the
                # package, the packaged file's build-id the debuginfo
                rt.check(re.search(r"Module /\S+/libc\.so\.6 \(build-id none\): binary glibc-\S+ .*"
                                   r"debuginfo glibc-debuginfo-", log), f"{crash['name']}: glibc\n{log}")
                bt = res["backtrace"]
                crashing = rt.crashing_thread_block(bt)
                frames = frames_of(crashing)
                rt.check(in_order(frames, crash["frames"]),
                         f"{crash['name']}: expected {crash['frames']}\nin the crashing thread:\n{crashing}\n{log}")
                doc = json.loads(res["backtrace.json"])
                jthread = [t for t in doc["threads"] if t["crashing"]][0]
                jframes = [(f["function"], f["file"] and os.path.basename(f["file"]), f["line"])
                           for f in jthread["frames"]]
                rt.check(in_order(jframes, crash["frames"]), f"{crash['name']}: backtrace.json {jframes}")
                rt.check(doc["signal_name"] == crash["signal"], f"{crash['name']}: {doc['signal_name']}")
                print(f"   {crash['name']} ({'with' if i % 2 == 0 else 'without'} 'packages'): {len(frames)} frames, "
                      f"{' ← '.join(f[0] for f in frames[:len(crash['frames'])])}")
    finally:
        env.cleanup()


rt.run_tests([test_foreign_cores])
