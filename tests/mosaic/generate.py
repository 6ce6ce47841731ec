#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generates Mosaic, the second test distribution: the same sources packaged under each of the rpm
settings real distributions differ in, so that package resolution cannot pass only because of
TestOS's shape.

    generate.py --out DIR [--testos DIR] [--stamp FILE] [--keep-work]

DIR/ receives:
  repos/<ver>/x86_64/{base,updates,debuginfo,updates-debuginfo}/   createrepo_c repositories
  crashes/<name>/        ABRT problem directories of real crashes + expected.json
  crashes/<name>.tar.xz|.tar.gz|.tar   upload archives
  plugins/mosaic.conf    the distribution plugin, mirrors relative to its directory
  manifest.json          packages (with repository, or null when deliberately left out) and crashes

The system packages (filesystem, glibc, glibc-debuginfo, libstdc++, python3-libs, gdb) are TestOS
release 1's RPMs ($RETRACE_TESTOS_DIR or --testos), hard-linked into every release. Mosaic's own
packages (cogwork → libgears + cogwork-tools, wheel (Epoch 2) → wheel + wheel-crank + wheel-data,
axle → axle-libs, hub) are built here with rpmbuild under per-release settings (RELEASES below),
and the generator checks with rpm -qlp and the files' ELF sections that rpm produced the intended
shape. No network is used; the output is replaced atomically.
"""

import argparse
import concurrent.futures
import glob
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "helpers"))
import retrace_test as rt  # noqa: E402

# TestOS's generator, for its helpers only (loaded by path: this file has the same module name).
_spec = importlib.util.spec_from_file_location("testos_generate", os.path.join(HERE, "..", "testos", "generate.py"))
testos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(testos)

ARCH = "x86_64"
LIBDIR = "/usr/lib64"     # not on the loader's default path here: programs carry a RUNPATH
PLUGINDIR = "/usr/lib64/wheel"
# Multilib: release 10 also carries i686 builds of cogwork 1.4 and wheel, and an i686 glibc
# repackaged from Debian's libc6-i386 (its loader /lib/ld-linux.so.2 searches /usr/lib32).
MULTILIB_RELEASE = "10"
LIBDIR_I686 = "/usr/lib"
PLUGINDIR_I686 = "/usr/lib/wheel"
DISTRIBUTION = "mosaic"
ZSTD, XZ, GZIP = testos.ZSTD, testos.XZ, testos.GZIP
JOBS = 2  # releases built (and crashes made) at the same time
DWZ_OPTS = "--run-dwz --dwz-low-mem-die-limit 10000000 --dwz-max-die-limit 110000000"

# Per release: the rpm settings its packages are built with, and which repository gets wheel.
#   links     _build_id_links
#   subpkgs   _debuginfo_subpackages (1: libgears-debuginfo, …; 0: cogwork-debuginfo covers libgears)
#   dwz       find-debuginfo runs dwz (.dwz alt file, .gnu_debugaltlink in the debug files)
#   elfperms  Debian's brp-elfperms drops the execute bit of shared libraries, so rpm makes no
#             /usr/lib/.build-id link for them in the binary package (Fedora keeps the bit)
#   unique    _unique_debug_names (…-V-R.arch.debug)
#   debugsrc  _debugsource_packages
#   rpath     RUNPATH of the programs (/lib64 is a symlink to usr/lib64 in the filesystem package,
#             so the link map names libraries through it)
#   comp      payload compressor per source package
RELEASES = {
    "10": dict(codename="Agate", links="compat", subpkgs=1, dwz=True, elfperms=False, unique=1, debugsrc=1,
               rpath="/lib64", wheel_repo="base", comp={"cogwork": XZ, "wheel": ZSTD}),
    "11": dict(codename="Beryl", links="separate", subpkgs=0, dwz=False, elfperms=True, unique=0, debugsrc=0,
               rpath="/lib64", wheel_repo="base",
               comp={"cogwork": ZSTD, "wheel": GZIP, "axle": XZ, "hub": ZSTD}),
    "12": dict(codename="Cinnabar", links="alldebug", subpkgs=0, dwz=True, elfperms=True, unique=1, debugsrc=0,
               rpath="/usr/lib64", wheel_repo="updates", comp={"cogwork": GZIP, "wheel": XZ}),
    "13": dict(codename="Dolomite", links="none", subpkgs=1, dwz=True, elfperms=False, unique=0, debugsrc=1,
               rpath="/lib64", wheel_repo="base", comp={"cogwork": ZSTD, "wheel": XZ}, pkgnote=True),
}
VERSIONS = list(RELEASES)
REPOS = ["base", "updates", "debuginfo", "updates-debuginfo"]
DEBUG_REPO = {"base": "debuginfo", "updates": "updates-debuginfo"}

COGWORK = [("1.4", "1", "base"), ("1.5", "1", "updates")]  # two versions of libgears in each release
WHEEL_VR = ("1.0", "1")
WHEEL_EPOCH = "2"
AXLE_VR = ("0.9", "1")
HUB_VR = ("1.0", "1")

SYSTEM_PACKAGES = ["filesystem", "glibc", "libstdc++", "python3-libs", "gdb"]
SYSTEM_DEBUG = ["glibc-debuginfo"]

# Crashes: (name, release, program, packages run with (name → V-R), packages left out of the repos)
CRASHES = [
    ("m10-wheel", "10", "wheel", {"libgears": "1.4-1"}, []),
    ("m11-wheel", "11", "wheel", {"libgears": "1.4-1"}, []),
    ("m12-wheel", "12", "wheel", {"libgears": "1.4-1"}, []),
    ("m13-wheel", "13", "wheel", {"libgears": "1.4-1"}, []),
    ("m11-hub-missing", "11", "hub", {}, ["axle-libs", "axle-debuginfo"]),
]


T0 = time.monotonic()


def log(msg):
    print(f"mosaic: [{time.monotonic() - T0:5.1f}s] {msg}", flush=True)


def die(msg):
    sys.exit(f"mosaic: {msg}")


def run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", **kw)
    if r.returncode != 0:
        die(f"command failed ({r.returncode}): {' '.join(argv)}\n{r.stdout[-6000:]}")
    return r.stdout


def nevra(p):
    return f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}"


# ---------------------------------------------------------------- ELF sections

def elf_sections(path):
    """{section name: contents} of an ELF file (32- or 64-bit little-endian); NOBITS sections are b''."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[5] != 1:
        return None
    if data[4] == 2:
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        fmt, (o_name, o_type, o_off, o_size) = "<IIQQQQIIQQ", (0, 1, 4, 5)
    else:
        shoff, = struct.unpack_from("<I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
        fmt, (o_name, o_type, o_off, o_size) = "<IIIIIIIIII", (0, 1, 4, 5)
    if not shoff or shstrndx >= shnum:
        return {}
    heads = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    strtab = heads[shstrndx]
    names = data[strtab[o_off]:strtab[o_off] + strtab[o_size]]
    out = {}
    for h in heads:
        name = names[h[o_name]:names.index(b"\0", h[o_name])].decode()
        out[name] = b"" if h[o_type] == 8 else data[h[o_off]:h[o_off] + h[o_size]]
    return out


def elf_class64(path):
    with open(path, "rb") as f:
        return f.read(5)[4] == 2


def parse_notes(blob):
    """[(owner, type, desc)] of an ELF note section."""
    notes, pos = [], 0
    while pos + 12 <= len(blob):
        namesz, descsz, ntype = struct.unpack_from("<III", blob, pos)
        name_end = pos + 12 + ((namesz + 3) & ~3)
        notes.append((blob[pos + 12:pos + 12 + namesz].rstrip(b"\0").decode(errors="replace"), ntype,
                      blob[name_end:name_end + descsz]))
        pos = name_end + ((descsz + 3) & ~3)
    return notes


def elf_facts(path):
    """build_id, altlink (path, build-id) and package note (dict) of an ELF file, or None."""
    secs = elf_sections(path)
    if secs is None:
        return None
    facts = {"build_id": None, "altlink": None, "package_note": None, "class": 64 if elf_class64(path) else 32,
             "debug_only": ".text" in secs and secs[".text"] == b""}
    for owner, ntype, desc in parse_notes(secs.get(".note.gnu.build-id", b"")):
        if owner == "GNU" and ntype == 3:
            facts["build_id"] = desc.hex()
    if ".gnu_debugaltlink" in secs:
        raw = secs[".gnu_debugaltlink"]
        end = raw.index(b"\0")
        facts["altlink"] = (raw[:end].decode(), raw[end + 1:].hex())
    for owner, ntype, desc in parse_notes(secs.get(".note.package", b"")):
        if owner == "FDO" and ntype == 0xCAFE1A7E:
            facts["package_note"] = json.loads(desc.rstrip(b"\0"))
    return facts


# ---------------------------------------------------------------- rpmbuild

class Builder:
    def __init__(self, work, label="all"):
        self.work = work
        self.topdir = os.path.join(work, f"rpmbuild-{label}")
        for d in ("SOURCES", "SPECS", "BUILD", "RPMS", "BUILDROOT"):
            os.makedirs(os.path.join(self.topdir, d), exist_ok=True)
        self.rpms = []

    def rpmbuild(self, spec, ver, compressor, repo, defines=(), target=None):
        """target "i686" builds the multilib variant: -m32, libraries in /usr/lib, RUNPATH /lib."""
        """Builds spec with release ver's settings; records and returns the produced packages."""
        rel = RELEASES[ver]
        before = set(glob.glob(os.path.join(self.topdir, "RPMS", "*", "*.rpm")))
        argv = ["rpmbuild", "-bb", "--quiet",
                "--define", f"_topdir {self.topdir}",
                "--define", f"dist .mo{ver}",
                "--define", f"_binary_payload {compressor}",
                "--define", f"_libdir {LIBDIR_I686 if target else LIBDIR}",
                "--define", "_enable_debug_packages 1",
                "--define", f"_build_id_links {rel['links']}",
                "--define", f"_debuginfo_subpackages {rel['subpkgs']}",
                "--define", "_unique_debug_srcs 1",
                "--define", "__brp_python_bytecompile %{nil}",
                "--define", "__brp_mangle_shebangs %{nil}",
                "--define", "_buildhost mosaic-builder",
                "--define", "source_date_epoch_from_changelog 0",
                "--define", "use_source_date_epoch_as_buildtime 1",
                "--define", f"rpathdir {'/lib' if target else rel['rpath']}",
                "--define", f"plugindir {PLUGINDIR_I686 if target else PLUGINDIR}"]
        # Both macros are tested for being defined, not for their value: "0" means undefined.
        argv += ["--define", "_unique_debug_names 1"] if rel["unique"] else ["--undefine", "_unique_debug_names"]
        if rel["debugsrc"]:
            argv += ["--define", "_debugsource_packages 1"]
        if rel["dwz"]:
            argv += ["--define", f"_find_debuginfo_dwz_opts {DWZ_OPTS}"]
        if not rel["elfperms"]:
            argv += ["--define", "__brp_elfperms %{nil}"]
        if target:
            argv += ["--target", target, "--define", "archflags -m32"]
        for k, v in defines:
            argv += ["--define", f"{k} {v}"]
        argv.append(spec)
        env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000", LC_ALL="C")
        run(argv, env=env)
        built = sorted(set(glob.glob(os.path.join(self.topdir, "RPMS", "*", "*.rpm"))) - before)
        if not built:
            die(f"rpmbuild produced nothing for {spec}")
        out = []
        for path in built:
            q = run(["rpm", "-qp", "--qf", "%{NAME}\\n%{EPOCHNUM}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n"
                     "%{SOURCERPM}\\n%{PAYLOADCOMPRESSOR}\\n", path]).split("\n")
            debug = q[0].endswith("-debuginfo") or q[0].endswith("-debugsource")
            p = {"path": path, "name": q[0], "epoch": int(q[1]), "version": q[2], "release": q[3],
                 "arch": q[4], "sourcerpm": q[5], "compressor": q[6], "dist_release": ver,
                 "repo": DEBUG_REPO[repo] if debug else repo, "debug": debug}
            self.rpms.append(p)
            out.append(p)
        return out

    def find(self, name, vr, ver, arch=ARCH):
        for p in self.rpms:
            if (p["name"] == name and p["dist_release"] == ver and p["arch"] in (arch, "noarch")
                    and f"{p['version']}-{p['release']}" == f"{vr}.mo{ver}"):
                return p
        die(f"internal error: no package {name}-{vr}.mo{ver}.{arch}")


def build_own_packages(builder, work, ver):
    rel = RELEASES[ver]
    specs = os.path.join(HERE, "specs")
    src = os.path.join(HERE, "src")
    for cver, crel, repo in COGWORK:
        testos.make_tarball(builder, os.path.join(src, f"cogwork-{cver}"), "cogwork", cver)
        builder.rpmbuild(os.path.join(specs, "cogwork.spec"), ver, rel["comp"]["cogwork"], repo,
                         [("ver", cver), ("rel", crel)])
    # wheel is built against libgears 1.4 (the crash runs with 1.4 while 1.5 is in updates).
    wver, wrel = WHEEL_VR
    testos.make_tarball(builder, os.path.join(src, "wheel"), "wheel", wver,
                        [os.path.join(src, "cogwork-1.4", "gears.h")])
    sysroot = os.path.join(work, "sysroot", f"wheel-{ver}")
    rt.extract_rpms(sysroot, [builder.find("libgears", "1.4-1", ver)["path"]])
    defines = [("ver", wver), ("rel", wrel), ("sysroot", sysroot)]
    if rel.get("pkgnote"):
        defines.append(("pkgnote", ver))
    builder.rpmbuild(os.path.join(specs, "wheel.spec"), ver, rel["comp"]["wheel"], rel["wheel_repo"], defines)
    if ver == MULTILIB_RELEASE:
        build_i686(builder, work, ver)
    if ver == "11":
        aver, arel = AXLE_VR
        testos.make_tarball(builder, os.path.join(src, "axle"), "axle", aver)
        builder.rpmbuild(os.path.join(specs, "axle.spec"), ver, rel["comp"]["axle"], "base",
                         [("ver", aver), ("rel", arel)])
        hver, hrel = HUB_VR
        testos.make_tarball(builder, os.path.join(src, "hub"), "hub", hver, [os.path.join(src, "axle", "axle.h")])
        sysroot = os.path.join(work, "sysroot", f"hub-{ver}")
        rt.extract_rpms(sysroot, [builder.find("axle-libs", f"{aver}-{arel}", ver)["path"]])
        builder.rpmbuild(os.path.join(specs, "hub.spec"), ver, rel["comp"]["hub"], "base",
                         [("ver", hver), ("rel", hrel), ("sysroot", sysroot), ("rpathdir", LIBDIR)])


def build_i686(builder, work, ver):
    rel = RELEASES[ver]
    specs = os.path.join(HERE, "specs")
    src = os.path.join(HERE, "src")
    builder.rpmbuild(os.path.join(specs, "cogwork.spec"), ver, rel["comp"]["cogwork"], "base",
                     [("ver", "1.4"), ("rel", "1")], target="i686")
    sysroot = os.path.join(work, "sysroot", f"wheel-{ver}-i686")
    rt.extract_rpms(sysroot, [builder.find("libgears", "1.4-1", ver, "i686")["path"]])
    before = len(builder.rpms)
    builder.rpmbuild(os.path.join(specs, "wheel.spec"), ver, rel["comp"]["wheel"], rel["wheel_repo"],
                     [("ver", WHEEL_VR[0]), ("rel", WHEEL_VR[1]), ("sysroot", sysroot)], target="i686")
    # one wheel-data (noarch) per release: the x86_64 build's
    builder.rpms[before:] = [p for p in builder.rpms[before:] if p["arch"] != "noarch"]

    # glibc.i686 from the host's libc6-i386 (/lib32 → /usr/lib32, the loader also as /usr/lib/ld-linux.so.2)
    stage = os.path.join(work, "stage-i686", "glibc")
    for path in testos.dpkg_files("libc6-i386"):
        if path.startswith("/lib32/") and (os.path.isfile(path) or os.path.islink(path)):
            testos.stage_file(stage, path, "/usr" + path)
    os.makedirs(os.path.join(stage, "usr/lib"), exist_ok=True)
    os.symlink("../lib32/ld-linux.so.2", os.path.join(stage, "usr/lib/ld-linux.so.2"))
    spec = testos.write_repack_spec(builder, "glibc", testos.dpkg_version("libc6-i386"),
                                    "The GNU C library of Mosaic (32-bit x86)", stage,
                                    "Provides: ld-linux.so.2\nAutoReq: no")
    builder.rpmbuild(spec, ver, ZSTD, "base", target="i686")


# ---------------------------------------------------------------- system packages from TestOS

def system_packages(testos_dir):
    """TestOS release 1's system packages: {name: manifest entry with an absolute path}."""
    with open(os.path.join(testos_dir, "manifest.json")) as f:
        manifest = json.load(f)
    found = {}
    for p in manifest["packages"]:
        if p["dist_release"] == "1" and p["name"] in SYSTEM_PACKAGES + SYSTEM_DEBUG:
            found[p["name"]] = dict(p, path=os.path.join(testos_dir, p["file"]))
    missing = set(SYSTEM_PACKAGES + SYSTEM_DEBUG) - set(found)
    if missing:
        die(f"TestOS in {testos_dir} lacks {sorted(missing)}: regenerate it (ninja tests/testos.stamp)")
    return found


# ---------------------------------------------------------------- inspection of the built packages

class Inspector:
    """File lists and ELF facts of every own package (unpacked once into the work directory)."""

    def __init__(self, work):
        self.work = work
        self.files = {}   # nevra → [paths]
        self.elf = {}     # nevra → {path: facts}

    def load(self, p):
        key = nevra(p)
        if key in self.files:
            return
        self.files[key] = [line for line in run(["rpm", "-qlp", p["path"]]).splitlines()
                           if line and line != "(contains no files)"]
        root = os.path.join(self.work, "inspect", key)
        rt.extract_rpms(root, [p["path"]])
        facts = {}
        for path in self.files[key]:
            full = os.path.join(root, path.lstrip("/"))
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            f = elf_facts(full)
            if f:
                facts[path] = f
        self.elf[key] = facts

    def by_build_id(self, packages, build_id, debug):
        """(nevra, path) of the package among packages whose (debug) file has this build-id."""
        for p in packages:
            if p["debug"] != debug:
                continue
            self.load(p)
            for path, f in self.elf[nevra(p)].items():
                if f["build_id"] == build_id and path.startswith("/usr/lib/debug/") == debug:
                    return nevra(p), path
        return None, None

    def holder(self, packages, path):
        for p in packages:
            self.load(p)
            if path in self.files[nevra(p)]:
                return nevra(p)
        return None


def verify_release(builder, insp, ver):
    """Fails loudly unless rpm produced the shape release ver is meant to have."""
    rel = RELEASES[ver]
    own = [p for p in builder.rpms if p["dist_release"] == ver]
    for p in own:
        insp.load(p)

    def pkg(name, vr="1.4-1"):
        return nevra(builder.find(name, vr, ver))

    def check(cond, msg):
        if not cond:
            die(f"release {ver}: rpm did not produce the intended shape: {msg}")

    names = {p["name"] for p in own}
    if rel["subpkgs"]:
        check({"libgears-debuginfo", "cogwork-tools-debuginfo", "wheel-crank-debuginfo"} <= names,
              f"per-subpackage debuginfo missing (have {sorted(names)})")
    else:
        check(not names & {"libgears-debuginfo", "cogwork-tools-debuginfo", "wheel-crank-debuginfo"},
              f"unexpected per-subpackage debuginfo (have {sorted(names)})")
    check(("cogwork-debugsource" in names) == bool(rel["debugsrc"]), "debugsource packages")
    check(builder.find("wheel-data", "1.0-1", ver)["arch"] == "noarch", "wheel-data is not noarch")
    check(builder.find("wheel", "1.0-1", ver)["epoch"] == 2, "wheel has no epoch 2")

    # where libgears's and wheel's debug files are
    lib_debug_pkg = "libgears-debuginfo" if rel["subpkgs"] else "cogwork-debuginfo"
    lib_bid = next(f["build_id"] for path, f in insp.elf[pkg("libgears")].items() if "libgears.so" in path)
    dpkg, dpath = insp.by_build_id(own, lib_bid, True)
    check(dpkg == pkg(lib_debug_pkg), f"libgears's debug file is in {dpkg}, not {pkg(lib_debug_pkg)}")
    suffix = f"-1.4-1.mo{ver}.{ARCH}.debug" if rel["unique"] else ".debug"
    check(dpath.endswith("libgears.so.1.4" + suffix), f"libgears's debug file is named {dpath}")

    all_paths = [(n, path) for n, files in insp.files.items() if n.endswith(f".mo{ver}.{ARCH}")
                 or n.endswith(f".mo{ver}.noarch") for path in files]
    main_links = [(n, path) for n, path in all_paths if path.startswith("/usr/lib/.build-id/")]
    debug_links = [(n, path) for n, path in all_paths if path.startswith("/usr/lib/debug/.build-id/")]
    libgears_link = f"/usr/lib/.build-id/{lib_bid[:2]}/{lib_bid[2:]}"
    libgears_dlink = f"/usr/lib/debug/.build-id/{lib_bid[:2]}/{lib_bid[2:]}"
    if rel["links"] == "none":
        check(not main_links and not debug_links, f"build-id links exist: {(main_links + debug_links)[:3]}")
    elif rel["links"] == "alldebug":
        check(not main_links, f"binary packages carry build-id links: {main_links[:3]}")
        check((pkg(lib_debug_pkg), libgears_dlink) in debug_links, "no libgears main-file link in debuginfo")
        check((pkg(lib_debug_pkg), libgears_dlink + ".debug") in debug_links, "no libgears .debug link")
    else:
        wheel_bid = next(f["build_id"] for f in insp.elf[pkg("wheel", "1.0-1")].values())
        check((pkg("wheel", "1.0-1"), f"/usr/lib/.build-id/{wheel_bid[:2]}/{wheel_bid[2:]}") in main_links,
              "wheel has no /usr/lib/.build-id link")
        check((pkg(lib_debug_pkg), libgears_dlink + ".debug") in debug_links, "no libgears .debug link")
        if rel["elfperms"]:
            check(not any(path == libgears_link for _, path in main_links),
                  "libgears has a /usr/lib/.build-id link although brp-elfperms ran")
        else:
            check((pkg("libgears"), libgears_link) in main_links, "libgears has no /usr/lib/.build-id link")
        compat = (pkg(lib_debug_pkg), libgears_dlink) in debug_links
        check(compat == (rel["links"] == "compat" and not rel["elfperms"]),
              f"compat link in debuginfo is {'present' if compat else 'absent'}")

    # dwz: the alt file and .gnu_debugaltlink
    dwz_files = [(n, path) for n, path in all_paths if path.startswith("/usr/lib/debug/.dwz/")]
    lib_facts = insp.elf[pkg(lib_debug_pkg)][dpath]
    if rel["dwz"]:
        check(dwz_files, "no /usr/lib/debug/.dwz/ file")
        check(lib_facts["altlink"], "libgears's debug file has no .gnu_debugaltlink")
        check(any(path.endswith(f"/.dwz/cogwork-1.4-1.mo{ver}.{ARCH}") for _, path in dwz_files),
              f"no cogwork .dwz file: {dwz_files}")
    else:
        check(not dwz_files, f".dwz files exist: {dwz_files}")
        check(not lib_facts["altlink"], "libgears's debug file has a .gnu_debugaltlink")

    # the package note on wheel, and only there
    wheel_facts = insp.elf[pkg("wheel", "1.0-1")]["/usr/bin/wheel"]
    if rel.get("pkgnote"):
        note = wheel_facts["package_note"]
        want = {"type": "rpm", "name": "wheel", "version": f"{WHEEL_EPOCH}:1.0-1.mo{ver}",
                "architecture": ARCH, "os": DISTRIBUTION, "osVersion": ver}
        check(note == want, f"wheel's .note.package is {note}, not {want}")
    else:
        check(wheel_facts["package_note"] is None, "wheel carries a .note.package")

    # multilib: i686 libgears/wheel next to the x86_64 ones, with their own .dwz file
    if ver == MULTILIB_RELEASE:
        lib32 = nevra(builder.find("libgears", "1.4-1", ver, "i686"))
        facts = insp.elf[lib32].get(f"{LIBDIR_I686}/libgears.so.1.4")
        check(facts and facts["class"] == 32, f"{lib32} has no 32-bit {LIBDIR_I686}/libgears.so.1.4")
        dbg32 = nevra(builder.find("libgears-debuginfo", "1.4-1", ver, "i686"))
        alts = [f["altlink"][0] for f in insp.elf[dbg32].values() if f["altlink"]]
        # rpm names i686 files by %{_arch}, i386, as Fedora's i686 debuginfo has them
        check(any(a.endswith(f"/.dwz/cogwork-1.4-1.mo{ver}.i386") for a in alts), f"{dbg32}: altlinks {alts}")
        check(f"{PLUGINDIR_I686}/crank.so" in insp.files[nevra(builder.find("wheel-crank", "1.0-1", ver, "i686"))],
              "no i686 crank.so")
        glibc32 = [p for p in own if p["name"] == "glibc" and p["arch"] == "i686"]
        check(glibc32 and "/usr/lib/ld-linux.so.2" in insp.files[nevra(glibc32[0])], "no i686 glibc with its loader")

    # payload compressors as asked
    for p in own:
        src = p["sourcerpm"].rsplit("-", 2)[0]
        if src == "glibc":
            continue
        want = {"xzdio": "xz", "zstdio": "zstd", "gzdio": "gzip"}[rel["comp"][src].split(".")[-1]]
        check(p["compressor"] == want, f"{nevra(p)} is compressed with {p['compressor']}, not {want}")


# ---------------------------------------------------------------- release facts

def os_release_line(ver):
    return f"Mosaic Linux release {ver} ({RELEASES[ver]['codename']})"


def os_info(ver):
    cn = RELEASES[ver]["codename"]
    return (f'NAME="Mosaic Linux"\nVERSION="{ver} ({cn})"\nID=mosaic\nID_LIKE="fedora"\nVERSION_ID={ver}\n'
            f'PRETTY_NAME="Mosaic Linux {ver} ({cn})"\nANSI_COLOR="0;35"\n'
            f'CPE_NAME="cpe:/o:mosaic:mosaic:{ver}"\nHOME_URL="https://mosaic.invalid/"\n')


def plugin_text():
    repos = "".join(f"\n[repo mosaic-{r}]\nmirrors = ../repos/$VER/$ARCH/{r}\n" for r in REPOS)
    return f"""# Mosaic: the second test distribution, built by tests/mosaic/generate.py.
# The generator writes this file next to its repositories (<out>/plugins/mosaic.conf), so the
# relative mirror paths resolve against the generated tree. Format: plugins/README.md.

[plugin]
distribution = {DISTRIBUTION}
displayrelease = Mosaic Linux
versionlist = {' '.join(VERSIONS)}
abrtparser = ^Mosaic Linux release ([0-9]+)
guessparser = \\.mo([0-9]+)
gdb_package = gdb
gdb_executable = /usr/bin/gdb
gpgcheck = no
{repos}"""


# ---------------------------------------------------------------- repositories

def make_repos(builder, sysp, out, left_out):
    for ver in VERSIONS:
        for repo in REPOS:
            pkgdir = os.path.join(out, "repos", ver, ARCH, repo, "Packages")
            os.makedirs(pkgdir, exist_ok=True)
            members = [p for p in builder.rpms if p["dist_release"] == ver and p["repo"] == repo
                       and nevra(p) not in left_out]
            if repo == "base":
                members += [sysp[n] for n in SYSTEM_PACKAGES]
            elif repo == "debuginfo":
                members += [sysp[n] for n in SYSTEM_DEBUG]
            for p in members:
                os.link(p["path"], os.path.join(pkgdir, os.path.basename(p["path"])))
            run(["createrepo_c", "--quiet", "--no-database", "--general-compress-type=gz",
                 os.path.dirname(pkgdir)])


# ---------------------------------------------------------------- crashes

def marks_of(*parts):
    return testos.source_markers(os.path.join(HERE, "src", *parts))


def expected_frames(program):
    def f(func, marks, file, key=None):
        return {"function": func, "file": file, "line": marks[key or func]}

    if program == "hub":
        axle, hub = marks_of("axle", "axle.c"), marks_of("hub", "hub.c")
        return [f("axle_hop", axle, "axle.c"), f("axle_route", axle, "axle.c"), f("main", hub, "hub.c")]
    gears, crank, wheel = marks_of("cogwork-1.4", "gears.c"), marks_of("wheel", "crank.c"), marks_of("wheel", "wheel.c")
    return [f("gears_tooth_load", gears, "gears.c"), f("gears_mesh", gears, "gears.c"),
            f("gears_spin", gears, "gears.c"), f("crank_apply", crank, "crank.c"),
            f("crank_turn", crank, "crank.c"), f("main", wheel, "wheel.c")]


def crash_packages(builder, ver, program, versions):
    if program == "hub":
        names = [("hub", "1.0-1"), ("axle-libs", "0.9-1")]
    else:
        names = [("wheel", "1.0-1"), ("wheel-crank", "1.0-1"), ("wheel-data", "1.0-1"),
                 ("libgears", versions["libgears"])]
    return [builder.find(n, vr, ver) for n, vr in names]


def core_modules(core):
    """[(start, end, name as the core's file note has it, build_id)] of the modules in a core."""
    mods = []
    for line in run(["eu-unstrip", "-n", "--core", core]).splitlines():
        parts = line.split()
        if len(parts) >= 5 and "@" in parts[1]:
            start, size = (int(x, 16) for x in parts[0].split("+"))
            mods.append((start, start + size, parts[4], parts[1].split("@")[0]))
    return mods


_SOLIB = re.compile(r"^(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(?:Yes|No)(?: \(\*\))?\s+(/\S+)\s*$", re.M)


def make_crash(builder, insp, sysp, work, out, crash):
    name, ver, program, versions, left_out = crash
    pkgs = crash_packages(builder, ver, program, versions)
    sources = {p["sourcerpm"] for p in pkgs}
    debug = [p for p in builder.rpms if p["debug"] and p["sourcerpm"] in sources and p["dist_release"] == ver]
    base = os.path.join(work, "roots", "base")  # the system packages, unpacked once by main()
    root = os.path.join(work, "roots", name)
    run(["cp", "-al", base, root])
    # The debuginfo goes into the root too, only to check the expected frames against gdb's own
    # backtrace at the fault; the core does not depend on it.
    rt.extract_rpms(root, [p["path"] for p in pkgs + debug])

    exe = f"/usr/bin/{program}"
    gdb = ["/usr/bin/gdb", "-nx", "-batch", "-ex", "set startup-with-shell off",
           "-ex", "set confirm off", "-ex", "run", "-ex", "info sharedlibrary", "-ex", "bt",
           "-ex", "gcore /tmp/coredump", "-ex", "kill", "--args", exe]
    r = rt.run_in_root(root, gdb, timeout=300)
    core = os.path.join(root, "tmp", "coredump")
    m = re.search(r"received signal (SIG[A-Z]+)", r.stdout)
    if r.returncode != 0 or not os.path.exists(core) or not m:
        die(f"crash {name} did not produce a core (gdb exit {r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    signal = m.group(1)
    frames = expected_frames(program)
    seen = rt.parse_gdb_frames(r.stdout)
    if [(f["function"], f["file"], f["line"]) for f in seen[:len(frames)]] != \
            [(f["function"], f["file"], f["line"]) for f in frames]:
        die(f"crash {name}: gdb's backtrace at the fault differs from the expected frames:\n"
            f"{rt.describe_frames(seen)}\nexpected:\n{rt.describe_frames(frames)}\n{r.stdout[-3000:]}")
    link_map = {int(a, 16): path for a, path in _SOLIB.findall(r.stdout)}

    pdir = os.path.join(out, "crashes", name)
    os.makedirs(pdir)
    shutil.move(core, os.path.join(pdir, "coredump"))
    main = pkgs[0]
    epoch = f"{main['epoch']}:" if main["epoch"] else ""
    package = f"{main['name']}-{epoch}{main['version']}-{main['release']}"  # as ABRT writes it
    files = {
        "executable": exe,
        "package": package,
        "pkg_name": main["name"],
        "pkg_epoch": str(main["epoch"]),
        "pkg_version": main["version"],
        "pkg_release": main["release"],
        "pkg_arch": main["arch"],
        "component": main["sourcerpm"].rsplit("-", 2)[0],
        "os_release": os_release_line(ver) + "\n",
        "os_info": os_info(ver),
        "architecture": ARCH,
        "cmdline": exe,
        "reason": f"{program} killed by {signal}",
        "analyzer": "CCpp",
        "type": "CCpp",
        "uid": str(os.getuid()),
        "time": "1700000000",
    }
    for fname, content in files.items():
        with open(os.path.join(pdir, fname), "w") as f:
            f.write(content)

    # modules: the core's own ones, named as the link map names them, mapped to their packages
    release_pkgs = [p for p in builder.rpms if p["dist_release"] == ver]
    modules, missing = [], []
    for start, end, mapped, bid in core_modules(os.path.join(pdir, "coredump")):
        binary, bpath = insp.by_build_id(release_pkgs, bid, False)
        if not binary:
            continue  # a system module (TestOS's glibc, ld.so, …)
        if bpath == exe:
            path = exe
        else:
            path = next((p for a, p in link_map.items() if start <= a < end), None)
            if not path:
                die(f"crash {name}: gdb's link map has no library at {start:#x}-{end:#x} ({mapped})")
        debuginfo, dpath = insp.by_build_id(release_pkgs, bid, True)
        dwz = None
        alt = insp.elf[debuginfo][dpath]["altlink"] if debuginfo else None
        if alt:
            dwz = insp.holder(release_pkgs, os.path.normpath(os.path.join(os.path.dirname(dpath), alt[0])))
            if not dwz:
                die(f"crash {name}: no package holds the alt file {alt[0]} of {dpath}")
        modules.append({"path": path, "mapped_path": mapped, "build_id": bid, "binary": binary,
                        "binary_file": bpath, "debuginfo": debuginfo, "debug_file": dpath, "dwz": dwz})
        if binary.rsplit("-", 2)[0] in left_out:
            missing.append(path)
    want = {"hub": 2, "wheel": 3}[program]
    if len(modules) != want:
        die(f"crash {name}: {len(modules)} own modules in the core, expected {want}: {modules}")
    expected = {
        "name": name,
        "release": ver,
        "release_id": f"{DISTRIBUTION}-{ver}-{ARCH}",
        "executable": exe,
        "package": package,
        "signal": signal,
        "packages": sorted(nevra(p) for p in pkgs) + sorted(nevra(sysp[n]) for n in SYSTEM_PACKAGES),
        "frames": frames,
        "modules": modules,
        "missing": missing,
        "left_out": sorted(n for n in left_out),
    }
    with open(os.path.join(pdir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
    testos.make_archives(out, name, pdir)
    rt.rmtree(root)
    return expected


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (replaced)")
    ap.add_argument("--testos", default=os.environ.get("RETRACE_TESTOS_DIR"),
                    help="generated TestOS (its release 1 system packages are reused)")
    ap.add_argument("--stamp", help="file to touch when done (for meson)")
    ap.add_argument("--keep-work", action="store_true", help="keep the build directory for debugging")
    opts = ap.parse_args()
    if not opts.testos:
        die("no TestOS: pass --testos DIR or set RETRACE_TESTOS_DIR")

    testos.check_prerequisites()
    if shutil.which("dwz") is None:
        die("dwz is missing (run tools/install-deps)")
    t0 = time.monotonic()
    sysp = system_packages(os.path.abspath(opts.testos))
    out_final = os.path.abspath(opts.out)
    parent = os.path.dirname(out_final)
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".mosaic-work-", dir=parent)
    out = tempfile.mkdtemp(prefix=".mosaic-new-", dir=parent)
    os.chmod(out, 0o755)
    try:
        insp = Inspector(work)

        def build_release(ver):
            b = Builder(work, ver)
            log(f"building release {ver} ({RELEASES[ver]['links']} build-id links, "
                f"debuginfo per {'subpackage' if RELEASES[ver]['subpkgs'] else 'source package'}, "
                f"dwz {'on' if RELEASES[ver]['dwz'] else 'off'})")
            build_own_packages(b, work, ver)
            verify_release(b, insp, ver)
            log(f"release {ver} built and checked")
            return b

        # Releases are independent: two at a time (rpmbuild is mostly one process after another).
        builder = Builder(work)
        with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
            for b in list(pool.map(build_release, VERSIONS)):
                builder.rpms += b.rpms
        left_out = {nevra(builder.find(n, "-".join(AXLE_VR), c[1])) for c in CRASHES for n in c[4]}
        log("creating repositories")
        make_repos(builder, sysp, out, left_out)
        os.makedirs(os.path.join(out, "crashes"))
        rt.extract_rpms(os.path.join(work, "roots", "base"), [sysp[n]["path"] for n in SYSTEM_PACKAGES])

        def crash_one(crash):
            log(f"crashing {crash[0]}")
            return make_crash(builder, insp, sysp, work, out, crash)

        with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
            crashes = list(pool.map(crash_one, CRASHES))
        os.makedirs(os.path.join(out, "plugins"))
        with open(os.path.join(out, "plugins", "mosaic.conf"), "w") as f:
            f.write(plugin_text())

        def entry(p, own):
            e = {k: v for k, v in p.items() if k != "path"}
            if own:
                e["in_repos"] = nevra(p) not in left_out
                e["file"] = (os.path.join("repos", p["dist_release"], ARCH, p["repo"], "Packages",
                                          os.path.basename(p["path"])) if e["in_repos"] else None)
            return e

        manifest = {
            "arch": ARCH,
            "distribution": DISTRIBUTION,
            "releases": {v: {"os_release": os_release_line(v), "release_id": f"{DISTRIBUTION}-{v}-{ARCH}",
                             "settings": {k: x for k, x in RELEASES[v].items() if k not in ("comp", "codename")}}
                         for v in VERSIONS},
            "packages": [entry(p, True) for p in builder.rpms],
            "system_packages": {n: {"nevra": nevra(p), "file": os.path.join(
                "repos", "$VER", ARCH, "debuginfo" if n in SYSTEM_DEBUG else "base", "Packages",
                os.path.basename(p["path"]))} for n, p in sysp.items()},
            "crashes": crashes,
            # i686 builds in release 10's repositories; no i686 crash: see README.md
            "multilib": {"release": MULTILIB_RELEASE, "arch": "i686",
                         "packages": sorted(nevra(p) for p in builder.rpms if p["arch"] == "i686")},
        }
        with open(os.path.join(out, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
        if os.path.lexists(out_final):
            rt.rmtree(out_final)
        os.rename(out, out_final)
    except BaseException:
        rt.rmtree(out)
        raise
    finally:
        if not opts.keep_work:
            rt.rmtree(work)
        else:
            log(f"work directory kept: {work}")
    if opts.stamp:
        with open(opts.stamp, "w") as f:
            f.write(f"{time.time()}\n")
    log(f"done in {time.monotonic() - t0:.1f}s: {out_final}")


if __name__ == "__main__":
    main()
