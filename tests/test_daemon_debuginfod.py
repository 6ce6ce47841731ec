#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The cache as a debuginfod server, checked with Debian's own clients against a running daemon over
TestOS (synced with CachePrefetch = none, so every answer extracts on demand): debuginfod-find
debuginfo/executable/source/section give the packaged files' bytes; the host's gdb on a TestOS core,
with only DEBUGINFOD_URLS pointing at the daemon, fetches the executable, the libraries, their debug
files and sources and prints the crashing thread with functions, files and lines, and `list` shows
the source; eu-stack does the same. Unknown build-ids miss (404), X-DEBUGINFOD-MAXSIZE is honoured
(406), path traversal in /source/ is refused, the endpoint is off by default, closed to addresses
outside DebuginfodAllowFrom and rate limited per address (429), /metrics counts it, and `retrace-server-cache extract --debuginfo`
pre-extracts a release's debug packages."""

import http.client
import os
import re
import shutil
import subprocess
import tempfile

import retrace_test as rt
from daemon_helpers import DaemonEnv

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
CRASH = next(c for c in MANIFEST["crashes"] if c["name"] == "r1-null")
CRASH_DIR = rt.testos_crash_dir(CRASH)
# Modules of the crash that come from TestOS packages (the vdso comes from the kernel).
MODULES = [m for m in CRASH["build_ids"] if not m["name"].startswith("linux-vdso")]


def client_env(srv, cache):
    e = dict(os.environ)
    e.update(DEBUGINFOD_URLS=srv.base_url, DEBUGINFOD_CACHE_PATH=cache, DEBUGINFOD_TIMEOUT="90",
             HOME=cache)
    e.pop("DEBUGINFOD_MAXSIZE", None)
    e.pop("DEBUGINFOD_PROGRESS", None)
    return e


def find(srv, cache, *args, extra_env=None):
    env = client_env(srv, cache)
    env.update(extra_env or {})
    return subprocess.run(["debuginfod-find", *args], env=env, capture_output=True, text=True, timeout=120)


def raw_get(port, path, headers=None):
    """GET path exactly as given (no client-side normalization): (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.putrequest("GET", path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def packaged_file(archive, path, workdir):
    """The bytes of path in the TestOS package archive (its NEVRA), unpacked with rpm2cpio."""
    rpm = rt.testos_package_path(archive)
    root = tempfile.mkdtemp(dir=workdir)
    rt.extract_rpms(root, [rpm])
    with open(os.path.join(root, path.lstrip("/")), "rb") as f:
        return f.read()


def build_id_of(path):
    out = subprocess.run(["eu-readelf", "-n", path], capture_output=True, text=True, check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def section_bytes(path, name, workdir):
    out = os.path.join(workdir, "section.bin")
    subprocess.run(["objcopy", f"--dump-section={name}={out}", path, os.path.join(workdir, "discard")],
                   check=True, capture_output=True)
    with open(out, "rb") as f:
        return f.read()


def test_off_by_default():
    env = DaemonEnv()
    try:
        with env.server() as srv:
            srv.start(ready_path="settings")
            st, _, body = raw_get(srv.port, f"/buildid/{MODULES[0]['build_id']}/debuginfo")
            rt.check(st == 404 and b"AllowDebuginfod" in body, f"{st} {body!r}")
            code, _, metrics = rt.http_get(srv.base_url + "metrics")
            rt.check(code == 200 and b"retrace_debuginfod" not in metrics, "metrics name a disabled debuginfod")
    finally:
        env.cleanup()


def test_closed_to_other_addresses():
    env = DaemonEnv(AllowDebuginfod="yes", DebuginfodAllowFrom="10.0.0.0/8, fd00::/8")
    try:
        with env.server() as srv:
            srv.start(ready_path="settings")
            st, _, body = raw_get(srv.port, f"/buildid/{MODULES[0]['build_id']}/debuginfo")
            rt.check(st == 403 and b"DebuginfodAllowFrom" in body, f"{st} {body!r}")
        env.set_keys(AllowDebuginfod="yes", DebuginfodAllowFrom="10.0.0.0/33")
        with env.server() as srv:
            started = True
            try:
                srv.start(ready_path="settings", timeout=10)
            except RuntimeError:
                started = False
            rt.check(not started, "the daemon started with a malformed DebuginfodAllowFrom")
            rt.check("DebuginfodAllowFrom" in srv.log(), f"no message naming the key:\n{srv.log()}")
    finally:
        env.cleanup()


def test_rate_limited():
    env = DaemonEnv(AllowDebuginfod="yes", DebuginfodRequestsPerAddress="5", DebuginfodRequestsTotal="0")
    try:
        with env.server() as srv:
            srv.start(ready_path="settings")
            got = [raw_get(srv.port, f"/buildid/{MODULES[0]['build_id']}/debuginfo") for _ in range(8)]
            codes = [st for st, _, _ in got]
            rt.check(codes[:5] == [404] * 5 and set(codes[5:]) == {429}, f"budget of 5 per minute: {codes}")
            rt.check(all(int(h["retry-after"]) >= 1 for st, h, _ in got if st == 429), "429 without Retry-After")
            code, _, text = rt.http_get(srv.base_url + "settings")
            rt.check(code == 200, "other requests were limited too")
            code, _, metrics = rt.http_get(srv.base_url + "metrics")
            rt.check(b"retrace_debuginfod_requests_limited_total 3" in metrics, metrics.decode())
    finally:
        env.cleanup()


def test_real_clients():
    env = DaemonEnv(releases=(CRASH["release"],), AllowDebuginfod="yes", DebuginfodAllowFrom="127.0.0.0/8 ::1",
                    CachePrefetch="none")
    work = tempfile.mkdtemp(prefix="test-debuginfod-")
    try:
        with env.server() as srv:
            srv.start(ready_path="settings")
            cache = os.path.join(work, "client-cache")

            # debuginfo and executable: the packaged files, byte for byte, named in the headers.
            for m in MODULES:
                bid = m["build_id"]
                for kind in ("executable", "debuginfo"):
                    r = find(srv, cache, kind, bid)
                    rt.check(r.returncode == 0, f"debuginfod-find {kind} {bid} ({m['name']}): {r.stderr}")
                    got_path = r.stdout.strip()
                    st, h, _ = raw_get(srv.port, f"/buildid/{bid}/{kind}")
                    rt.check(st == 200, f"{kind} {bid}: {st}")
                    rt.check(int(h["x-debuginfod-size"]) == os.path.getsize(got_path) == int(h["content-length"]),
                             f"{kind} {bid}: sizes differ: {h}")
                    with open(got_path, "rb") as f:
                        got = f.read()
                    want = packaged_file(h["x-debuginfod-archive"], h["x-debuginfod-file"], work)
                    rt.check(got == want, f"{kind} {bid}: not the bytes of {h['x-debuginfod-file']} in "
                                          f"{h['x-debuginfod-archive']}")
                    if kind == "debuginfo":
                        rt.check("debuginfo" in h["x-debuginfod-archive"] and
                                 h["x-debuginfod-file"].startswith("/usr/lib/debug/"), f"{h}")
                    rt.check(build_id_of(got_path) == bid, f"{kind} {bid}: the file has another build-id")

            # source: the crashing frame's file, by the path its DWARF names (comp_dir + name).
            top = CRASH["frames"][0]
            lib = next(m for m in MODULES if "token" in m["name"])
            debug = find(srv, cache, "debuginfo", lib["build_id"]).stdout.strip()
            info = subprocess.run(["eu-readelf", "--debug-dump=info", debug], capture_output=True,
                                  text=True).stdout
            comp_dir = re.search(r'comp_dir\s+\(\w+\)\s+"([^"]+)"', info).group(1)
            src_path = f"{comp_dir}/{top['file']}"
            r = find(srv, cache, "source", lib["build_id"], src_path)
            rt.check(r.returncode == 0, f"debuginfod-find source {src_path}: {r.stderr}")
            st, h, body = raw_get(srv.port, f"/buildid/{lib['build_id']}/source{src_path}")
            rt.check(st == 200 and "debugsource" in h["x-debuginfod-archive"], f"{st} {h}")
            with open(r.stdout.strip(), "rb") as f:
                rt.check(f.read() == body == packaged_file(h["x-debuginfod-archive"], src_path, work),
                         "the source differs from the packaged one")
            # The client's spelling: "//" and "." and ".." resolved (%-escaped as curl does).
            odd = src_path.replace("/usr/src/", "/usr//src/./debug/../")
            st, _, body2 = raw_get(srv.port, f"/buildid/{lib['build_id']}/source" + odd.replace(".", "%2E"))
            rt.check(st == 200 and body2 == body, f"escaped, unnormalized source path: {st}")
            # Traversal: never a file outside the packages, whatever the spelling.
            for evil in ("/../../../../etc/passwd", "/%2e%2e/%2E%2E/etc/passwd", "/usr/src/debug/../../../../../etc/passwd"):
                st, _, body = raw_get(srv.port, f"/buildid/{lib['build_id']}/source{evil}")
                rt.check(st == 400 and b"root:" not in body, f"source{evil}: {st} {body[:80]!r}")
            # Behind a reverse proxy under a path prefix (DEBUGINFOD_URLS=https://host/retrace/).
            st, _, body3 = raw_get(srv.port, f"/retrace/buildid/{lib['build_id']}/source{src_path}")
            rt.check(st == 200 and body3 == body2, f"under a path prefix: {st}")
            st, _, _ = raw_get(srv.port, f"/buildid/{lib['build_id']}/source/etc/passwd")
            rt.check(st == 404, f"/etc/passwd is not in the build's packages: {st}")

            # section: from the debug file, and from the binary where the debug file has no bytes.
            fresh = os.path.join(work, "client-cache-sections")
            r = find(srv, fresh, "section", lib["build_id"], ".debug_info")
            rt.check(r.returncode == 0, f"section .debug_info: {r.stderr}")
            with open(r.stdout.strip(), "rb") as f:
                rt.check(f.read() == section_bytes(debug, ".debug_info", work), ".debug_info differs")
            exe = find(srv, cache, "executable", lib["build_id"]).stdout.strip()
            st, _, body = raw_get(srv.port, f"/buildid/{lib['build_id']}/section/.text")
            rt.check(st == 200 and body == section_bytes(exe, ".text", work), f".text: {st}")
            st, _, _ = raw_get(srv.port, f"/buildid/{lib['build_id']}/section/.no-such-section")
            rt.check(st == 404, f"unknown section: {st}")

            # Misses and limits.
            unknown = "00" * 20
            r = find(srv, os.path.join(work, "c2"), "debuginfo", unknown)
            rt.check(r.returncode != 0, f"an unknown build-id was found: {r.stdout}")
            st, _, _ = raw_get(srv.port, f"/buildid/{unknown}/executable")
            rt.check(st == 404, f"unknown build-id: {st}")
            st, _, _ = raw_get(srv.port, "/buildid/xyz/debuginfo")
            rt.check(st == 404, f"a build-id that is no hex: {st}")
            st, _, body = raw_get(srv.port, f"/buildid/{lib['build_id']}/debuginfo", {"X-DEBUGINFOD-MAXSIZE": "100"})
            rt.check(st == 406, f"MAXSIZE 100: {st} {body!r}")
            r = find(srv, os.path.join(work, "c3"), "debuginfo", lib["build_id"],
                     extra_env={"DEBUGINFOD_MAXSIZE": "100"})
            rt.check(r.returncode != 0, "the client's DEBUGINFOD_MAXSIZE was not honoured")

            # The host's gdb, with nothing of TestOS installed: everything comes over debuginfod.
            gcache = os.path.join(work, "gdb-cache")
            g = subprocess.run(["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled on", "-ex", "bt",
                                "-ex", "list", "-c", os.path.join(CRASH_DIR, "coredump")],
                               env=client_env(srv, gcache), capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL)
            frames = rt.parse_gdb_frames(g.stdout)
            rt.check(rt.frames_match(frames, CRASH["frames"]),
                     f"gdb over debuginfod:\n{rt.describe_frames(frames)}\n{g.stdout}\n{g.stderr}")
            listed = re.search(rf"^{top['line']}\s+.*\S", g.stdout, re.M)
            rt.check(listed is not None, f"`list` showed no source line {top['line']}:\n{g.stdout}")

            # elfutils' own unwinder, the same way.
            s = subprocess.run(["eu-stack", "-s", f"--core={os.path.join(CRASH_DIR, 'coredump')}"],
                               env=client_env(srv, os.path.join(work, "eu-cache")), capture_output=True,
                               text=True, timeout=300)
            for fr in CRASH["frames"]:
                rt.check(re.search(rf"{re.escape(fr['function'])}\n\s+\S*/{re.escape(fr['file'])}:{fr['line']}\b",
                                   s.stdout), f"eu-stack lacks {fr}:\n{s.stdout}\n{s.stderr}")

            code, _, metrics = rt.http_get(srv.base_url + "metrics")
            text = metrics.decode()
            for kind in ("debuginfo", "executable", "source", "section"):
                m = re.search(rf'retrace_debuginfod_requests_total{{endpoint="{kind}",outcome="hit"}} (\d+)', text)
                rt.check(m and int(m.group(1)) > 0, f"/metrics: no hits for {kind}:\n{text}")
            rt.check(re.search(r'endpoint="debuginfo",outcome="miss"} [1-9]', text), "misses not counted")
            rt.check(re.search(r'endpoint="source",outcome="refused"} [1-9]', text), "refusals not counted")
            rt.check(re.search(r'retrace_debuginfod_bytes_total{endpoint="debuginfo"} [1-9]', text), "bytes")
    finally:
        env.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def test_pre_extract_debuginfo():
    env = DaemonEnv(releases=(CRASH["release"],), CachePrefetch="none")
    try:
        before = env.stats()
        release = CRASH["release_id"]
        r = env.cache("extract", "--debuginfo", release)
        after = env.stats()
        want = sum(1 for p in MANIFEST["packages"]
                   if p["dist_release"] == CRASH["release"] and re.search(r"-debug(info|source)$", p["name"]))
        got = after["packages-extracted"] - before["packages-extracted"]
        rt.check(got >= want > 0, f"extract --debuginfo extracted {got}, the release has {want} debug packages:\n"
                                  f"{r.stderr}")
        r = env.cache("extract", "--debuginfo", "nosuch-1-x86_64", ok=None)
        rt.check(r.returncode != 0 and "reposync" in r.stderr, f"unknown release: {r.returncode} {r.stderr}")
    finally:
        env.cleanup()


if __name__ == "__main__":
    rt.require_tool("debuginfod-find", "eu-stack", "eu-readelf", "gdb", "objcopy")
    rt.run_tests([test_off_by_default, test_closed_to_other_addresses, test_rate_limited, test_real_clients,
                  test_pre_extract_debuginfo])
