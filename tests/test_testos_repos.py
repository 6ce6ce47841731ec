#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The generated TestOS repositories hold the expected packages and files (rpm -qp, repodata)."""

import gzip
import hashlib
import os
import subprocess
import xml.etree.ElementTree as ET

import retrace_test as rt

rt.require_tool("rpm")
TOS = rt.testos_dir()
NS = {"repo": "http://linux.duke.edu/metadata/repo", "common": "http://linux.duke.edu/metadata/common"}

SYSTEM = {"filesystem", "glibc", "libstdc++", "python3-libs", "gdb"}
# Release 1 also ships the Python interpreter with its debuginfo and gdb helper (the Python crash).
PYTHON = {"python3", "python3-debuginfo"}
EXPECTED_OS = {
    "1": SYSTEM | {"python3", "crashy-1.0-1", "crashy-1.0-2", "crashy-cxx-1.0-1", "crashy-cxx-1.0-2",
                   "libtoken-1.0-1", "libtoken-1.1-1", "libtoken-devel-1.0-1", "libtoken-devel-1.1-1",
                   "libparse-1.0-1", "libparse-devel-1.0-1"},
    "2": SYSTEM | {"crashy-2.0-1", "crashy-cxx-2.0-1", "libtoken-2.0-1", "libtoken-devel-2.0-1",
                   "libparse-2.0-1", "libparse-devel-2.0-1"},
}
EXPECTED_DEBUG = {
    "1": {"glibc-debuginfo", "python3-debuginfo", "crashy-debuginfo-1.0-1", "crashy-debuginfo-1.0-2", "crashy-debugsource-1.0-1",
          "crashy-debugsource-1.0-2", "libtoken-debuginfo-1.0-1", "libtoken-debuginfo-1.1-1",
          "libtoken-debugsource-1.0-1", "libtoken-debugsource-1.1-1", "libparse-debuginfo-1.0-1",
          "libparse-debugsource-1.0-1"},
    "2": {"glibc-debuginfo", "crashy-debuginfo-2.0-1", "crashy-debugsource-2.0-1", "libtoken-debuginfo-2.0-1",
          "libtoken-debugsource-2.0-1", "libparse-debuginfo-2.0-1", "libparse-debugsource-2.0-1"},
}


def repo_packages(repo):
    """(name, version, release, location, sha256) of every package in a repository's primary.xml."""
    repomd = ET.parse(os.path.join(repo, "repodata", "repomd.xml"))
    href = repomd.find("repo:data[@type='primary']/repo:location", NS).get("href")
    with gzip.open(os.path.join(repo, href)) as f:
        primary = ET.parse(f)
    pkgs = []
    for p in primary.getroot().findall("common:package", NS):
        v = p.find("common:version", NS)
        pkgs.append((p.find("common:name", NS).text, v.get("ver"), v.get("rel"),
                     p.find("common:location", NS).get("href"), p.find("common:checksum", NS).text))
    return pkgs


def short(name, ver, rel, dist):
    """'crashy-1.0-1' for own packages (name-version-release without the dist tag), else the name."""
    if name in SYSTEM or name in PYTHON or name == "glibc-debuginfo":
        return name
    return f"{name}-{ver}-{rel.removesuffix('.tos' + dist)}"


def rpm_q(path, *args):
    return subprocess.run(["rpm", "-qp", *args, path], capture_output=True, text=True, check=True).stdout


def test_repositories_list_expected_packages():
    for dist in ("1", "2"):
        for kind, expected in (("os", EXPECTED_OS), ("debug", EXPECTED_DEBUG)):
            repo = os.path.join(TOS, "repos", dist, "x86_64", kind)
            pkgs = repo_packages(repo)
            names = {short(n, v, r, dist) for n, v, r, _, _ in pkgs}
            rt.check(names == expected[dist],
                     f"{repo}: unexpected {sorted(names - expected[dist])}, missing {sorted(expected[dist] - names)}")
            for n, v, r, loc, sha in pkgs:
                rt.check(r.endswith(f".tos{dist}"), f"{n}-{v}-{r} lacks the .tos{dist} dist tag")
                with open(os.path.join(repo, loc), "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                rt.check(digest == sha, f"{loc}: sha256 {digest} differs from the repodata's {sha}")


def test_payload_compressions_are_mixed():
    seen = set()
    for dist in ("1", "2"):
        d = os.path.join(TOS, "repos", dist, "x86_64", "os", "Packages")
        for f in os.listdir(d):
            seen.add(rpm_q(os.path.join(d, f), "--qf", "%{PAYLOADCOMPRESSOR}"))
    rt.check({"zstd", "xz", "gzip"} <= seen, f"payload compressors seen: {seen}")


def package_path(dist, kind, nvr):
    return os.path.join(TOS, "repos", dist, "x86_64", kind, "Packages", f"{nvr}.x86_64.rpm")


def test_package_contents():
    crashy = rpm_q(package_path("1", "os", "crashy-1.0-1.tos1"), "-l").split()
    rt.check("/usr/bin/crashy" in crashy, crashy)
    rt.check(any(p.startswith("/usr/lib/.build-id/") for p in crashy), "crashy has no build-id links")
    dbg = rpm_q(package_path("1", "debug", "crashy-debuginfo-1.0-1.tos1"), "-l").split()
    rt.check(any(p.startswith("/usr/lib/debug/.build-id/") and p.endswith(".debug") for p in dbg),
             f"crashy-debuginfo lacks /usr/lib/debug/.build-id links: {dbg}")
    src = rpm_q(package_path("1", "debug", "crashy-debugsource-1.0-1.tos1"), "-l").split()
    rt.check(any(p.endswith("/crashy.c") for p in src), src)
    tok = rpm_q(package_path("2", "os", "libtoken-2.0-1.tos2"), "-l").split()
    rt.check("/usr/lib/x86_64-linux-gnu/libtoken.so.2" in tok, tok)
    rt.check("libtoken.so.2()(64bit)" in rpm_q(package_path("2", "os", "libtoken-2.0-1.tos2"), "--provides"),
             "libtoken 2.0 does not provide its soname")
    rt.check("libparse.so.1()(64bit)" in rpm_q(package_path("1", "os", "crashy-1.0-2.tos1"), "--requires"),
             "crashy does not require libparse's soname")


def test_system_packages_make_a_root():
    glibc = next(f for f in os.listdir(os.path.join(TOS, "repos", "1", "x86_64", "os", "Packages"))
                 if f.startswith("glibc-"))
    files = rpm_q(os.path.join(TOS, "repos", "1", "x86_64", "os", "Packages", glibc), "-l").split()
    rt.check("/usr/lib64/ld-linux-x86-64.so.2" in files, "glibc lacks /usr/lib64/ld-linux-x86-64.so.2")
    rt.check("/usr/lib/x86_64-linux-gnu/libc.so.6" in files, "glibc lacks libc.so.6")
    fs = next(f for f in os.listdir(os.path.join(TOS, "repos", "1", "x86_64", "os", "Packages"))
              if f.startswith("filesystem-"))
    listing = rpm_q(os.path.join(TOS, "repos", "1", "x86_64", "os", "Packages", fs), "-lv")
    rt.check(any(line.startswith("l") and line.endswith("/lib64 -> usr/lib64") for line in listing.splitlines()),
             f"filesystem lacks the /lib64 -> usr/lib64 symlink:\n{listing}")
    gdb = next(f for f in os.listdir(os.path.join(TOS, "repos", "1", "x86_64", "os", "Packages"))
               if f.startswith("gdb-"))
    files = rpm_q(os.path.join(TOS, "repos", "1", "x86_64", "os", "Packages", gdb), "-l").split()
    rt.check("/usr/bin/gdb" in files and any(f.startswith("/usr/share/gdb/python/") for f in files),
             "gdb lacks its binary or its data directory")


def test_plugin_file_present():
    with open(os.path.join(TOS, "plugins", "testos.conf")) as f:
        text = f.read()
    rt.check("abrtparser = ^TestOS release ([0-9]+)" in text, text)
    for dist in ("1", "2"):
        for kind in ("os", "debug"):
            rt.check(os.path.isdir(os.path.join(TOS, "plugins", "..", "repos", dist, "x86_64", kind, "repodata")),
                     "the plugin's relative mirror paths do not reach the repositories")


rt.run_tests([test_repositories_list_expected_packages, test_payload_compressions_are_mixed,
              test_package_contents, test_system_packages_make_a_root, test_plugin_file_present])
