#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""retrace-server-reposync and retrace-server-cache on TestOS: file:// and http:// mirrors, a second
sync that downloads nothing, an rsync:// mirror (a real rsync daemon), a dead and a garbage first
mirror, versions kept after the repository drops one, deduplication, build-id lookups for every
binary of every crash, N-V-R queries, the debugger closure, verify and gc."""

import glob
import os
import socket
import signal
import re
import shutil
import subprocess
import sys
import tempfile
import time

import retrace_test as rt
from rpmcache_helpers import Env, sync_summary

rt.require_tool("createrepo_c", "python3", "rsync")
TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()


def count_rpms(env):
    return len(glob.glob(os.path.join(env.repo_dir, "packages", "*", "*.rpm")))


def test_file_sync_and_queries():
    env = Env()
    try:
        total = 0
        for version in MANIFEST["releases"]:
            s = sync_summary(env.sync(version).stdout)
            expected = len([p for p in MANIFEST["packages"] if p["dist_release"] == version])
            rt.check(s["listed"] == expected and s["downloaded"] == expected and s["refused"] == 0, f"{version}: {s}")
            total += expected
        rt.check(count_rpms(env) == total, f"{count_rpms(env)} RPMs stored, expected {total}")

        # A second sync downloads nothing and changes nothing.
        before = sorted(os.listdir(os.path.join(env.repo_dir, "packages")))
        for version in MANIFEST["releases"]:
            s = sync_summary(env.sync(version).stdout)
            rt.check(s["downloaded"] == 0 and s["new"] == 0, f"second sync of {version} was not a no-op: {s}")
        rt.check(sorted(os.listdir(os.path.join(env.repo_dir, "packages"))) == before, "second sync changed the store")

        # Identical files across versions and releases are stored once.
        st = env.stats()
        print(f"   {int(st['packages'])} packages, {int(st['package-files'])} files "
              f"({int(st['package-file-bytes'])} bytes) stored as {int(st['objects'])} objects "
              f"({int(st['object-bytes-unique'])} bytes): dedup ratio {st['dedup-ratio']:.2f}")
        rt.check(st["objects"] < st["package-files"] and st["dedup-ratio"] > 1.5, f"no deduplication: {st}")
        objects = [p for p in glob.glob(os.path.join(env.cache_dir, "objects", "*", "*", "*"))]
        rt.check(len(objects) == int(st["objects"]), "objects on disk differ from stats")
        rt.check(all(rt.file_mode_is_readonly(p) for p in objects), "an object is writable")
        rt.check(not any(os.stat(p).st_mode & 0o6000 for p in objects), "an object keeps setuid/setgid")

        # Build-id lookups for every binary of every crash that TestOS ships with build-id links: the
        # binary package always, the debuginfo package where TestOS has one (libstdc++ has none).
        listing = subprocess.run(["rpm", "-qpl"] + [os.path.join(TOS, p["file"]) for p in MANIFEST["packages"]],
                                 capture_output=True, text=True, check=True).stdout
        shipped = set(re.findall(r"/\.build-id/([0-9a-f]{2})/([0-9a-f]+)", listing))
        shipped = {a + b for a, b in shipped}
        with_debuginfo = {a + b for a, b in re.findall(r"/usr/lib/debug/\.build-id/([0-9a-f]{2})/([0-9a-f]+)", listing)}
        checked = set()
        for crash in MANIFEST["crashes"]:
            for b in crash["build_ids"]:
                if b["build_id"] not in shipped:
                    continue
                checked.add(os.path.basename(b["name"]))
                out = env.cache("lookup", "--release", crash["release_id"], b["build_id"]).stdout
                kinds = {line.split()[1]: line.split()[2] for line in out.splitlines()}
                rt.check("binary" in kinds and ("debuginfo" in kinds or b["build_id"] not in with_debuginfo),
                         f"{crash['name']}: {b['name']} {b['build_id']}: lookup gave\n{out}")
                rt.check("debuginfo" not in kinds or
                         kinds["debuginfo"].rsplit("-", 2)[1:] == kinds["binary"].rsplit("-", 2)[1:],
                         f"debuginfo and binary packages are not of the same version: {kinds}")
                if b["name"].startswith("/usr/"):
                    rt.check(kinds["binary"] in crash["packages"],
                             f"{b['name']}: lookup says {kinds['binary']}, the crash ran with {crash['packages']}")
        rt.check({"crashy", "libtoken.so.1.0", "libparse.so.1.0", "libc.so.6", "ld-linux-x86-64.so.2"} <= checked,
                 f"build-ids checked only for {checked}")
        print(f"   build-id lookups: {len(checked)} binaries ({', '.join(sorted(checked))})")
        r = env.cache("lookup", "00deadbeef00", ok=(1,))
        rt.check("sync the release" in r.stderr, r.stderr)

        # N-V-R queries (for /checkpackage).
        crash = MANIFEST["crashes"][0]
        nvr = crash["package"]
        rt.check(env.cache("known", "--release", crash["release_id"], nvr).stdout.strip() == "known", nvr)
        rt.check(env.cache("known", nvr).stdout.strip() == "known", nvr)
        other = next(c["release_id"] for c in MANIFEST["crashes"] if c["release_id"] != crash["release_id"])
        rt.check(env.cache("known", "--release", other, nvr, ok=(1,)).stdout.strip() == "unknown", nvr)
        rt.check(env.cache("known", "--arch", "x86_64", nvr).returncode == 0, nvr)
        rt.check(env.cache("known", "--arch", "s390x", nvr, ok=(1,)).returncode == 1, nvr)

        # The debugger closure: gdb and everything it needs, within the release.
        out = env.cache("closure", crash["release_id"]).stdout.split()
        names = {n.rsplit("-", 2)[0] for n in out}
        rt.check({"gdb", "glibc", "python3-libs", "libstdc++"} <= names, f"closure: {out}")
        rt.check(all(n.endswith(".tos" + crash["release"] + ".x86_64") for n in out), f"closure left the release: {out}")

        # A sync indexes; with CachePrefetch = debugger (the default) only gdb's closure is extracted,
        # and lookups extracted the packages whose files they read.
        st = env.stats()
        rt.check(0 < int(st["packages-extracted"]) < int(st["packages"]) and
                 int(st["packages-indexed-only"]) == int(st["packages"]) - int(st["packages-extracted"]),
                 f"extracted vs indexed: {st}")
        objects = [p for p in glob.glob(os.path.join(env.cache_dir, "objects", "*", "*", "*"))]

        # verify passes, notices a damaged object; gc keeps referenced objects.
        rt.check("0 bad" in env.cache("verify").stdout, "verify failed on a fresh cache")
        victim = sorted(objects)[0]
        os.chmod(victim, 0o644)
        with open(victim, "ab") as f:
            f.write(b"x")
        os.chmod(victim, 0o444)
        r = env.cache("verify", ok=(1,))
        rt.check("1 bad" in r.stdout and os.path.basename(victim) in r.stderr, r.stdout + r.stderr)
        stray = os.path.join(env.cache_dir, "objects", "sha256", "00", "stray-444")
        os.makedirs(os.path.dirname(stray), exist_ok=True)
        open(stray, "w").close()
        out = env.cache("gc").stdout
        rt.check(out.startswith("removed 1 objects") and not os.path.exists(stray), out)
        rt.check(len(glob.glob(os.path.join(env.cache_dir, "objects", "*", "*", "*"))) == len(objects), "gc removed too much")
    finally:
        env.cleanup()


def test_http_sync_dead_and_garbage_mirrors():
    garbage = os.path.join(Env().dir, "garbage")  # an Env dir is a convenient private temp dir
    os.makedirs(os.path.join(garbage, "1", "x86_64", "os", "repodata"))
    with open(os.path.join(garbage, "1", "x86_64", "os", "repodata", "repomd.xml"), "w") as f:
        f.write("<html>this is not repository metadata</html>\n")
    dead = f"http://127.0.0.1:{rt.free_port()}/repos/$VER/$ARCH/os"
    with rt.Server(lambda port, d: [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                    "--directory", TOS, str(port)], name="http.server") as server:
        server.start()
        url = server.base_url + "repos/$VER/$ARCH/"
        env = Env(mirrors={"testos": [dead, f"{garbage}/$VER/$ARCH/os", url + "os"],
                           "testos-debuginfo": [url + "debug"]})
        try:
            r = env.sync("1")
            s = sync_summary(r.stdout)
            rt.check(s["refused"] == 0 and s["downloaded"] == s["listed"] > 0, f"{s}\n{r.stderr}")
            rt.check("Mirror " + dead.replace("$VER", "1").replace("$ARCH", "x86_64") in r.stderr,
                     f"the dead mirror was not reported:\n{r.stderr}")
            rt.check(f"Mirror {garbage}/1/x86_64/os of repository testos failed" in r.stderr,
                     f"the garbage mirror was not reported:\n{r.stderr}")
            s = sync_summary(env.sync("1").stdout)
            rt.check(s["downloaded"] == 0, f"second http sync downloaded {s}")
            print(f"   http sync: {s['listed']} packages; dead and garbage mirrors skipped")
        finally:
            env.cleanup()
    rt.rmtree(os.path.dirname(garbage))


def test_ftp_mirror():
    """An ftp:// mirror through a real FTP server (pyftpdlib, anonymous, read-only) on loopback."""
    if subprocess.run(["/usr/bin/python3", "-c", "import pyftpdlib"], capture_output=True).returncode != 0:
        rt.skip("pyftpdlib is missing (Debian package python3-pyftpdlib; tools/install-deps installs it)")
    port = rt.free_port()
    log = tempfile.NamedTemporaryFile(prefix="test-ftpd-", suffix=".log", delete=False)
    ftpd = subprocess.Popen(["/usr/bin/python3", "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", str(port), "-d",
                             os.path.join(TOS, "repos")], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    env = None
    try:
        deadline = time.monotonic() + 30
        while True:  # readiness: the control connection answers with its 220 greeting
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                    if sock.recv(64).startswith(b"220"):
                        break
            except OSError:
                pass
            rt.check(time.monotonic() < deadline and ftpd.poll() is None, "the FTP server did not start")
            time.sleep(0.1)
        url = f"ftp://127.0.0.1:{port}"
        env = Env(mirrors={"testos": [url + "/$VER/$ARCH/os"], "testos-debuginfo": [url + "/$VER/$ARCH/debug"]})
        expected = len([p for p in MANIFEST["packages"] if p["dist_release"] == "2"])
        s = sync_summary(env.sync("2").stdout)
        rt.check(s["listed"] == expected and s["downloaded"] == expected and s["refused"] == 0, f"ftp sync: {s}")
        s = sync_summary(env.sync("2").stdout)
        rt.check(s["downloaded"] == 0, f"second ftp sync downloaded {s}")
        print(f"   ftp sync: {expected} packages, second sync downloads nothing")
    finally:
        os.killpg(ftpd.pid, signal.SIGTERM)
        ftpd.wait()
        if env:
            env.cleanup()
        os.unlink(log.name)


class RsyncDaemon:
    """A real `rsync --daemon` on a free loopback port, exposing the TestOS repositories read-only as
    module "testos". Works as root (it keeps our uid instead of switching to nobody) and as an
    ordinary user; readiness is a module listing, not a sleep."""

    def __init__(self, path):
        self.dir = tempfile.mkdtemp(prefix="test-rsyncd-")
        self.port = rt.free_port()
        self.conf = os.path.join(self.dir, "rsyncd.conf")
        self.log = os.path.join(self.dir, "rsyncd.log")
        ids = f"uid = {os.getuid()}\ngid = {os.getgid()}\n" if os.getuid() == 0 else ""
        with open(self.conf, "w") as f:
            f.write(f"address = 127.0.0.1\nport = {self.port}\nuse chroot = no\n{ids}"
                    f"log file = {self.log}\npid file = {self.dir}/rsyncd.pid\n"
                    f"[testos]\npath = {path}\nread only = yes\nlist = yes\ntransfer logging = yes\n")
        self.url = f"rsync://127.0.0.1:{self.port}/testos"
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(["rsync", "--daemon", "--no-detach", f"--config={self.conf}"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            rt.check(self.proc.poll() is None, f"rsync --daemon exited {self.proc.returncode}: {self.read_log()}")
            r = subprocess.run(["rsync", "--list-only", f"rsync://127.0.0.1:{self.port}/"], capture_output=True)
            if r.returncode == 0 and b"testos" in r.stdout:
                return self
            rt.check(time.monotonic() < deadline, f"rsync --daemon not ready: {self.read_log()}")
            time.sleep(0.05)

    def read_log(self):
        return open(self.log).read() if os.path.exists(self.log) else ""

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if exc[0] is None:
            rt.rmtree(self.dir)
        else:
            print(f"--- rsyncd log ---\n{self.read_log()}", file=sys.stderr)
        return False


def test_rsync_mirror():
    with RsyncDaemon(os.path.join(TOS, "repos")) as rsyncd:
        env = Env(mirrors={"testos": [rsyncd.url + "/$VER/$ARCH/os"],
                           "testos-debuginfo": [rsyncd.url + "/$VER/$ARCH/debug"]})
        try:
            r = env.sync("1")
            s = sync_summary(r.stdout)
            expected = len([p for p in MANIFEST["packages"] if p["dist_release"] == "1"])
            rt.check(s["listed"] == expected and s["downloaded"] == expected and s["new"] == expected
                     and s["refused"] == 0, f"{s}\n{r.stderr}")
            rt.check(count_rpms(env) == expected, f"{count_rpms(env)} RPMs stored, expected {expected}")
            transfers = rsyncd.read_log().count("send ")
            rt.check(transfers >= expected, f"the packages did not come through rsync ({transfers} transfers)")
            crash = next(c for c in MANIFEST["crashes"] if c["release_id"] == "testos-1-x86_64")
            rt.check(env.cache("known", "--release", "testos-1-x86_64", crash["package"]).stdout.strip() == "known",
                     f"{crash['package']} not in the cache after the rsync sync")
            s = sync_summary(env.sync("1").stdout)
            rt.check(s["downloaded"] == 0 and s["new"] == 0, f"second rsync sync was not a no-op: {s}")
            print(f"   rsync sync: {expected} packages through rsync://; second sync downloaded nothing")
        finally:
            env.cleanup()


def test_versions_kept_after_repository_drops_one():
    env = Env()
    mirror = os.path.join(env.dir, "mirror")
    shutil.copytree(os.path.join(TOS, "repos", "1", "x86_64", "os"), mirror)
    env.write_plugin("testos", {"testos": [mirror]})
    try:
        first = sync_summary(env.sync("1").stdout)
        dropped = sorted(glob.glob(os.path.join(mirror, "Packages", "crashy-1.0-1.*.rpm")))[0]
        nvr = os.path.basename(dropped)[: -len(".x86_64.rpm")]
        os.unlink(dropped)
        subprocess.run(["createrepo_c", "--quiet", "--update", mirror], check=True)
        second = sync_summary(env.sync("1").stdout)
        rt.check(second["listed"] == first["listed"] - 1 and second["downloaded"] == 0, f"{first} {second}")
        rt.check(env.cache("known", "--release", "testos-1-x86_64", nvr).stdout.strip() == "known",
                 f"{nvr} was forgotten after the repository dropped it")
        rt.check(count_rpms(env) == first["listed"], "an RPM was deleted from the store")
        r = env.cache("assemble", "testos-1-x86_64", nvr)
        rt.check(os.path.exists(os.path.join(r.stdout.strip(), "usr", "bin", "crashy")), r.stdout + r.stderr)
    finally:
        env.cleanup()


def test_lock_and_interrupted_run():
    env = Env()
    try:
        # A leftover of an interrupted run (half a download) is cleaned, the run completes.
        leftover = os.path.join(env.repo_dir, "tmp", "testos-1-x86_64", "package-half.rpm")
        os.makedirs(os.path.dirname(leftover))
        with open(leftover, "wb") as f:
            f.write(b"\xed\xab\xee\xdb half")
        s = sync_summary(env.sync("1").stdout)
        rt.check(s["refused"] == 0 and not os.path.exists(leftover), f"{s}")
        # A stored but never imported package (killed between download and import) is imported next time.
        cache = env.cache_dir
        rt.rmtree(cache)
        s = sync_summary(env.sync("1").stdout)
        rt.check(s["downloaded"] == 0 and s["new"] == s["listed"], f"resume did not import: {s}")
        # One sync per release.
        import fcntl
        with open(os.path.join(env.repo_dir, "locks", "testos-1-x86_64.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            r = env.sync("1", ok=(1,))
            rt.check("Another retrace-server-reposync" in r.stderr, r.stderr)
    finally:
        env.cleanup()


rt.run_tests([test_file_sync_and_queries, test_http_sync_dead_and_garbage_mirrors, test_rsync_mirror, test_ftp_mirror,
              test_versions_kept_after_repository_drops_one, test_lock_and_interrupted_run])
