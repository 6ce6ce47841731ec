#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bad input is refused with a message naming the package and the reason, leaves nothing in the
index, the object store or its staging area, and does not stop a sync: truncated and corrupt RPMs,
a file whose content does not match the header's digest, an unknown payload compressor, a path with
"..", a file beneath a symlink of its own package, a mirror serving garbage for a package, and
symlinks of one package that would lead another package's files out of the root (contained)."""

import glob
import os
import shutil
import subprocess

import retrace_test as rt
import rpm_forge
from rpmcache_helpers import Env, sync_summary

rt.require_tool("rpmbuild", "createrepo_c")
TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
TAG_FILEDIGESTS, TAG_DIRNAMES, TAG_PAYLOADCOMPRESSOR = 1035, 1118, 1125


def pkg(name):
    return next(os.path.join(TOS, p["file"]) for p in MANIFEST["packages"] if p["name"] == name)


def nothing_left(env, before):
    st = env.stats()
    rt.check(st["packages"] == before["packages"] and st["objects"] == before["objects"],
             f"a refused package left something: {before} -> {st}")
    rt.check(os.listdir(os.path.join(env.cache_dir, "tmp")) == [], "staging area not empty")


def refuse(env, path, reason):
    before = env.stats()
    r = env.cache("import", "--release", "testos-1-x86_64", path, ok=(1,))
    reasons = reason if isinstance(reason, tuple) else (reason,)
    rt.check(f"Refusing package {path}" in r.stderr and any(x in r.stderr for x in reasons),
             f"expected '{reason}':\n{r.stderr}")
    nothing_left(env, before)
    print(f"   {os.path.basename(path)}: {r.stderr.strip().split(': ', 2)[-1]}")


def test_bad_rpms():
    env = Env()
    d = os.path.join(env.dir, "bad")
    os.makedirs(d)
    try:
        env.cache("stats")
        src = pkg("libtoken")
        data = open(src, "rb").read()
        truncated = os.path.join(d, "truncated.rpm")
        open(truncated, "wb").write(data[: len(data) // 2])
        refuse(env, truncated, ("corrupt or truncated", "header digest or signature check failed"))
        truncated_payload = os.path.join(d, "truncated-payload.rpm")
        open(truncated_payload, "wb").write(data[:-500])
        refuse(env, truncated_payload, "corrupt or truncated")
        corrupt = os.path.join(d, "corrupt.rpm")
        open(corrupt, "wb").write(data[:-100] + bytes(b ^ 0xFF for b in data[-100:]))
        refuse(env, corrupt, "payload digest mismatch")
        garbage = os.path.join(d, "garbage.rpm")
        open(garbage, "wb").write(b"<html>404</html>\n" * 100)
        refuse(env, garbage, "not an RPM package")

        digests = subprocess.run(["rpm", "-qp", "--qf", "[%{FILEDIGESTS}\\n]", src], capture_output=True, text=True,
                                 check=True).stdout.split()
        d0 = next(x for x in digests if x)
        bad_digest = os.path.join(d, "digest.rpm")
        rpm_forge.replace_in_tag(src, bad_digest, TAG_FILEDIGESTS, d0.encode(), ("0" * 8 + d0[8:]).encode())
        refuse(env, bad_digest, "does not match the digest in the header")

        compressor = subprocess.run(["rpm", "-qp", "--qf", "%{PAYLOADCOMPRESSOR}", src], capture_output=True,
                                    text=True, check=True).stdout
        bad_compressor = os.path.join(d, "compressor.rpm")
        rpm_forge.replace_in_tag(src, bad_compressor, TAG_PAYLOADCOMPRESSOR, compressor.encode(),
                                 b"q" * len(compressor))
        refuse(env, bad_compressor, "unknown payload compressor")

        dotdot = os.path.join(d, "dotdot.rpm")
        rpm_forge.replace_in_tag(src, dotdot, TAG_DIRNAMES, b"/usr/lib/", b"/../../x/")
        refuse(env, dotdot, "not a normalized absolute path")

        # The good package still imports afterwards.
        env.cache("import", "--release", "testos-1-x86_64", src)
    finally:
        env.cleanup()


SPEC = """Name: %(name)s
Version: 1
Release: 1
Summary: test
License: none
BuildArch: x86_64
%%description
test
%%install
%(install)s
%%files
%(files)s
"""


def build_rpm(topdir, name, install, files):
    os.makedirs(topdir, exist_ok=True)
    spec = os.path.join(topdir, f"{name}.spec")
    with open(spec, "w") as f:
        f.write(SPEC % {"name": name, "install": install, "files": files})
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {topdir}", "--define", "debug_package %{nil}",
                    "--define", "__os_install_post %{nil}", spec], check=True, capture_output=True)
    return glob.glob(os.path.join(topdir, "RPMS", "x86_64", f"{name}-1-1.x86_64.rpm"))[0]


def test_symlinks_cannot_escape_and_sync_goes_on():
    env = Env()
    top = os.path.join(env.dir, "rpmbuild")
    outside = os.path.join(env.dir, "outside")
    os.makedirs(outside)
    try:
        # Package A: an absolute and a relative symlink pointing out of the tree; package B: files
        # beneath those names. Assembly must keep B's files inside the root.
        a = build_rpm(top, "evil-links", f"mkdir -p %{{buildroot}}/opt\nln -s {outside} %{{buildroot}}/opt/abs\n"
                                         "ln -s ../../../../../../../../.. %{buildroot}/opt/rel",
                      "/opt/abs\n/opt/rel")
        b = build_rpm(top, "evil-abs", "mkdir -p %{buildroot}/opt/abs\necho pwned > %{buildroot}/opt/abs/pwned",
                      "/opt/abs/pwned")
        c = build_rpm(top, "evil-rel", "mkdir -p %{buildroot}/opt/rel\necho pwned > %{buildroot}/opt/rel/pwned2",
                      "/opt/rel/pwned2")
        # A mirror with these packages, one good TestOS package and one served as garbage.
        mirror = os.path.join(env.dir, "mirror")
        os.makedirs(os.path.join(mirror, "Packages"))
        for p in (a, b, c, pkg("libtoken"), pkg("libparse")):
            shutil.copy(p, os.path.join(mirror, "Packages"))
        subprocess.run(["createrepo_c", "--quiet", mirror], check=True)
        victim = os.path.join(mirror, "Packages", os.path.basename(pkg("libparse")))
        with open(victim, "r+b") as f:
            f.seek(200)
            f.write(b"garbage from the mirror")
        env.write_plugin("testos", {"testos": [mirror]})
        r = env.sync("1", ok=(3,))
        s = sync_summary(r.stdout)
        rt.check(s["listed"] == 5 and s["new"] == 4 and s["refused"] == 1, f"{s}\n{r.stderr}")
        rt.check("does not match the metadata" in r.stderr and "libparse" in r.stderr, r.stderr)

        # The absolute symlink resolves inside the tree, where its target does not exist: refused,
        # nothing written outside, no root left behind.
        r = env.cache("assemble", "testos-1-x86_64", "evil-links", "evil-abs", ok=(1,))
        rt.check("/opt/abs/pwned" in r.stderr and "evil-abs" in r.stderr, r.stderr)
        rt.check(os.listdir(os.path.join(env.cache_dir, "roots")) == [], "a failed assembly left a root")
        rt.check(os.listdir(os.path.join(env.cache_dir, "tmp")) == [], "a failed assembly left its tree")
        # The relative symlink climbing out is clamped at the root's top: the file lands inside.
        root = env.cache("assemble", "testos-1-x86_64", "evil-links", "evil-rel").stdout.strip()
        rt.check(os.path.isfile(os.path.join(root, "pwned2")), f"pwned2 not at the root's top: {os.listdir(root)}")
        rt.check(os.listdir(outside) == [], f"assembly wrote outside the root: {os.listdir(outside)}")
        rt.check(not os.path.exists(os.path.join(env.dir, "pwned2")) and not os.path.exists("/pwned2"),
                 "assembly wrote above the root")
        print("   symlinks out of the tree: absolute one refused, relative one clamped inside the root")
    finally:
        env.cleanup()


rt.run_tests([test_bad_rpms, test_symlinks_cannot_escape_and_sync_goes_on])
