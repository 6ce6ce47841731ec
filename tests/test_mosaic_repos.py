#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The generated Mosaic distribution (tests/mosaic) has the shapes it exists for: each release's
_build_id_links mode, debuginfo layout and dwz use, as rpm -qlp and readelf see them; its crashes
are ABRT problem directories whose expected.json agrees with the core and the repositories."""

import gzip
import json
import os
import subprocess
import tarfile
import tempfile
import xml.etree.ElementTree as ET

import retrace_test as rt

rt.require_tool("rpm", "rpm2cpio", "cpio", "readelf", "eu-unstrip")
MOS = os.environ.get("RETRACE_MOSAIC_DIR")
if not MOS or not os.path.exists(os.path.join(MOS, "manifest.json")):
    rt.fail(f"{MOS}/manifest.json is missing: the mosaic generator did not run (ninja tests/mosaic.stamp)")
with open(os.path.join(MOS, "manifest.json")) as f:
    MANIFEST = json.load(f)
NS = {"repo": "http://linux.duke.edu/metadata/repo", "common": "http://linux.duke.edu/metadata/common"}
VERSIONS = ["10", "11", "12", "13"]
REPOS = ["base", "updates", "debuginfo", "updates-debuginfo"]
SYSTEM = {"filesystem", "glibc", "libstdc++", "python3-libs", "gdb"}
WORK = tempfile.mkdtemp(prefix="test-mosaic-")


def repo_dir(ver, repo):
    return os.path.join(MOS, "repos", ver, "x86_64", repo)


def repo_packages(ver, repo):
    """{name-version-release.arch: file path} of a repository, from its primary.xml."""
    d = repo_dir(ver, repo)
    repomd = ET.parse(os.path.join(d, "repodata", "repomd.xml"))
    href = repomd.find("repo:data[@type='primary']/repo:location", NS).get("href")
    with gzip.open(os.path.join(d, href)) as f:
        primary = ET.parse(f)
    pkgs = {}
    for p in primary.getroot().findall("common:package", NS):
        v = p.find("common:version", NS)
        key = f"{p.find('common:name', NS).text}-{v.get('ver')}-{v.get('rel')}.{p.find('common:arch', NS).text}"
        pkgs[key] = os.path.join(d, p.find("common:location", NS).get("href"))
    return pkgs


ALL = {(ver, repo): repo_packages(ver, repo) for ver in VERSIONS for repo in REPOS}


def find(ver, nevra):
    for (v, repo), pkgs in ALL.items():
        if v == ver and nevra in pkgs:
            return repo, pkgs[nevra]
    return None, None


def files_of(path):
    out = subprocess.run(["rpm", "-qlp", path], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.startswith("/")]


def own(ver, name, vr):
    arch = "noarch" if name == "wheel-data" else "x86_64"
    repo, path = find(ver, f"{name}-{vr}.mo{ver}.{arch}")
    rt.check(path, f"{name}-{vr}.mo{ver}.{arch} is in no repository of release {ver}")
    return path


def unpack(path):
    root = os.path.join(WORK, os.path.basename(path))
    if not os.path.isdir(root):
        rt.extract_rpms(root, [path])
    return root


def readelf(path, *args):
    return subprocess.run(["readelf", "-W", *args, path], capture_output=True, text=True, check=True).stdout


def debuginfo_name(ver, sub):
    return f"{sub}-debuginfo" if MANIFEST["releases"][ver]["settings"]["subpkgs"] else {
        "libgears": "cogwork", "cogwork-tools": "cogwork", "wheel-crank": "wheel", "wheel": "wheel"}[sub] + "-debuginfo"


def test_repositories():
    for ver in VERSIONS:
        for repo in REPOS:
            rt.check(os.path.isfile(os.path.join(MOS, "plugins", "..", "repos", ver, "x86_64", repo,
                                                 "repodata", "repomd.xml")), f"{ver}/{repo} has no repodata")
        base = {n.rsplit("-", 2)[0] for n in ALL[(ver, "base")]}
        rt.check(SYSTEM <= base, f"release {ver} base lacks system packages: {SYSTEM - base}")
        rt.check(any(n.startswith("glibc-debuginfo-") for n in ALL[(ver, "debuginfo")]), "no glibc-debuginfo")
        # two versions of libgears in one release, from two repositories
        rt.check(find(ver, f"libgears-1.4-1.mo{ver}.x86_64")[0] == "base", f"{ver}: libgears 1.4 not in base")
        rt.check(find(ver, f"libgears-1.5-1.mo{ver}.x86_64")[0] == "updates", f"{ver}: libgears 1.5 not in updates")
        rt.check(find(ver, f"wheel-data-1.0-1.mo{ver}.noarch")[0] in ("base", "updates"), f"{ver}: no noarch wheel-data")
        names = {n.rsplit("-", 2)[0] for pkgs in (ALL[(ver, r)] for r in REPOS) for n in pkgs}
        rt.check("cogwork" not in names, "cogwork has no binary package of its own")
    rt.check(find("12", "wheel-1.0-1.mo12.x86_64")[0] == "updates", "release 12's wheel is not in updates")
    # the missing-library crash: axle-libs and its debuginfo are built but not published
    rt.check(find("11", "hub-1.0-1.mo11.x86_64")[0] == "base", "hub is not in release 11")
    for ver in VERSIONS:
        for pkgs in (ALL[(ver, r)] for r in REPOS):
            rt.check(not any(n.startswith(("axle-libs-", "axle-debuginfo-")) for n in pkgs),
                     f"axle-libs or axle-debuginfo is in release {ver}'s repositories")


def test_epoch_and_compressors():
    wheel = own("10", "wheel", "1.0-1")
    q = subprocess.run(["rpm", "-qp", "--qf", "%{EPOCH}", wheel], capture_output=True, text=True).stdout
    rt.check(q == "2", f"wheel's epoch is {q}")
    seen = set()
    for pkgs in ALL.values():
        for n, path in pkgs.items():
            if ".mo" in n:
                seen.add(subprocess.run(["rpm", "-qp", "--qf", "%{PAYLOADCOMPRESSOR}", path],
                                        capture_output=True, text=True).stdout)
    rt.check({"xz", "zstd", "gzip"} <= seen, f"payload compressors: {seen}")


def build_id_paths(ver):
    out = []
    for pkgs in (ALL[(ver, r)] for r in REPOS):
        for n, path in pkgs.items():
            if f".mo{ver}." in n:
                out += [(n, p) for p in files_of(path) if "/.build-id/" in p]
    return out


def test_build_id_link_modes():
    # 10 compat, shared libraries keep their execute bit: libgears has its /usr/lib/.build-id link
    lib10 = files_of(own("10", "libgears", "1.4-1"))
    rt.check(any(p.startswith("/usr/lib/.build-id/") for p in lib10), f"10: libgears lacks a build-id link: {lib10}")
    dbg10 = files_of(own("10", "libgears-debuginfo", "1.4-1"))
    rt.check(any(p.startswith("/usr/lib/debug/.build-id/") and not p.endswith(".debug") for p in dbg10),
             f"10: libgears-debuginfo lacks the compat link: {dbg10}")
    # 11 separate, brp-elfperms: no link for libgears, one for wheel; debuginfo has only .debug links
    lib11 = files_of(own("11", "libgears", "1.4-1"))
    rt.check(not any("/.build-id/" in p for p in lib11), f"11: libgears has a build-id link: {lib11}")
    rt.check(any(p.startswith("/usr/lib/.build-id/") for p in files_of(own("11", "wheel", "1.0-1"))),
             "11: wheel lacks its build-id link")
    dbg11 = files_of(own("11", "cogwork-debuginfo", "1.4-1"))
    rt.check(all(p.endswith(".debug") for p in dbg11 if p.startswith("/usr/lib/debug/.build-id/") and p.count("/") == 6),
             f"11: debuginfo has main-file links: {dbg11}")
    # 12 alldebug: no binary package has a link, debuginfo has both
    for n, p in build_id_paths("12"):
        rt.check("-debuginfo-" in n, f"12: {n} has {p}")
    # 13 none: no build-id path in any package
    paths = build_id_paths("13")
    rt.check(not paths, f"13: build-id paths exist: {paths[:5]}")


def test_debuginfo_layouts_and_dwz():
    for ver in VERSIONS:
        settings = MANIFEST["releases"][ver]["settings"]
        names = {n.rsplit("-", 2)[0] for n in ALL[(ver, "debuginfo")]}
        per_sub = {"libgears-debuginfo", "cogwork-tools-debuginfo", "wheel-crank-debuginfo"}
        if settings["subpkgs"]:
            rt.check(per_sub <= names, f"{ver}: per-subpackage debuginfo missing: {names}")
        else:
            rt.check(not per_sub & names, f"{ver}: per-subpackage debuginfo present: {names}")
        dpkg = own(ver, debuginfo_name(ver, "libgears"), "1.4-1")
        files = files_of(dpkg)
        suffix = f"-1.4-1.mo{ver}.x86_64.debug" if settings["unique"] else ".debug"
        debug_file = f"/usr/lib/debug/usr/lib64/libgears.so.1.4{suffix}"
        rt.check(debug_file in files, f"{ver}: {debug_file} not in {os.path.basename(dpkg)}: {files}")
        sections = readelf(os.path.join(unpack(dpkg), debug_file.lstrip("/")), "-S")
        all_files = [p for pkgs in (ALL[(ver, r)] for r in REPOS) for n, path in pkgs.items()
                     if f".mo{ver}." in n and "-debuginfo-" in n for p in files_of(path)]
        dwz_files = [p for p in all_files if p.startswith("/usr/lib/debug/.dwz/")]
        if settings["dwz"]:
            rt.check(".gnu_debugaltlink" in sections, f"{ver}: libgears's debug file has no .gnu_debugaltlink")
            rt.check(f"/usr/lib/debug/.dwz/cogwork-1.4-1.mo{ver}.x86_64" in dwz_files, f"{ver}: .dwz files: {dwz_files}")
            rt.check(f"/usr/lib/debug/.dwz/cogwork-1.4-1.mo{ver}.x86_64" in files_of(own(ver, "cogwork-debuginfo", "1.4-1")),
                     f"{ver}: cogwork-debuginfo does not hold the .dwz file")
        else:
            rt.check(".gnu_debugaltlink" not in sections, f"{ver}: libgears's debug file has a .gnu_debugaltlink")
            rt.check(not dwz_files, f"{ver}: .dwz files: {dwz_files}")


def test_package_note():
    for ver in VERSIONS:
        wheel = os.path.join(unpack(own(ver, "wheel", "1.0-1")), "usr/bin/wheel")
        notes = readelf(wheel, "-n")
        if ver == "13":
            meta = next(line.split(":", 1)[1].strip() for line in notes.splitlines() if "Packaging Metadata:" in line)
            rt.check(json.loads(meta) == {"type": "rpm", "name": "wheel", "version": "2:1.0-1.mo13",
                                          "architecture": "x86_64", "os": "mosaic", "osVersion": "13"}, meta)
        else:
            rt.check("FDO_PACKAGING_METADATA" not in notes, f"{ver}: wheel has a package note")


def test_multilib():
    """Release 10 carries i686 builds next to the x86_64 ones (same names, other arch)."""
    for name, vr in (("libgears", "1.4-1"), ("wheel", "1.0-1"), ("wheel-crank", "1.0-1")):
        rt.check(find("10", f"{name}-{vr}.mo10.i686")[0] == "base", f"10: no {name}.i686 in base")
        rt.check(find("10", f"{name}-debuginfo-{vr}.mo10.i686")[0] == "debuginfo", f"10: no {name}-debuginfo.i686")
    lib = os.path.join(unpack(own_arch("10", "libgears", "1.4-1", "i686")), "usr/lib/libgears.so.1.4")
    rt.check("ELF32" in readelf(lib, "-h"), "libgears.i686 is not a 32-bit ELF file")
    glibc = [n for n in ALL[("10", "base")] if n.startswith("glibc-") and n.endswith(".i686")]
    rt.check(glibc and "/usr/lib/ld-linux.so.2" in files_of(ALL[("10", "base")][glibc[0]]), f"glibc.i686: {glibc}")
    for ver in ("11", "12", "13"):
        rt.check(not any(n.endswith(".i686") for r in REPOS for n in ALL[(ver, r)]), f"{ver} has i686 packages")


def own_arch(ver, name, vr, arch):
    return find(ver, f"{name}-{vr}.mo{ver}.{arch}")[1]


def core_build_ids(core):
    out = subprocess.run(["eu-unstrip", "-n", "--core", core], capture_output=True, text=True, check=True).stdout
    return {line.split()[1].split("@")[0] for line in out.splitlines() if "@" in line}


def test_crashes():
    names = {c["name"] for c in MANIFEST["crashes"]}
    rt.check({"m10-wheel", "m11-wheel", "m12-wheel", "m13-wheel", "m11-hub-missing"} <= names, names)
    for c in MANIFEST["crashes"]:
        pdir = os.path.join(MOS, "crashes", c["name"])
        with open(os.path.join(pdir, "expected.json")) as f:
            exp = json.load(f)
        ver = exp["release"]
        for fname in ("coredump", "executable", "package", "os_release", "os_info", "architecture", "reason",
                      "time", "uid", "type", "analyzer", "component", "cmdline"):
            rt.check(os.path.isfile(os.path.join(pdir, fname)), f"{c['name']}: no {fname}")
        with open(os.path.join(pdir, "os_release")) as f:
            rt.check(f.read().startswith(f"Mosaic Linux release {ver} ("), f"{c['name']}: os_release")
        with open(os.path.join(pdir, "package")) as f:
            package = f.read()
        rt.check(package == exp["package"], f"{c['name']}: package {package} != {exp['package']}")
        if exp["executable"] == "/usr/bin/wheel":
            rt.check(package == f"wheel-2:1.0-1.mo{ver}", f"{c['name']}: package is {package}")
            rt.check(len(exp["frames"]) >= 4 and {m["binary"].split("-1.")[0] for m in exp["modules"]} ==
                     {"wheel", "wheel-crank", "libgears"}, f"{c['name']}: modules {exp['modules']}")
            rt.check(any(m["binary"] == f"libgears-1.4-1.mo{ver}.x86_64" for m in exp["modules"]),
                     f"{c['name']}: the crash does not use libgears 1.4")
        rt.check(exp["release_id"] == f"mosaic-{ver}-x86_64", exp["release_id"])
        bids = core_build_ids(os.path.join(pdir, "coredump"))
        for m in exp["modules"]:
            rt.check(m["build_id"] in bids, f"{c['name']}: {m['path']} build-id {m['build_id']} not in the core")
            published = find(ver, m["binary"])[1] is not None
            rt.check(published == (m["path"] not in exp["missing"]),
                     f"{c['name']}: {m['binary']} published={published}, missing={exp['missing']}")
            if published:
                rt.check(find(ver, m["debuginfo"])[1], f"{c['name']}: {m['debuginfo']} not published")
                if m["dwz"]:
                    rt.check(find(ver, m["dwz"])[1], f"{c['name']}: {m['dwz']} not published")
        dwz_expected = MANIFEST["releases"][ver]["settings"]["dwz"]
        rt.check(all(bool(m["dwz"]) == dwz_expected for m in exp["modules"]), f"{c['name']}: dwz {exp['modules']}")
        if c["name"] == "m11-hub-missing":
            rt.check(exp["missing"] == ["/usr/lib64/libaxle.so.0"], f"missing: {exp['missing']}")
        if c["name"] in ("m10-wheel", "m11-wheel", "m13-wheel"):
            rt.check(any(m["path"] == "/lib64/libgears.so.1" for m in exp["modules"]),
                     f"{c['name']}: libgears is not named through /lib64: {exp['modules']}")
        with tarfile.open(os.path.join(MOS, "crashes", c["name"] + ".tar.xz")) as tar:
            rt.check({"coredump", "executable", "package", "os_release"} <= set(tar.getnames()), tar.getnames())


def test_plugin_file():
    with open(os.path.join(MOS, "plugins", "mosaic.conf")) as f:
        text = f.read()
    for line in ("distribution = mosaic", "versionlist = 10 11 12 13", "guessparser = \\.mo([0-9]+)",
                 "mirrors = ../repos/$VER/$ARCH/updates-debuginfo"):
        rt.check(line in text, f"{line!r} not in mosaic.conf:\n{text}")
    check = os.path.join(os.environ.get("RETRACE_BUILD_DIR", ""), "rpmcache", "retrace-server-plugin-check")
    if os.path.exists(check):
        r = subprocess.run([check, os.path.join(MOS, "plugins", "mosaic.conf")], capture_output=True, text=True)
        rt.check(r.returncode == 0, f"plugin-check: {r.stdout}{r.stderr}")


try:
    rt.run_tests([test_repositories, test_epoch_and_compressors, test_build_id_link_modes,
                  test_debuginfo_layouts_and_dwz, test_package_note, test_multilib, test_crashes, test_plugin_file])
finally:
    rt.rmtree(WORK)
