#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A full disk: retrace-server-reposync runs in a user and mount namespace with RepoDir and CacheDir
on small tmpfs mounts, so the sync runs out of space (first RepoDir during a download, then CacheDir
during an import). It must stop with a message naming the package and
"No space left on device", leave nothing half-written (no partial RPM in packages/, no staging
leftovers, every object in objects/ recorded in the index and intact: `verify` passes), and the same
sync completes once the tmpfs has room."""

import ctypes
import glob
import hashlib
import os
import subprocess
import sys

import retrace_test as rt
from rpmcache_helpers import CACHE, REPOSYNC, Env, sync_summary

RELEASE = "testos-1-x86_64"


def run(env, argv):
    return subprocess.run(argv, env=env.env(), capture_output=True, text=True, timeout=600)


def check_nothing_half_written(env):
    staging = os.listdir(os.path.join(env.cache_dir, "tmp"))
    rt.check(staging == [], f"staging leftovers: {staging}")
    tmp = os.path.join(env.repo_dir, "tmp", RELEASE)
    rt.check(not os.path.exists(tmp) or os.listdir(tmp) == [], f"download leftovers in {tmp}")
    for rpm in glob.glob(os.path.join(env.repo_dir, "packages", "*", "*.rpm")):
        h = hashlib.sha256(open(rpm, "rb").read()).hexdigest()
        rt.check(os.path.basename(rpm) == h + ".rpm", f"partial RPM in the store: {rpm}")
    objects = glob.glob(os.path.join(env.cache_dir, "objects", "*", "*", "*"))
    st = env.stats()
    rt.check(len(objects) == int(st["objects"]), f"{len(objects)} objects on disk, {st['objects']} in the index")
    v = run(env, [CACHE, "verify"])
    rt.check(v.returncode == 0 and "0 bad" in v.stdout, f"verify after the full disk:\n{v.stdout}{v.stderr}")
    return len(objects)


def sync_out_of_space(env, nevras, where):
    r = run(env, [REPOSYNC, "testos", "1", "x86_64"])
    rt.check(r.returncode == 1, f"a sync with a full {where} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    rt.check("No space left on device" in r.stderr and "stopped" in r.stderr, r.stderr)
    named = [line for line in r.stderr.splitlines()
             if "No space left on device" in line and any(n in line for n in nevras)]
    rt.check(named, f"no message names the package that did not fit:\n{r.stderr}")
    s = sync_summary(r.stdout)
    rt.check(s["listed"] > s["new"], f"everything fitted, the tmpfs is too large: {s}")
    n = check_nothing_half_written(env)
    reason = named[0].split(": ", 1)[1][-150:]
    print(f"   full {where}: {s['downloaded']} downloaded, {s['new']} imported, then stopped: "
          f"...{reason}; {n} objects intact, nothing staged or partial", flush=True)
    return s


def remount_size(path, size):
    """Changes a tmpfs's size with mount(2) itself: util-linux's mount refuses a remount in a user
    namespace when it is not run by real root ("mount point not mounted or bad option")."""
    libc = ctypes.CDLL(None, use_errno=True)
    MS_REMOUNT = 32
    if libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_REMOUNT, f"size={size}".encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"remount {path} size={size}: {os.strerror(err)}")


def inside(space):
    """Runs as root of a fresh user and mount namespace: RepoDir and CacheDir each on a tmpfs."""
    env = Env()
    repo, cache = os.path.join(space, "repo"), os.path.join(space, "cache")
    mounted = []
    try:
        for d, size in ((repo, "20m"), (cache, "1g")):
            os.makedirs(d)
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", d], check=True)
            mounted.append(d)
        with open(env.config, "w") as f:
            f.write(f"[retrace]\nRepoDir = {repo}\nCacheDir = {cache}\nPluginDir = plugins\nSyncTimeout = 10\n")
        env.repo_dir, env.cache_dir = repo, cache
        packages = [p for p in rt.testos_manifest()["packages"] if p["dist_release"] == "1"]
        nevras = [os.path.basename(p["file"])[: -len(".rpm")] for p in packages]

        # RepoDir fills up during a download; then CacheDir fills up during an import.
        imported = sync_out_of_space(env, nevras, "RepoDir")["new"]
        remount_size(repo, "1g")
        used = os.statvfs(cache)
        used = (used.f_blocks - used.f_bfree) * used.f_frsize
        remount_size(cache, used + 6 * 1024 * 1024)
        imported += sync_out_of_space(env, nevras, "CacheDir")["new"]

        # With room, the same sync completes.
        remount_size(cache, "1g")
        r = run(env, [REPOSYNC, "testos", "1", "x86_64"])
        rt.check(r.returncode == 0, f"sync with room exited {r.returncode}:\n{r.stdout}{r.stderr}")
        s = sync_summary(r.stdout)
        rt.check(s["refused"] == 0 and imported + s["new"] == len(packages), f"{imported} + {s}")
        rt.check(int(env.stats()["packages"]) == len(packages), f"{env.stats()}")
        n = check_nothing_half_written(env)
        print(f"   with room: {s['new']} more imported, {len(packages)} packages, {n} objects, verify passes")
    finally:
        for d in reversed(mounted):
            subprocess.run(["umount", d])
        env.cleanup()


def test_full_disk():
    rt.require_userns()
    rt.require_tool("unshare", "mount")
    space = os.path.join(Env().dir, "space")  # an Env dir is a convenient private temp dir
    os.makedirs(space)
    try:
        r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", sys.executable, __file__,
                            "--inside", space], timeout=900)
        rt.check(r.returncode == 0, f"the test inside the namespace failed (exit {r.returncode})")
    finally:
        rt.rmtree(os.path.dirname(space))


if len(sys.argv) > 2 and sys.argv[1] == "--inside":
    print("== test_full_disk (inside a user and mount namespace)", flush=True)
    inside(sys.argv[2])
else:
    rt.run_tests([test_full_disk])
