#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Each generated crash is a real ABRT problem directory: its core's build-ids (eu-unstrip -n --core)
are those of the TestOS binaries it was made from, and its upload archives hold exactly the files
an ABRT client sends."""

import os
import re
import subprocess
import tarfile
import tempfile

import retrace_test as rt

rt.require_tool("eu-unstrip", "eu-readelf", "rpm2cpio", "cpio")
TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()


def elf_build_ids(root):
    """{build-id: path inside root} of every ELF file under root."""
    ids = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            path = os.path.join(dirpath, f)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as fh:
                if fh.read(4) != b"\x7fELF":
                    continue
            out = subprocess.run(["eu-readelf", "-n", path], capture_output=True, text=True).stdout
            m = re.search(r"Build ID: ([0-9a-f]+)", out)
            if m:
                ids[m.group(1)] = "/" + os.path.relpath(path, root)
    return ids


def core_build_ids(core):
    out = subprocess.run(["eu-unstrip", "-n", "--core", core], capture_output=True, text=True, check=True).stdout
    mods = {}
    for line in out.splitlines():
        parts = line.split()
        if "@" in parts[1]:
            mods[parts[4]] = parts[1].split("@")[0]
    return mods


def test_core_build_ids_are_testos_binaries():
    for crash in MANIFEST["crashes"]:
        with tempfile.TemporaryDirectory() as root:
            # The interpreter's extension modules and libraries come from python3-libs and gdb.
            non_system = [n for n in crash["packages"] if crash["kind"] == "python3"
                          or not n.startswith(("gdb-", "python3-libs-", "filesystem-"))]
            rt.extract_rpms(root, [rt.testos_package_path(n) for n in non_system])
            pkg_ids = elf_build_ids(root)
            core = core_build_ids(os.path.join(TOS, "crashes", crash["name"], "coredump"))
            rt.check(crash["executable"] in core, f"{crash['name']}: {crash['executable']} not in core: {core}")
            for module, bid in core.items():
                if module.startswith("linux-vdso"):
                    continue
                rt.check(bid in pkg_ids, f"{crash['name']}: module {module} has build-id {bid}, which no "
                                         f"package of the crash provides ({sorted(pkg_ids.values())})")
                if module.startswith("/"):
                    # The core names the file by the path the loader used; the package file sits there
                    # or behind the merged-/usr symlinks.
                    rt.check(os.path.basename(pkg_ids[bid]) == os.path.basename(module),
                             f"{crash['name']}: {module} is {pkg_ids[bid]} in the packages")
            names = " ".join(core)
            if crash["kind"] == "python3":
                rt.check("_ctypes" in names, names)
            elif crash["executable"] == "/usr/bin/crashy":
                rt.check("libtoken.so" in names and "libparse.so" in names, names)
            else:
                rt.check("libstdc++" in names, names)


def test_problem_directories():
    for crash in MANIFEST["crashes"]:
        d = os.path.join(TOS, "crashes", crash["name"])
        # What ABRT's ccpp hook writes and libreport needs (dd_opendir() refuses a directory without time).
        for f in ("coredump", "executable", "package", "os_release", "os_info", "architecture", "cmdline",
                  "reason", "time", "uid", "type", "analyzer", "count", "uuid", "duphash", "component",
                  "pkg_name", "pkg_version", "pkg_release", "pkg_arch", "last_occurrence", "hostname"):
            rt.check(os.path.isfile(os.path.join(d, f)), f"{d}/{f} is missing")
        read = lambda f: open(os.path.join(d, f)).read()  # noqa: E731
        rt.check(read("os_release").strip() == MANIFEST["releases"][crash["release"]]["os_release"],
                 read("os_release"))
        rt.check(re.fullmatch(r"TestOS release \d+ \(\w+\)\n", read("os_release")), read("os_release"))
        rt.check(f"VERSION_ID={crash['release']}\n" in read("os_info"), read("os_info"))
        rt.check(read("architecture") == "x86_64", read("architecture"))
        nvr = read("package")
        rt.check(f"{nvr}.x86_64" in crash["packages"], f"package {nvr} is not one the crash ran")
        rt.check(re.fullmatch(r"[a-z0-9+-]+-\d+(\.\d+)+-\d+\.tos\d", nvr), nvr)
        with open(os.path.join(d, "coredump"), "rb") as f:
            head = f.read(18)
        rt.check(head[:4] == b"\x7fELF" and head[16] == 4, f"{d}/coredump is not an ELF core file")
        rt.check(crash["signal"] in read("reason"), read("reason"))
        rt.check(read("time").isdigit() and read("count") == "1" and read("type") == "CCpp", d)
        rt.check(re.fullmatch(r"[0-9a-f]{40}", read("duphash")) and read("uuid") == read("duphash"), d)


def test_upload_archives():
    for crash in MANIFEST["crashes"]:
        d = os.path.join(TOS, "crashes", crash["name"])
        for ext, mode in ((".tar.xz", "r:xz"), (".tar.gz", "r:gz"), (".tar", "r:")):
            with tarfile.open(os.path.join(TOS, "crashes", crash["name"] + ext), mode) as tar:
                members = tar.getmembers()
                rt.check(sorted(m.name for m in members) == ["coredump", "executable", "os_release", "package"],
                         f"{crash['name']}{ext}: {[m.name for m in members]}")
                for m in members:
                    rt.check(m.isreg(), f"{m.name} is not a regular file")
                    with open(os.path.join(d, m.name), "rb") as f:
                        rt.check(tar.extractfile(m).read() == f.read(), f"{crash['name']}{ext}: {m.name} differs")


def test_crash_kinds_present():
    signals = {c["name"]: c["signal"] for c in MANIFEST["crashes"]}
    for dist in ("1", "2"):
        rt.check(signals[f"r{dist}-null"] == "SIGSEGV", signals)
        rt.check(signals[f"r{dist}-abort"] == "SIGABRT", signals)
        rt.check(signals[f"r{dist}-cxx"] == "SIGABRT", signals)
        rt.check(signals[f"r{dist}-threads"] == "SIGSEGV", signals)
    for name, sig in (("r1-wild-write", "SIGSEGV"), ("r1-wild-jump", "SIGSEGV"), ("r1-smash", "SIGABRT"),
                      ("r1-recurse", "SIGSEGV"), ("r1-python", "SIGSEGV")):
        rt.check(signals[name] == sig, signals)
    rt.check(any(c["python_frames"] for c in MANIFEST["crashes"]), "no Python crash")


rt.run_tests([test_core_build_ids_are_testos_binaries, test_problem_directories, test_upload_archives,
              test_crash_kinds_present])
