#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generates TestOS, the RPM distribution every test shares.

    generate.py --out DIR [--stamp FILE]

DIR/ receives:
  repos/<release>/x86_64/os/      binary packages + createrepo_c metadata
  repos/<release>/x86_64/debug/   -debuginfo and -debugsource packages + metadata
  crashes/<name>/                 ABRT problem directories made from real crashes of testos
                                  programs run inside roots extracted from testos packages,
                                  plus <name>.tar.xz / .tar.gz / .tar upload archives and
                                  expected.json (frames the backtrace must show)
  plugins/testos.conf             the distribution plugin, mirrors pointing at repos/
  manifest.json                   what was generated (packages, crashes) for the tests
  repos/1/{aarch64,s390x}/…, crashes-foreign/, manifest-crossarch.json, plugins-crossarch/
                                  the foreign architectures (crossarch.py; cached in /var/tmp)

Everything is built here with rpmbuild: TestOS's own programs from tests/testos/src, and the
system parts a root needs (filesystem, glibc, libstdc++, python3-libs, gdb) repackaged from the
host's files, so that a root assembled only from TestOS packages runs gdb. The x86_64 part uses no network;
the foreign architectures (crossarch.py) fetch Debian's glibc of the architecture once per machine.
The output is replaced atomically: a failed run leaves the previous output (or nothing).
"""

import argparse
import glob
import hashlib
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "helpers"))
import retrace_test as rt  # noqa: E402

ARCH = "x86_64"
LIBDIR = "/usr/lib/x86_64-linux-gnu"  # the loader's built-in search path (no ld.so.cache needed)
CODENAMES = {"1": "Amber", "2": "Basalt"}
RELEASES = list(CODENAMES)

# Payload compressors, mixed across packages on purpose (the cache must read all of them).
ZSTD = "w3T0.zstdio"
XZ = "w2.xzdio"
GZIP = "w6.gzdio"

# TestOS's own packages: (name, version, release, distribution releases, compressor, defines).
LIBTOKEN = [
    ("1.0", "1", "1", XZ),
    ("1.1", "1", "1", XZ),
    ("2.0", "1", "2", XZ),
]
LIBPARSE = [  # (version, release, distribution release, compressor, libtoken version built on)
    ("1.0", "1", "1", GZIP, "1.0"),
    ("2.0", "1", "2", GZIP, "2.0"),
]
CRASHY = [  # (version, release, distribution release, libparse version, libtoken version, build)
    ("1.0", "1", "1", "1.0", "1.0", 1),
    ("1.0", "2", "1", "1.0", "1.0", 2),
    ("2.0", "1", "2", "2.0", "2.0", 1),
]

# The Python script of the r1-python crash; it is written into the crash's root (not packaged).
PY_SCRIPT = "/usr/share/crashy/crash.py"
PY_SOURCE = '''\
import ctypes


def read_header(address):
    return ctypes.string_at(address)  # @line read_header


def load_document(address):
    header = read_header(address)  # @line load_document
    return header


def main():
    return load_document(0)  # @line main


main()  # @line <module>
'''

# Real crashes: (name, distribution release, crashy V-R, libtoken V-R, libparse V-R, program, args)
CRASHES = [
    ("r1-null", "1", "1.0-1", "1.0-1", "1.0-1", "crashy", ["null"]),
    ("r1-abort", "1", "1.0-2", "1.1-1", "1.0-1", "crashy", ["abort"]),
    ("r1-threads", "1", "1.0-2", "1.1-1", "1.0-1", "crashy", ["threads"]),
    ("r1-cxx", "1", "1.0-1", "1.0-1", "1.0-1", "crashy-cxx", []),
    ("r2-null", "2", "2.0-1", "2.0-1", "2.0-1", "crashy", ["null"]),
    ("r2-abort", "2", "2.0-1", "2.0-1", "2.0-1", "crashy", ["abort"]),
    ("r2-threads", "2", "2.0-1", "2.0-1", "2.0-1", "crashy", ["threads"]),
    ("r2-cxx", "2", "2.0-1", "2.0-1", "2.0-1", "crashy-cxx", []),
    # Crashes that rate high on the exploitability scale, and a stack exhausted by recursion.
    ("r1-wild-write", "1", "1.0-2", "1.1-1", "1.0-1", "crashy", ["wild-write"]),
    ("r1-wild-jump", "1", "1.0-2", "1.1-1", "1.0-1", "crashy", ["wild-jump"]),
    ("r1-smash", "1", "1.0-2", "1.1-1", "1.0-1", "crashy", ["smash"]),
    ("r1-recurse", "1", "1.0-2", "1.1-1", "1.0-1", "crashy", ["recurse"]),
    # A Python script that crashes the interpreter in native code (ctypes).
    ("r1-python", "1", None, None, None, "python3", [PY_SCRIPT]),
]

# What the exploitability assessment must at least rate each crash kind (by crashy's argument).
MIN_RATING = {"wild-write": 4, "wild-jump": 4, "smash": 4}

# Files of the ABRT problem directory that abrt-retrace-client puts into its upload.
UPLOAD_FILES = ["coredump", "executable", "package", "os_release"]

SYSTEM_PACKAGES = ["filesystem", "glibc", "libstdc++", "python3-libs", "gdb"]
# Only in release 1: the Python interpreter and its debuginfo (debug symbols and the gdb helper).
PYTHON_PACKAGES = ["python3", "python3-debuginfo"]
PYTHON_HELPER = "/usr/share/gdb/auto-load/usr/bin/python{ver}-gdb.py"


def log(msg):
    print(f"testos: {msg}", flush=True)


def run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", **kw)
    if r.returncode != 0:
        sys.exit(f"testos: command failed ({r.returncode}): {' '.join(argv)}\n{r.stdout[-6000:]}")
    return r.stdout


# ---------------------------------------------------------------- rpmbuild

class Builder:
    def __init__(self, work):
        self.work = work
        self.topdir = os.path.join(work, "rpmbuild")
        for d in ("SOURCES", "SPECS", "BUILD", "RPMS", "BUILDROOT"):
            os.makedirs(os.path.join(self.topdir, d), exist_ok=True)
        self.rpms = []  # dicts: path, name, version, release, arch, dist_release, debug

    def rpmbuild(self, spec, dist_release, compressor, defines=(), target=None):
        """Builds spec (for another architecture: target); returns the list of produced RPM paths
        (collected from RPMS/)."""
        before = set(glob.glob(os.path.join(self.topdir, "RPMS", "*", "*.rpm")))
        argv = ["rpmbuild", "-bb", "--quiet"] + (["--target", target] if target else []) + [
                "--define", f"_topdir {self.topdir}",
                "--define", f"dist .tos{dist_release}",
                "--define", f"_binary_payload {compressor}",
                "--define", f"_libdir {LIBDIR}",
                "--define", "_enable_debug_packages 1",
                "--define", "_debugsource_packages 1",
                "--define", "_build_id_links compat",
                "--define", "_unique_debug_names 1",
                "--define", "_unique_debug_srcs 1",
                "--define", "__brp_python_bytecompile %{nil}",
                "--define", "__brp_mangle_shebangs %{nil}",
                "--define", "_buildhost testos-builder",
                "--define", "source_date_epoch_from_changelog 0",
                "--define", "use_source_date_epoch_as_buildtime 1"]
        for k, v in defines:
            argv += ["--define", f"{k} {v}"]
        argv.append(spec)
        env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000", LC_ALL="C")
        run(argv, env=env)
        built = sorted(set(glob.glob(os.path.join(self.topdir, "RPMS", "*", "*.rpm"))) - before)
        if not built:
            sys.exit(f"testos: rpmbuild produced nothing for {spec}")
        for path in built:
            q = run(["rpm", "-qp", "--qf", "%{NAME}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n", path]).split("\n")
            self.rpms.append({"path": path, "name": q[0], "version": q[1], "release": q[2],
                              "arch": q[3], "dist_release": dist_release,
                              "compressor": compressor.split(".")[-1][:-2],
                              "debug": q[0].endswith("-debuginfo") or q[0].endswith("-debugsource")})
        return built

    def find(self, name, vr, dist_release):
        for p in self.rpms:
            if p["name"] == name and f"{p['version']}-{p['release']}" == f"{vr}.tos{dist_release}":
                return p
        sys.exit(f"testos: internal error: no package {name}-{vr}.tos{dist_release}")


def make_tarball(builder, srcdir, name, version, extra_files=()):
    """Creates SOURCES/name-version.tar.gz from the files of srcdir plus extra_files."""
    out = os.path.join(builder.topdir, "SOURCES", f"{name}-{version}.tar.gz")
    files = [os.path.join(srcdir, f) for f in sorted(os.listdir(srcdir))] + list(extra_files)
    with tarfile.open(out, "w:gz") as tar:
        for f in files:
            tar.add(f, arcname=f"{name}-{version}/{os.path.basename(f)}")
    return out


def make_sysroot(builder, work, label, packages):
    """Unpacks -devel (and library) packages into a build sysroot for the next package's build."""
    root = os.path.join(work, "sysroot", label)
    rt.extract_rpms(root, [p["path"] for p in packages])
    return root


def build_own_packages(builder, work):
    specs = os.path.join(HERE, "specs")
    src = os.path.join(HERE, "src")
    for ver, rel, dist, comp in LIBTOKEN:
        # libtoken 1.1 keeps the interface of 1.0: it ships the same header.
        extra = [os.path.join(src, "libtoken-1.0", "token.h")] if ver == "1.1" else []
        make_tarball(builder, os.path.join(src, f"libtoken-{ver}"), "libtoken", ver, extra)
        builder.rpmbuild(os.path.join(specs, "libtoken.spec"), dist, comp,
                         [("ver", ver), ("rel", rel), ("somajor", ver.split(".")[0]), ("sysroot", "/")])
    for ver, rel, dist, comp, tver in LIBPARSE:
        make_tarball(builder, os.path.join(src, f"libparse-{ver}"), "libparse", ver)
        tok = [builder.find(n, f"{tver}-1", dist) for n in ("libtoken", "libtoken-devel")]
        sysroot = make_sysroot(builder, work, f"libparse-{ver}", tok)
        builder.rpmbuild(os.path.join(specs, "libparse.spec"), dist, comp,
                         [("ver", ver), ("rel", rel), ("somajor", ver.split(".")[0]), ("sysroot", sysroot)])
    for ver, rel, dist, pver, tver, build in CRASHY:
        make_tarball(builder, os.path.join(src, "crashy"), "crashy", ver)
        deps = [builder.find(n, f"{pver}-1", dist) for n in ("libparse", "libparse-devel")]
        deps += [builder.find(n, f"{tver}-1", dist) for n in ("libtoken", "libtoken-devel")]
        sysroot = make_sysroot(builder, work, f"crashy-{ver}-{rel}", deps)
        builder.rpmbuild(os.path.join(specs, "crashy.spec"), dist, ZSTD,
                         [("ver", ver), ("rel", rel), ("major", ver.split(".")[0]), ("crashy_build", str(build)),
                          ("sysroot", sysroot)])


# ---------------------------------------------------------------- system packages from host files

def dpkg_files(pkg):
    out = run(["dpkg-query", "-L", pkg])
    return [line for line in out.splitlines() if line.strip()]


def dpkg_version(pkg):
    v = run(["dpkg-query", "-W", "-f", "${Version}", pkg]).strip()
    v = v.split(":", 1)[-1].split("-", 1)[0].split("+", 1)[0]
    return re.sub(r"[^0-9A-Za-z.]", ".", v)


def usr_path(p):
    """Maps a host path to its merged-/usr location (/lib/x → /usr/lib/x)."""
    for top in ("/lib/", "/lib64/", "/bin/", "/sbin/"):
        if p.startswith(top):
            return "/usr" + p
    return p


def stage_file(stage, host_path, dest_path=None):
    dest = os.path.join(stage, (dest_path or usr_path(host_path)).lstrip("/"))
    if os.path.lexists(dest):
        return
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.islink(host_path):
        os.symlink(os.readlink(host_path), dest)
    elif os.path.isfile(host_path):
        shutil.copy2(host_path, dest)


def stage_library(stage, host_lib):
    """Stages a shared library under LIBDIR: the real file and its soname link."""
    real = os.path.realpath(host_lib)
    stage_file(stage, real, os.path.join(LIBDIR, os.path.basename(real)))
    if os.path.basename(host_lib) != os.path.basename(real):
        link = os.path.join(stage, LIBDIR.lstrip("/"), os.path.basename(host_lib))
        if not os.path.lexists(link):
            os.symlink(os.path.basename(real), link)


def stage_dpkg(stage, pkgs, exclude=()):
    for pkg in pkgs:
        for p in dpkg_files(pkg):
            if p.startswith(("/usr/share/doc", "/usr/share/lintian", "/usr/share/man", "/usr/share/bug")):
                continue
            if any(re.search(e, p) for e in exclude):
                continue
            if os.path.islink(p) or os.path.isfile(p):
                stage_file(stage, p)


def elf_build_id(path):
    """The GNU build-id of an ELF file as hex, or None (reads the PT_NOTE segments of 64-bit LE ELF)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return None
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ptype, _, offset, _, _, filesz = struct.unpack("<IIQQQQ", f.read(40))
            if ptype != 4:  # PT_NOTE
                continue
            f.seek(offset)
            notes = f.read(filesz)
            pos = 0
            while pos + 12 <= len(notes):
                namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
                name_end = pos + 12 + ((namesz + 3) & ~3)
                desc = notes[name_end:name_end + descsz]
                if ntype == 3 and notes[pos + 12:pos + 12 + namesz].rstrip(b"\0") == b"GNU":
                    return desc.hex()
                pos = name_end + ((descsz + 3) & ~3)
    return None


def add_build_id_links(stage):
    """/usr/lib/.build-id/xx/yyyy → the ELF file, as Fedora's main packages carry them."""
    for dirpath, _, filenames in os.walk(stage):
        if "/usr/lib/debug" in dirpath or "/.build-id" in dirpath:
            continue
        for fname in filenames:
            full = os.path.join(dirpath, fname)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            bid = elf_build_id(full)
            if not bid:
                continue
            link = os.path.join(stage, "usr/lib/.build-id", bid[:2], bid[2:])
            if os.path.lexists(link):
                continue
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(os.path.relpath(full, os.path.dirname(link)), link)


def write_repack_spec(builder, name, version, summary, stage, extra=""):
    """A spec that packages a staged tree as is; %files lists every staged path."""
    if not name.endswith("-debuginfo"):
        add_build_id_links(stage)
    files = []
    for dirpath, dirnames, filenames in os.walk(stage):
        for f in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            rel = "/" + os.path.relpath(os.path.join(dirpath, f), stage)
            files.append(rel)
    files.sort()
    flist = os.path.join(builder.work, f"{name}.files")
    with open(flist, "w") as f:
        for p in files:
            f.write(f'"{p}"\n')
    spec = os.path.join(builder.topdir, "SPECS", f"{name}.spec")
    with open(spec, "w") as f:
        f.write(f"""Name: {name}
Version: {version}
Release: 1%{{?dist}}
Summary: {summary}
License: Various (repackaged from the build host for TestOS)
{extra}
%global __os_install_post %{{nil}}
%global debug_package %{{nil}}

%description
{summary}. Repackaged from the build host's files for the TestOS test distribution.

%install
mkdir -p %{{buildroot}}
cp -a {stage}/. %{{buildroot}}/

%files -f {flist}
""")
    return spec


def build_system_packages(builder, work, dist):
    stages = os.path.join(work, "stage")
    gdb_libs = []
    for line in run(["ldd", "/usr/bin/gdb"]).splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m:
            gdb_libs.append(m.group(2))

    # filesystem: the directory skeleton, merged-/usr symlinks keep /lib64/ld-linux-x86-64.so.2 valid.
    st = os.path.join(stages, "filesystem")
    for d in ("usr/bin", "usr/sbin", "usr/lib/debug", "usr/lib64", "usr/share", "usr/src/debug", "etc",
              "tmp", "proc", "dev", "sys", "var/tmp", "root", LIBDIR.lstrip("/")):
        os.makedirs(os.path.join(st, d), exist_ok=True)
    for link, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        os.symlink(target, os.path.join(st, link))
    with open(os.path.join(st, "etc/os-release"), "w") as f:
        f.write(os_info(dist))
    with open(os.path.join(st, "etc/system-release"), "w") as f:
        f.write(os_release_line(dist) + "\n")
    spec = os.path.join(builder.topdir, "SPECS", "filesystem.spec")
    with open(spec, "w") as f:
        f.write(f"""Name: filesystem
Version: {dist}.0
Release: 1%{{?dist}}
Summary: The directory skeleton of TestOS
License: MIT
%global __os_install_post %{{nil}}
%global debug_package %{{nil}}
%description
Directories and the merged-/usr symlinks (/bin, /sbin, /lib, /lib64) of TestOS.
%install
cp -a {st}/. %{{buildroot}}/
%files
%dir /usr
%dir /usr/bin
%dir /usr/sbin
%dir /usr/lib
%dir /usr/lib/debug
%dir /usr/lib64
%dir /usr/share
%dir /usr/src
%dir /usr/src/debug
%dir {LIBDIR}
%dir /etc
%attr(1777,root,root) %dir /tmp
%dir /proc
%dir /dev
%dir /sys
%dir /var
%attr(1777,root,root) %dir /var/tmp
%attr(0700,root,root) %dir /root
/bin
/sbin
/lib
/lib64
/etc/os-release
/etc/system-release
""")
    builder.rpmbuild(spec, dist, GZIP)

    # glibc: the host's libc6 under /usr (ld.so reachable as /lib64/ld-linux-x86-64.so.2).
    st = os.path.join(stages, "glibc")
    stage_dpkg(st, ["libc6"])
    spec = write_repack_spec(builder, "glibc", dpkg_version("libc6"), "The GNU C library of TestOS", st,
                             "Provides: ld-linux-x86-64.so.2()(64bit)\nProvides: rtld(GNU_HASH)")
    builder.rpmbuild(spec, dist, ZSTD)

    # glibc-debuginfo: Debian's libc6-dbg build-id files.
    st = os.path.join(stages, "glibc-debuginfo")
    stage_dpkg(st, ["libc6-dbg"])
    spec = write_repack_spec(builder, "glibc-debuginfo", dpkg_version("libc6"),
                             "Debug information for the GNU C library of TestOS", st, "AutoReqProv: no")
    builder.rpmbuild(spec, dist, GZIP)  # xz would take seconds here; libtoken carries xz

    # libstdc++ with libgcc_s (needed by gdb and by crashy-cxx).
    st = os.path.join(stages, "libstdc++")
    stage_dpkg(st, ["libstdc++6", "libgcc-s1"])
    spec = write_repack_spec(builder, "libstdc++", dpkg_version("libstdc++6"),
                             "The GNU C++ library of TestOS", st, "Provides: libstdc++ = %{version}")
    builder.rpmbuild(spec, dist, ZSTD)

    # python3-libs: libpython and the standard library (gdb's Python needs it at start-up), with its
    # byte-compiled __pycache__ as distributions ship it (in a read-only root nothing could write it).
    st = os.path.join(stages, "python3-libs")
    libpython = next((lib for lib in gdb_libs if "libpython" in lib), None)
    if not libpython:
        sys.exit("testos: the host's gdb is not linked with libpython; install Debian's gdb package")
    pyver = re.search(r"libpython(\d+\.\d+)", libpython).group(1)
    host_py = f"/usr/lib/python{pyver}"
    if not os.path.isdir(host_py):
        sys.exit(f"testos: {host_py} is missing: install libpython{pyver}-stdlib (tools/install-deps)")
    skip_dirs = {"test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages",
                 "dist-packages", "lib2to3", "pydoc_data"}
    for dirpath, dirnames, filenames in os.walk(host_py):
        dirnames[:] = [d for d in dirnames if d not in skip_dirs]
        for f in filenames:
            if re.search(r"cpython-\d+d-", f):  # the debug build's modules (pythonX.Y-dbg)
                continue
            stage_file(st, os.path.join(dirpath, f))
    for lib in gdb_libs:
        if "libpython" in lib:
            stage_library(st, lib)
    spec = write_repack_spec(builder, "python3-libs", dpkg_version(f"libpython{pyver}"),
                             "The Python interpreter library and standard library of TestOS", st,
                             f"Provides: python(abi) = {pyver}\nAutoReq: no")
    builder.rpmbuild(spec, dist, ZSTD)

    # gdb: the host's gdb, its data directory and the rest of its shared-library closure.
    st = os.path.join(stages, "gdb")
    own = set()
    for pkg in ("libc6", "libstdc++6", "libgcc-s1"):
        own.update(os.path.basename(p) for p in dpkg_files(pkg))
    stage_file(st, "/usr/bin/gdb")
    for p in dpkg_files("gdb"):
        if p.startswith(("/usr/share/gdb/", "/etc/gdb/")) and os.path.isfile(p):
            stage_file(st, p)
    for lib in gdb_libs:
        if os.path.basename(lib) in own or "libpython" in lib:
            continue
        stage_library(st, lib)
    spec = write_repack_spec(builder, "gdb", dpkg_version("gdb"), "The GNU debugger of TestOS", st,
                             "Requires: python3-libs")
    builder.rpmbuild(spec, dist, ZSTD)

    if dist == "1":
        build_python_packages(builder, stages, pyver)


def build_python_packages(builder, stages, pyver):
    """python3 (the host's interpreter) and python3-debuginfo (Debian's pythonX.Y-dbg debug symbols
    for it and the gdb helper that gives py-bt), as a distribution's python debuginfo ships them."""
    interp = f"/usr/bin/python{pyver}"
    helper = PYTHON_HELPER.format(ver=pyver)
    bid = elf_build_id(interp)
    debug = f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug" if bid else None
    if not debug or not os.path.isfile(debug) or not os.path.isfile(helper):
        sys.exit(f"testos: the debug symbols of {interp} or {helper} are missing: install "
                 f"python{pyver}-dbg (tools/install-deps)")
    st = os.path.join(stages, "python3")
    stage_file(st, interp)
    os.symlink(f"python{pyver}", os.path.join(st, "usr/bin/python3"))
    spec = write_repack_spec(builder, "python3", dpkg_version(f"python{pyver}"),
                             "The Python interpreter of TestOS", st, "Requires: python3-libs\nAutoReq: no")
    builder.rpmbuild(spec, "1", ZSTD)
    st = os.path.join(stages, "python3-debuginfo")
    stage_file(st, debug)
    stage_file(st, helper)
    spec = write_repack_spec(builder, "python3-debuginfo", dpkg_version(f"python{pyver}"),
                             "Debug information and the gdb helper for the Python interpreter of TestOS", st,
                             "AutoReqProv: no")
    builder.rpmbuild(spec, "1", GZIP)


# ---------------------------------------------------------------- release facts

def os_release_line(dist):
    return f"TestOS release {dist} ({CODENAMES[dist]})"


def os_info(dist):
    return (f'NAME="TestOS"\nVERSION="{dist} ({CODENAMES[dist]})"\nID=testos\nVERSION_ID={dist}\n'
            f'PRETTY_NAME="TestOS {dist} ({CODENAMES[dist]})"\nANSI_COLOR="0;34"\n'
            f'CPE_NAME="cpe:/o:testos:testos:{dist}"\nHOME_URL="https://testos.invalid/"\n')


# ---------------------------------------------------------------- repositories

def make_repos(builder, out):
    for dist in RELEASES:
        for kind in ("os", "debug"):
            pkgdir = os.path.join(out, "repos", dist, ARCH, kind, "Packages")
            os.makedirs(pkgdir, exist_ok=True)
            for p in builder.rpms:
                if p["dist_release"] == dist and p["debug"] == (kind == "debug"):
                    dest = os.path.join(pkgdir, os.path.basename(p["path"]))
                    os.link(p["path"], dest)
            run(["createrepo_c", "--quiet", "--no-database", "--general-compress-type=gz",
                 os.path.dirname(pkgdir)])


# ---------------------------------------------------------------- crashes

def source_markers(path):
    """Maps '@line NAME' markers in a source file to their line numbers."""
    marks = {}
    with open(path) as f:
        for i, line in enumerate(f, 1):
            m = re.search(r"@line (\S+)", line)
            if m:
                marks[m.group(1)] = i
    return marks


def expected_frames(name, cver, tver, pver, program, args):
    """The frames, innermost first, that a correct backtrace of this crash shows (from the sources)."""
    if program == "python3":
        return []  # native frames of the interpreter; the Python frames are in python_frames
    src = os.path.join(HERE, "src")
    tok = source_markers(os.path.join(src, f"libtoken-{tver.split('-')[0]}", "token.c"))
    par = source_markers(os.path.join(src, f"libparse-{pver.split('-')[0]}", "parse.c"))
    cra = source_markers(os.path.join(src, "crashy", "crashy.c"))
    cxx = source_markers(os.path.join(src, "crashy", "crashy-cxx.cc"))
    major = int(cver.split(".")[0])
    build = int(cver.split("-")[1])
    rename = {"run_null": "cmd_null_deref", "run_abort": "cmd_failed_assert",
              "run_threads": "cmd_thread_crash"} if major >= 2 else {}

    def f(func, marks, file, key=None):
        return {"function": func, "file": file, "line": marks[key or func]}

    def crashy_frame(func, key=None):
        return f(rename.get(func, func), cra, "crashy.c", key or func)

    if program == "crashy-cxx":
        method = "crashy::Config::reload" if major >= 2 else "crashy::Config::load"
        return [f(method, cxx, "crashy-cxx.cc"),
                f("main", cxx, "crashy-cxx.cc", "main:reload" if major >= 2 else "main:load")]
    if args == ["wild-write"]:
        return [crashy_frame("run_wild_write"), crashy_frame("main", "main:wild-write")]
    if args == ["smash"]:
        return [crashy_frame("run_smash")]  # the overflow overwrote the return address: no caller
    if args == ["wild-jump"]:
        return [crashy_frame("run_wild_jump"), crashy_frame("main", "main:wild-jump")]
    if args == ["recurse"]:
        return [crashy_frame("recurse"), crashy_frame("recurse")]  # the outer frames are past any cap
    if args == ["abort"]:
        return [f("parse_validate", par, "parse.c"), crashy_frame("run_abort"),
                crashy_frame("main", "main:abort")]
    if tver.startswith("2."):
        chain = [f("token_peek_length", tok, "token.c"), f("token_read", tok, "token.c"),
                 f("parse_node", par, "parse.c"), f("parse_document", par, "parse.c"),
                 f("parse_record", par, "parse.c")]
    else:
        inner = "token_span_of" if tver.startswith("1.1") else "token_measure"
        chain = [f(inner, tok, "token.c"), f("token_next", tok, "token.c"),
                 f("parse_field", par, "parse.c"), f("parse_record", par, "parse.c")]
    if major == 1 and build >= 2:
        chain.append(crashy_frame("parse_input"))
    if args == ["threads"]:
        return chain + [crashy_frame("worker_crash")]
    return chain + [crashy_frame("run_null"), crashy_frame("main", "main:null")]


def python_frames():
    """The Python frames, innermost first, that py-bt shows for the r1-python crash."""
    marks = {}
    for i, line in enumerate(PY_SOURCE.splitlines(), 1):
        m = re.search(r"@line (\S+)", line)
        if m:
            marks[m.group(1)] = i
    return [{"function": fn, "file": PY_SCRIPT, "line": marks[fn]}
            for fn in ("read_header", "load_document", "main", "<module>")]


def crash_packages(builder, dist, cver, tver, pver, program):
    pkgs = [next(p for p in builder.rpms if p["name"] == n and p["dist_release"] == dist)
            for n in SYSTEM_PACKAGES]
    if program == "python3":
        return pkgs + [next(p for p in builder.rpms if p["name"] == "python3" and p["dist_release"] == dist)]
    pkgs.append(builder.find("crashy-cxx" if program == "crashy-cxx" else "crashy", cver, dist))
    if program != "crashy-cxx":
        pkgs.append(builder.find("libtoken", tver, dist))
        pkgs.append(builder.find("libparse", pver, dist))
    return pkgs


def module_build_ids(core):
    """[{name, build_id}] of the modules eu-unstrip finds in a core (name as eu-unstrip shows it)."""
    mods = []
    for line in run(["eu-unstrip", "-n", "--core", core]).splitlines():
        parts = line.split()
        if len(parts) >= 5 and "@" in parts[1]:
            mods.append({"name": parts[4], "build_id": parts[1].split("@")[0]})
    return mods


def make_crash(builder, work, out, crash):
    name, dist, cver, tver, pver, program, args = crash
    pkgs = crash_packages(builder, dist, cver, tver, pver, program)
    base = os.path.join(work, "roots", f"base-{dist}")
    if not os.path.isdir(base):
        rt.extract_rpms(base, [p["path"] for p in pkgs if p["name"] in SYSTEM_PACKAGES])
    root = os.path.join(work, "roots", name)
    run(["cp", "-al", base, root])
    rt.extract_rpms(root, [p["path"] for p in pkgs if p["name"] not in SYSTEM_PACKAGES])
    exe = f"/usr/bin/{program}"
    if program == "python3":
        exe = os.path.realpath(os.path.join(root, "usr/bin/python3"))[len(root):]
        os.makedirs(os.path.join(root, os.path.dirname(PY_SCRIPT).lstrip("/")), exist_ok=True)
        with open(os.path.join(root, PY_SCRIPT.lstrip("/")), "w") as f:
            f.write(PY_SOURCE)

    gdb = ["/usr/bin/gdb", "-nx", "-batch", "-ex", "set startup-with-shell off",
           "-ex", "set confirm off", "-ex", "run", "-ex", "gcore /tmp/coredump", "-ex", "kill",
           "--args", exe, *args]
    r = rt.run_in_root(root, gdb, timeout=300)
    core = os.path.join(root, "tmp", "coredump")
    m = re.search(r"received signal (SIG[A-Z]+)", r.stdout)
    if r.returncode != 0 or not os.path.exists(core) or not m:
        sys.exit(f"testos: crash {name} did not produce a core (gdb exit {r.returncode}):\n"
                 f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    signal = m.group(1)

    pdir = os.path.join(out, "crashes", name)
    os.makedirs(pdir)
    shutil.move(core, os.path.join(pdir, "coredump"))
    main_pkg = pkgs[len(SYSTEM_PACKAGES)]
    nvr = f"{main_pkg['name']}-{main_pkg['version']}-{main_pkg['release']}"
    frames = expected_frames(name, cver, tver, pver, program, args)
    pyframes = python_frames() if program == "python3" else []
    files = {
        "executable": exe,
        "package": nvr,
        "os_release": os_release_line(dist) + "\n",
        "os_info": os_info(dist),
        "architecture": ARCH,
        "cmdline": " ".join([exe, *args]),
        "reason": f"{program} killed by {signal}",
        "analyzer": "CCpp",
        "type": "CCpp",
        "component": main_pkg["name"],
        "uid": str(os.getuid()),
    } | abrt_files(name, main_pkg, frames or pyframes)
    for fname, content in files.items():
        with open(os.path.join(pdir, fname), "w") as f:
            f.write(content)
    expected = {
        "name": name,
        "release": dist,
        "release_id": f"testos-{dist}-{ARCH}",
        "package": nvr,
        "executable": exe,
        "signal": signal,
        "packages": sorted(f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}" for p in pkgs),
        "frames": frames,
        "python_frames": pyframes,
        "kind": args[0] if program == "crashy" else program,
        "min_rating": MIN_RATING.get(args[0] if args else "", 0),
        "min_frames": 100000 if args == ["recurse"] else 0,
        "threads": 4 if args == ["threads"] else 1,
        "build_ids": module_build_ids(os.path.join(pdir, "coredump")),
    }
    with open(os.path.join(pdir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
    make_archives(out, name, pdir)
    rt.rmtree(root)
    return expected


# The files ABRT's ccpp hook (and abrt-action-save-package-data, abrt-action-analyze-c) write into a
# problem directory, beyond the crash facts above; libreport's dd_opendir() needs "time" at least.
CRASH_TIME = 1700000000


def abrt_files(name, pkg, frames):
    # ABRT hashes the crash's frames (satyr's core backtrace); here the expected frames stand in for it,
    # so two crashes share a duplicate hash exactly when they crash in the same functions.
    chain = "\n".join(f"{f['function']} {os.path.basename(f['file'])}" for f in frames[:3])
    digest = hashlib.sha1(f"{pkg['name']}\n{chain or name}".encode()).hexdigest()
    return {
        "time": str(CRASH_TIME),
        "last_occurrence": str(CRASH_TIME),
        "count": "1",
        "username": "tester",
        "pid": "4242",
        "global_pid": "4242",
        "pwd": "/",
        "hostname": "testos.invalid",
        "kernel": "6.1.0-testos",
        "abrt_version": "2.15.1",
        "pkg_name": pkg["name"],
        "pkg_epoch": "0",
        "pkg_version": pkg["version"],
        "pkg_release": pkg["release"],
        "pkg_arch": pkg["arch"],
        "pkg_vendor": "TestOS",
        "uuid": digest,
        "duphash": digest,
        **({"crash_function": frames[0]["function"]} if frames else {}),
    }


def make_archives(out, name, pdir):
    """The upload archives an ABRT client sends: the files at the archive's top level."""
    adir = os.path.join(out, "crashes")

    def add_all(tar):
        for fname in UPLOAD_FILES:
            info = tar.gettarinfo(os.path.join(pdir, fname), arcname=fname)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 1700000000
            with open(os.path.join(pdir, fname), "rb") as f:
                tar.addfile(info, f)

    with tarfile.open(os.path.join(adir, f"{name}.tar"), "w", format=tarfile.GNU_FORMAT) as tar:
        add_all(tar)
    with tarfile.open(os.path.join(adir, f"{name}.tar.gz"), "w:gz", format=tarfile.GNU_FORMAT) as tar:
        add_all(tar)
    with lzma.open(os.path.join(adir, f"{name}.tar.xz"), "wb", preset=2) as xz:
        with tarfile.open(fileobj=xz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            add_all(tar)


# ---------------------------------------------------------------- main

def check_prerequisites():
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    missing = [t for t in ("rpmbuild", "createrepo_c", "rpm2cpio", "cpio", "gcc", "g++", "eu-unstrip",
                           "unshare", "chroot", "dpkg-query") if shutil.which(t, path=path) is None]
    if missing:
        sys.exit(f"testos: missing tools: {' '.join(missing)} (run tools/install-deps)")
    if not os.path.isdir("/usr/lib/debug/.build-id"):
        sys.exit("testos: /usr/lib/debug/.build-id is missing: install libc6-dbg (tools/install-deps)")
    if not rt.userns_available():
        sys.exit(f"testos: crashes are run in a user namespace, but {rt.userns_problem()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (replaced)")
    ap.add_argument("--stamp", help="file to touch when done (for meson)")
    ap.add_argument("--keep-work", action="store_true", help="keep the build directory for debugging")
    opts = ap.parse_args()

    check_prerequisites()
    t0 = time.monotonic()
    out_final = os.path.abspath(opts.out)
    parent = os.path.dirname(out_final)
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".testos-work-", dir=parent)
    out = tempfile.mkdtemp(prefix=".testos-new-", dir=parent)
    os.chmod(out, 0o755)
    try:
        builder = Builder(work)
        for dist in RELEASES:
            log(f"building system packages for release {dist}")
            build_system_packages(builder, os.path.join(work, f"sys-{dist}"), dist)
        log("building libtoken, libparse, crashy")
        build_own_packages(builder, work)
        log("creating repositories")
        make_repos(builder, out)
        crashes = []
        os.makedirs(os.path.join(out, "crashes"))
        for crash in CRASHES:
            log(f"crashing {crash[0]}")
            crashes.append(make_crash(builder, work, out, crash))
        os.makedirs(os.path.join(out, "plugins"))
        shutil.copy(os.path.join(HERE, "..", "..", "plugins", "testos.conf"), os.path.join(out, "plugins"))
        manifest = {
            "arch": ARCH,
            "releases": {d: {"os_release": os_release_line(d), "release_id": f"testos-{d}-{ARCH}"}
                         for d in RELEASES},
            "packages": [{k: v for k, v in p.items() if k != "path"} |
                         {"file": os.path.relpath(os.path.join(
                             "repos", p["dist_release"], ARCH, "debug" if p["debug"] else "os",
                             "Packages", os.path.basename(p["path"])))}
                         for p in builder.rpms],
            "crashes": crashes,
        }
        with open(os.path.join(out, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
        # aarch64 and s390x variants beside the x86_64 tree (their own manifest and plugin copy).
        import crossarch
        crossarch.add_foreign(out)
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
