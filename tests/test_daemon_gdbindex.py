#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gdb indexes (CacheGdbIndex): the first task of a crash builds, with the release's gdb in the
sandbox, an index for each of its modules' debug files that has no .gdb_index/.debug_names, stored
as CacheDir/gdb-index/<build-id>.gdb-index (the package's objects untouched: verify passes); the
next task's gdb reads them from its index cache (its "[index-cache]" debug lines, counted in the
log: every index tried was found). A debug file with a dwz alt file (Mosaic's release 10) gets the
alt file's index too, named by the alt file's build-id, and gdb reads both. With CacheGdbIndex = no
nothing is built or bound."""

import os
import re

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, wait_finished

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


def test_indexes_built_once_and_read_by_later_tasks():
    env = DaemonEnv(releases=(CRASH["release"],), CachePrefetch="none", ReuseIdenticalUploads="no")
    try:
        archive = os.path.join(TOS, "crashes", CRASH["name"] + ".tar.xz")
        index_dir = os.path.join(env.cache_dir, "gdb-index")
        with env.server() as srv:
            srv.start(ready_path="settings")
            status, log = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log}")
            m = re.search(r"gdb indexes: built (\d+) of (\d+) for debug files without", log)
            rt.check(m and int(m.group(1)) == int(m.group(2)) and int(m.group(1)) > 0,
                     f"no index built (the fixture's debug files should lack one):\n{log}")
            built = int(m.group(1))
            files = sorted(os.listdir(index_dir))
            ids = {b["build_id"] for b in CRASH["build_ids"]}
            rt.check(len(files) == built and all(f.endswith(".gdb-index") and f[:-10] in ids for f in files),
                     f"{files} vs the core's build-ids {ids}")
            rt.check(all(os.path.getsize(os.path.join(index_dir, f)) > 0 for f in files), "empty index")

            status, log2 = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log2}")
            rt.check("gdb indexes: built" not in log2, f"built again:\n{log2}")
            m = re.search(r"gdb read (\d+) indexes from the index cache \((\d+) debug files had none there\)",
                          log2)
            rt.check(m and int(m.group(1)) >= built and int(m.group(2)) == 0,
                     f"gdb did not read the indexes from the cache:\n{log2}")
        rt.check("0 bad" in env.cache("verify").stdout, "the package objects changed")
    finally:
        env.cleanup()


MOSAIC = os.environ.get("RETRACE_MOSAIC_DIR", "")


def test_dwz_indexes():
    """Mosaic 10 runs dwz: every debug file of m10-wheel has a .gnu_debugaltlink."""
    import json
    if not os.path.isfile(os.path.join(MOSAIC, "manifest.json")):
        rt.fail(f"Mosaic is not built in {MOSAIC!r} (meson target mosaic)")
    with open(os.path.join(MOSAIC, "manifest.json")) as f:
        crash = next(c for c in json.load(f)["crashes"] if c["name"] == "m10-wheel")
    env = DaemonEnv(CachePrefetch="none", ReuseIdenticalUploads="no")
    try:
        with open(os.path.join(MOSAIC, "plugins", "mosaic.conf")) as f:
            text = f.read()
        text = re.sub(r"^(\s*mirrors\s*=\s*)\.\./", rf"\1file://{MOSAIC}/", text, flags=re.M)
        with open(os.path.join(env.plugins, "mosaic.conf"), "w") as f:
            f.write(text)
        env.sync("10", name="mosaic")
        archive = os.path.join(MOSAIC, "crashes", crash["name"] + ".tar.xz")
        index_dir = os.path.join(env.cache_dir, "gdb-index")
        with env.server() as srv:
            srv.start(ready_path="settings")
            status, log = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log}")
            m = re.search(r"gdb indexes: built (\d+) of (\d+) for debug files without .*\((\d+) of them with a dwz",
                          log)
            rt.check(m and int(m.group(1)) == int(m.group(2)) and int(m.group(3)) > 0,
                     f"no index built for the debug files with dwz alt files:\n{log}")
            built, with_dwz = int(m.group(1)), int(m.group(3))
            names = {f[:-len(".gdb-index")] for f in os.listdir(index_dir)}
            ids = {mod["build_id"] for mod in crash["modules"]}
            # one per debug file built (the system libraries' too) plus one per distinct alt file
            rt.check(ids <= names and len(names) > built,
                     f"expected the debug files' indexes and at least one alt file's: {names} vs {ids}, {built} built")
            status, log2 = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log2}")
            rt.check("gdb indexes: built" not in log2, f"built again:\n{log2}")
            m = re.search(r"gdb read (\d+) indexes from the index cache \((\d+) debug files had none there\)", log2)
            rt.check(m and int(m.group(1)) >= built + with_dwz and int(m.group(2)) == 0,
                     f"gdb did not read the debug files' and the alt files' indexes:\n{log2}")
        rt.check("0 bad" in env.cache("verify").stdout, "the package objects changed")
    finally:
        env.cleanup()


def test_off():
    env = DaemonEnv(releases=(CRASH["release"],), CachePrefetch="none", ReuseIdenticalUploads="no", CacheGdbIndex="no")
    try:
        archive = os.path.join(TOS, "crashes", CRASH["name"] + ".tar.xz")
        with env.server() as srv:
            srv.start(ready_path="settings")
            status, log = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log}")
            rt.check("gdb indexes" not in log and "index cache" not in log, log)
        rt.check(not os.path.exists(os.path.join(env.cache_dir, "gdb-index")), "gdb-index made anyway")
    finally:
        env.cleanup()


if __name__ == "__main__":
    rt.run_tests([test_indexes_built_once_and_read_by_later_tasks, test_dwz_indexes, test_off])
