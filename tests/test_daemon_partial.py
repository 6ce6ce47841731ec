#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Partial extraction of big debuginfo packages (CachePartialExtractSize). The debuginfo package of a
crash's executable is rebuilt with rpmbuild, its files plus incompressible filler debug files, so that
it is larger than the limit; a repository with it instead of the original is synced (index only).
The task succeeds having extracted only the files it needs of that package (its log says which);
the filler is not in the store; the index records the package as partial. Asking for one more file
(`retrace-server-cache extract --path`) extracts that one only, and the next task gets a root with
it."""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, wait_finished

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
CRASH = MANIFEST["crashes"][0]
RELEASE = CRASH["release_id"]
FILLER = [f"/usr/lib/debug/usr/share/filler/filler-{i}.debug" for i in range(3)]
FILLER_SIZE = 3 << 20  # 9 MiB in all, above CachePartialExtractSize = 4M


def retrace(srv, archive):
    with open(archive, "rb") as f:
        st, h, body = post(srv.port, f.read())
    rt.check(st == 201, f"{archive}: {st} {body!r}")
    status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
    code, _, log = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/log", {"X-Task-Password": h["X-Task-Password"]})
    return status, log.decode(errors="replace") if code == 200 else ""


def rpm_query(rpm, fmt):
    return subprocess.run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", fmt, rpm], check=True,
                          stdout=subprocess.PIPE, text=True).stdout


def inflate(rpm, work):
    """Rebuilds rpm (a debuginfo package) with its files plus FILLER; returns the new RPM and the
    filler's contents."""
    name, version, release, arch, srpm = rpm_query(
        rpm, "%{NAME}\n%{VERSION}\n%{RELEASE}\n%{ARCH}\n%{SOURCERPM}").split("\n")
    src = srpm[:-len(f"-{version}-{release}.src.rpm")]
    buildroot = os.path.join(work, "content")
    os.makedirs(buildroot)
    subprocess.run(f"rpm2cpio '{rpm}' | cpio -idmu --quiet", shell=True, check=True, cwd=buildroot)
    fillers = {}
    for path in FILLER:
        data = os.urandom(FILLER_SIZE)
        os.makedirs(os.path.dirname(buildroot + path), exist_ok=True)
        with open(buildroot + path, "wb") as f:
            f.write(data)
        fillers[path] = data
    listing = []
    for line in rpm_query(rpm, "[%{FILEMODES:perms} %{FILENAMES}\n]").splitlines():
        perms, path = line.split(" ", 1)
        listing.append(("%dir " if perms.startswith("d") else "") + f'"{path}"')
    listing += [f'"{p}"' for p in FILLER]
    with open(os.path.join(work, "files"), "w") as f:
        f.write("\n".join(listing) + "\n")
    spec = os.path.join(work, "big.spec")
    with open(spec, "w") as f:
        f.write(f"""%global debug_package %{{nil}}
%global __os_install_post %{{nil}}
%global _build_id_links none
Name: {src}
Version: {version}
Release: {release}
Summary: rebuilt with filler
License: GPL-2.0-or-later
%description
rebuilt
%package -n {name}
Summary: rebuilt with filler
AutoReqProv: no
%description -n {name}
rebuilt
%install
cp -a {buildroot}/. %{{buildroot}}/
%files -n {name} -f {work}/files
""")
    top = os.path.join(work, "rpmbuild")
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--target", arch, "--define", f"_topdir {top}",
                    "--define", "_binary_payload w19.zstdio", spec], check=True,
                   stdout=subprocess.DEVNULL)
    out = os.path.join(top, "RPMS", arch, f"{name}-{version}-{release}.{arch}.rpm")
    rt.check(os.path.exists(out), f"rpmbuild made no {out}")
    return out, f"{name}-{version}-{release}.{arch}", fillers


def make_repos(work, original, big):
    """The release's os repository as it is, its debug repository with big instead of original."""
    repos = {}
    for kind in ("os", "debug"):
        src = os.path.join(TOS, "repos", CRASH["release"], "x86_64", kind)
        dst = os.path.join(work, "repos", kind)
        os.makedirs(dst)
        for d, _, names in os.walk(src):
            for n in names:
                p = os.path.join(d, n)
                if n.endswith(".rpm") and os.path.realpath(p) != os.path.realpath(original):
                    os.symlink(p, os.path.join(dst, n))
        if kind == "debug":
            shutil.copy(big, dst)
        subprocess.run(["createrepo_c", "--quiet", dst], check=True)
        repos[kind] = dst
    return repos


def object_path(env, data, mode="444"):
    h = hashlib.sha256(data).hexdigest()
    return os.path.join(env.cache_dir, "objects", "sha256", h[:2], f"{h[2:]}-{mode}")


def test_big_debuginfo_is_extracted_file_by_file():
    work = tempfile.mkdtemp(prefix="test-partial-")
    probe = DaemonEnv(releases=(CRASH["release"],), CachePrefetch="none", ReuseIdenticalUploads="no")
    env = None
    try:
        exe = next(b["build_id"] for b in CRASH["build_ids"] if b["name"] == CRASH["executable"])
        out = probe.cache("lookup", "--release", RELEASE, exe).stdout
        m = re.search(rf"^{exe} debuginfo (\S+) (\S+) by ", out, re.M)
        rt.check(m, f"no debuginfo package for the executable:\n{out}")
        nevra = m.group(1)
        original = next(os.path.join(TOS, p["file"]) for p in MANIFEST["packages"]
                        if p["debug"] and p["dist_release"] == CRASH["release"]
                        and f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}" == nevra)
        big, big_nevra, fillers = inflate(original, work)
        rt.check(big_nevra == nevra, f"rebuilt {big_nevra}, not {nevra}")
        repos = make_repos(work, original, big)

        env = DaemonEnv(CachePrefetch="none", ReuseIdenticalUploads="no", CachePartialExtractSize="4M")
        env.write_plugin("testos", {"testos": [f"file://{repos['os']}"],
                                    "testos-debuginfo": [f"file://{repos['debug']}"]})
        env.sync(CRASH["release"])
        archive = os.path.join(TOS, "crashes", CRASH["name"] + ".tar.xz")
        with env.server() as srv:
            srv.start(ready_path="settings")
            status, log = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log}")
            m = re.search(rf"Extracted (\d+) files of {re.escape(nevra)} \(", log)
            rt.check(m and int(m.group(1)) >= 1, f"no partial extraction of {nevra} in the log:\n{log}")
            rt.check("CachePartialExtractSize" in log and "took" in log, log)
            for path, data in fillers.items():
                rt.check(not os.path.exists(object_path(env, data)), f"{path} was extracted")
            s = env.stats()
            rt.check(s["packages-partial"] >= 1 and s["partial-files"] >= 1, f"stats: {s}")
            before = s["partial-files"]

            # One more file, asked for by name: that one only.
            r = env.cache("extract", "--path", FILLER[0], RELEASE, nevra)
            rt.check(os.path.exists(object_path(env, fillers[FILLER[0]])), f"{FILLER[0]} not extracted:\n{r.stderr}")
            rt.check(not os.path.exists(object_path(env, fillers[FILLER[1]])), f"{FILLER[1]} extracted too")
            rt.check(env.stats()["partial-files"] == before + 1, f"{env.stats()}")

            status, log2 = retrace(srv, archive)
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{log2}")
            rt.check(re.search(r"Root with \d+ packages assembled", log2),
                     f"the root with fewer files was reused:\n{log2}")
        rt.check("0 bad" in env.cache("verify").stdout, "verify with a partial package")
    finally:
        probe.cleanup()
        if env:
            env.cleanup()
        rt.rmtree(work)


if __name__ == "__main__":
    rt.run_tests([test_big_debuginfo_is_extracted_file_by_file])
