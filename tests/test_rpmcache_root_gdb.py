#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A root assembled by retrace-server-cache (crash packages from the build-id lookups, plus
--with-debugger) runs gdb with the expected backtrace for every TestOS crash; assembling the same
set again reuses the root. Entered through an unprivileged user namespace (the sandbox will take
this over)."""

import os
import re

import retrace_test as rt
from rpmcache_helpers import Env, sync_summary

rt.require_tool("unshare")
rt.require_userns()
MANIFEST = rt.testos_manifest()
TOS = rt.testos_dir()
FRAME = re.compile(r"^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S+?) \(.*?\)(?: at (\S+):(\d+)| from (\S+))?\s*$")


def frames_of(text):
    out = []
    for line in text.splitlines():
        m = FRAME.match(line)
        if m:
            out.append((m.group(2), os.path.basename(m.group(3)) if m.group(3) else None,
                        int(m.group(4)) if m.group(4) else None))
    return out


def in_order(frames, expected):
    want = [(e["function"], e["file"], e["line"]) for e in expected]
    i = 0
    for f in frames:
        if i < len(want) and f == want[i]:
            i += 1
    return i == len(want)


def packages_for(env, crash):
    """What the daemon will do: the packages providing each build-id of the core."""
    pkgs = set()
    for b in crash["build_ids"]:
        r = env.cache("lookup", "--release", crash["release_id"], b["build_id"], ok=(0, 1))
        for line in r.stdout.splitlines():
            pkgs.add(line.split()[2])
    # Libraries without build-id links in TestOS (libstdc++, libgcc_s) come from the crash's list.
    pkgs.update(p for p in crash["packages"] if p.startswith("libstdc++"))
    return sorted(pkgs)


def test_assembled_roots_run_gdb():
    env = Env()
    try:
        for version in MANIFEST["releases"]:
            rt.check(sync_summary(env.sync(version).stdout)["refused"] == 0, "sync refused packages")
        for crash in MANIFEST["crashes"]:
            pkgs = packages_for(env, crash)
            r = env.cache("assemble", crash["release_id"], *pkgs, "--with-debugger")
            root = r.stdout.strip()
            rt.check(os.path.isfile(os.path.join(root, "usr", "bin", "gdb")), f"no gdb in {root}")
            again = env.cache("assemble", crash["release_id"], *reversed(pkgs), "--with-debugger")
            rt.check(again.stdout.strip() == root and "reused" in again.stderr, again.stderr)
            g = rt.run_in_root(root, ["/usr/bin/gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "bt 200",
                                      crash["executable"], "/crash/coredump"],
                               binds=[(os.path.join(TOS, "crashes", crash["name"]), "/crash")], timeout=300)
            rt.check(g.returncode == 0, f"gdb failed in {root}:\n{g.stdout}\n{g.stderr}")
            frames = frames_of(g.stdout)
            rt.check(in_order(frames, crash["frames"]),
                     f"{crash['name']}: expected frames {crash['frames']} missing from:\n{g.stdout}\n{g.stderr}")
            ms = re.search(r"in ([0-9.]+) ms", r.stderr)
            print(f"   {crash['name']}: {len(pkgs)} packages + debugger, built in {ms.group(1) if ms else '?'} ms, "
                  f"{len(frames)} frames as expected")
    finally:
        env.cleanup()


rt.run_tests([test_assembled_roots_run_gdb])
