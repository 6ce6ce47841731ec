# SPDX-License-Identifier: GPL-2.0-or-later
"""TestOS for other architectures: aarch64 and s390x variants of release 1, and a multi-architecture
debugger for the host (x86_64) release, for retracing foreign cores on an x86_64 server.

generate.py calls add_foreign(out); it puts into out/:
  repos/1/<arch>/os, repos/1/<arch>/debug     filesystem, glibc (Debian's libc6:<debarch>), its
                                              debuginfo (libc6-dbg:<debarch>), libtoken, libparse,
                                              crashy cross-built (clang on Debian's cross libc/libgcc)
  repos/1/<arch>/multiarch                    empty (the plugin below names this repository)
  repos/1/x86_64/multiarch                    gdb-multiarch: Debian's gdb-multiarch binary (the rest of
                                              gdb — data directory, libraries, Python — from TestOS's gdb)
  crashes-foreign/<arch>-r1-null/             problem directory of a real crash run under qemu-user
  plugins-crossarch/testos.conf               the testos plugin with gdb_foreign_package and the
                                              multiarch repository
  manifest-crossarch.json                     what was generated

The x86_64 repositories, crashes and manifest.json are left as they are. The packages and crashes are
slow to make (cross builds, qemu), so they are built once per machine under
/var/tmp/retrace-testos-crossarch/<digest of the inputs> and copied from there.
glibc comes from the architecture's own Debian packages, fetched with a private apt state
(apt-get -o Dir::State=… -o APT::Architecture=…), so the machine's dpkg architectures are untouched.
"""

import glob
import hashlib
import json
import os
import resource
import shutil
import signal as signals
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "helpers"))
import generate as g  # noqa: E402
import retrace_test as rt  # noqa: E402

HOST_ARCH = "x86_64"
RELEASE = "1"
# arch: (Debian architecture, cross compiler, qemu-user emulator, loader's directory). The compiler is
# clang for the target, on Debian's cross C library, libgcc and binutils (libc6-dev-arm64-cross,
# libgcc-12-dev-arm64-cross, binutils-aarch64-linux-gnu, …): Debian's gcc-12-<triplet> cross compilers
# conflict with gcc-multilib, which the Mosaic distribution's i686 build needs.
ARCHES = {
    "aarch64": ("arm64", "clang --target=aarch64-linux-gnu", "qemu-aarch64", "/usr/lib/aarch64-linux-gnu"),
    "s390x": ("s390x", "clang --target=s390x-linux-gnu", "qemu-s390x", "/usr/lib/s390x-linux-gnu"),
}
# The builds of release 1 that are made for every foreign architecture (crashy 1.0-1 and its libraries).
CRASH = ("r1-null", "1.0-1", "1.0-1", "1.0-1", ["null"])
DEBUGGER = "gdb-multiarch"
DEBUGGER_PATH = "/usr/bin/gdb-multiarch"
CACHE = "/var/tmp/retrace-testos-crossarch"
RECIPE_VERSION = "1"


def log(msg):
    print(f"testos-crossarch: {msg}", flush=True)


def run(argv, **kw):
    return g.run(argv, **kw)


def dpkg_version_full(pkg):
    return run(["dpkg-query", "-W", "-f", "${Version}", pkg]).strip()


def inputs_digest():
    """The inputs of the foreign build: this file and the generator (expected frames, packaging), the
    specs and sources, the tools' versions."""
    h = hashlib.sha256(f"crossarch-v{RECIPE_VERSION}\n".encode())
    files = [os.path.abspath(__file__), os.path.join(HERE, "generate.py")]
    files += sorted(glob.glob(os.path.join(HERE, "specs", "*.spec")))
    files += sorted(p for p in glob.glob(os.path.join(HERE, "src", "**", "*"), recursive=True) if os.path.isfile(p))
    for p in files:
        h.update(os.path.relpath(p, HERE).encode() + b"\0")
        with open(p, "rb") as f:
            h.update(f.read())
    for pkg in ("libc6", "gdb", "gdb-multiarch", "clang", "libc6-dev-arm64-cross", "libc6-dev-s390x-cross",
                "libgcc-12-dev-arm64-cross", "libgcc-12-dev-s390x-cross", "binutils-aarch64-linux-gnu",
                "binutils-s390x-linux-gnu", "qemu-user", "rpm"):
        h.update(f"{pkg}={dpkg_version_full(pkg)}\n".encode())
    return h.hexdigest()[:24]


# ---------------------------------------------------------------- Debian's glibc of other architectures

def fetch_debs(debarch, version):
    """libc6 and libc6-dbg of debarch at version, cached in CACHE/debs (a private apt state)."""
    debs = os.path.join(CACHE, "debs")
    os.makedirs(debs, exist_ok=True)
    try:
        os.chmod(debs, 0o1777)  # any user of the machine may add the debs of a newer version
    except PermissionError:
        pass
    want = {p: os.path.join(debs, f"{p}_{version.replace(':', '%3a')}_{debarch}.deb") for p in ("libc6", "libc6-dbg")}
    if all(os.path.isfile(p) for p in want.values()):
        return want
    state = tempfile.mkdtemp(prefix=f"apt-{debarch}-", dir=debs)
    try:
        for d in ("state/lists/partial", "cache/archives/partial", "dl"):
            os.makedirs(os.path.join(state, d))
        opts = ["-o", f"Dir::State={state}/state", "-o", "Dir::State::status=/dev/null",
                "-o", f"Dir::Cache={state}/cache", "-o", f"APT::Architecture={debarch}",
                "-o", f"APT::Architectures::={debarch}", "-o", "Debug::NoLocking=1", "-q"]
        log(f"fetching libc6:{debarch} and libc6-dbg:{debarch} {version} (private apt state)")
        run(["apt-get", *opts, "update"])
        run(["apt-get", *opts, "download", f"libc6:{debarch}={version}", f"libc6-dbg:{debarch}={version}"],
            cwd=os.path.join(state, "dl"))
        for pkg, dest in want.items():
            got = glob.glob(os.path.join(state, "dl", f"{pkg}_*_{debarch}.deb"))
            if len(got) != 1:
                sys.exit(f"testos-crossarch: apt-get download gave {got} for {pkg}:{debarch}")
            os.replace(got[0], dest)
    finally:
        rt.rmtree(state)
    return want


def stage_deb(stage, deb):
    """Unpacks a .deb into stage with merged /usr (/lib/x → /usr/lib/x), docs left out."""
    raw = stage + ".raw"
    run(["dpkg-deb", "-x", deb, raw])
    for dirpath, dirnames, filenames in os.walk(raw):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            path = "/" + os.path.relpath(full, raw)
            if path.startswith(("/usr/share/doc", "/usr/share/lintian", "/usr/share/man")):
                continue
            dest = os.path.join(stage, g.usr_path(path).lstrip("/"))
            if os.path.lexists(dest):
                continue
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.islink(full):
                os.symlink(os.readlink(full), dest)
            else:
                shutil.copy2(full, dest)
    rt.rmtree(raw)


# ---------------------------------------------------------------- packages

def rpmbuild_target(builder, arch, libdir, spec, compressor, defines=()):
    """Builder.rpmbuild for another architecture (rpmbuild --target, the architecture's libdir)."""
    orig = g.LIBDIR
    g.LIBDIR = libdir
    try:
        return builder.rpmbuild(spec, RELEASE, compressor, defines, target=arch)
    finally:
        g.LIBDIR = orig


def build_arch(builder, work, arch):
    debarch, cc, _, libdir = ARCHES[arch]
    stages = os.path.join(work, "stage", arch)
    os.makedirs(stages)
    # filesystem: the merged-/usr skeleton, so that /lib/ld-….so.1 (the programs' interpreter) resolves.
    st = os.path.join(stages, "filesystem")
    for d in ("usr/bin", "usr/lib/debug", "usr/share", "etc", "tmp", libdir.lstrip("/")):
        os.makedirs(os.path.join(st, d), exist_ok=True)
    for link, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        os.symlink(target, os.path.join(st, link))
    with open(os.path.join(st, "etc/os-release"), "w") as f:
        f.write(g.os_info(RELEASE))
    spec = g.write_repack_spec(builder, f"filesystem-{arch}", f"{RELEASE}.0", "The directory skeleton of TestOS",
                               st, "AutoReqProv: no")
    spec = rename_spec(spec, "filesystem")
    rpmbuild_target(builder, arch, libdir, spec, g.GZIP)

    version = dpkg_version_full("libc6")
    debs = fetch_debs(debarch, version)
    st = os.path.join(stages, "glibc")
    stage_deb(st, debs["libc6"])
    rpmver = g.re.sub(r"[^0-9A-Za-z.]", ".", version.split(":", 1)[-1].split("-", 1)[0].split("+", 1)[0])
    # As a distribution's glibc: it needs the skeleton (/lib → usr/lib, through which the link map names
    # the libraries) and provides the loader's hash style.
    spec = rename_spec(g.write_repack_spec(builder, f"glibc-{arch}", rpmver, "The GNU C library of TestOS", st,
                                           "Requires: filesystem\nProvides: rtld(GNU_HASH)"), "glibc")
    rpmbuild_target(builder, arch, libdir, spec, g.ZSTD)
    st = os.path.join(stages, "glibc-debuginfo")
    stage_deb(st, debs["libc6-dbg"])
    spec = rename_spec(g.write_repack_spec(builder, f"glibc-debuginfo-{arch}", rpmver,
                                           "Debug information for the GNU C library of TestOS", st,
                                           "AutoReqProv: no"), "glibc-debuginfo")
    rpmbuild_target(builder, arch, libdir, spec, g.GZIP)

    # libtoken, libparse, crashy of CRASH, built with the cross compiler (clang has no
    # -fstack-protector-explicit: the stack protector is off); -z separate-code keeps
    # their ELF headers (and build-ids) in qemu-user's cores.
    _, cver, tver, pver, _ = CRASH
    # clang: DWARF 4 (rpm's debugedit here reads no DWARF 5 forms), no inlining (clang has no
    # __attribute__((noipa)), which keeps TestOS's frames apart under gcc).
    cross = [("cc", cc), ("cflags_extra", "-gdwarf-4 -fno-inline"), ("ldflags_extra", "-Wl,-z,separate-code"),
             ("ssp", "-fno-stack-protector")]
    specs = os.path.join(HERE, "specs")
    src = os.path.join(HERE, "src")
    tv, pv, cv = tver.split("-")[0], pver.split("-")[0], cver.split("-")[0]
    g.make_tarball(builder, os.path.join(src, f"libtoken-{tv}"), "libtoken", tv)
    rpmbuild_target(builder, arch, libdir, os.path.join(specs, "libtoken.spec"), g.XZ,
                    cross + [("ver", tv), ("rel", tver.split("-")[1]), ("somajor", tv.split(".")[0]), ("sysroot", "/")])
    tok = [find(builder, n, tver, arch) for n in ("libtoken", "libtoken-devel")]
    sysroot = g.make_sysroot(builder, work, f"{arch}-libparse", tok)
    g.make_tarball(builder, os.path.join(src, f"libparse-{pv}"), "libparse", pv)
    rpmbuild_target(builder, arch, libdir, os.path.join(specs, "libparse.spec"), g.GZIP,
                    cross + [("ver", pv), ("rel", pver.split("-")[1]), ("somajor", pv.split(".")[0]),
                             ("sysroot", sysroot)])
    deps = tok + [find(builder, n, pver, arch) for n in ("libparse", "libparse-devel")]
    sysroot = g.make_sysroot(builder, work, f"{arch}-crashy", deps)
    g.make_tarball(builder, os.path.join(src, "crashy"), "crashy", cv)
    rpmbuild_target(builder, arch, libdir, os.path.join(specs, "crashy.spec"), g.ZSTD,
                    cross + [("ver", cv), ("rel", cver.split("-")[1]), ("major", cv.split(".")[0]),
                             ("crashy_build", "1"), ("sysroot", sysroot), ("with_cxx", "0")])


def rename_spec(spec, name):
    """write_repack_spec names the spec after its first argument; the package keeps its real name."""
    with open(spec) as f:
        text = f.read()
    first = text.split("\n", 1)
    with open(spec, "w") as f:
        f.write(f"Name: {name}\n{first[1]}")
    return spec


def find(builder, name, vr, arch):
    for p in builder.rpms:
        if p["name"] == name and p["arch"] == arch and f"{p['version']}-{p['release']}" == f"{vr}.tos{RELEASE}":
            return p
    sys.exit(f"testos-crossarch: internal error: no package {name}-{vr}.tos{RELEASE}.{arch}")


def build_debugger(builder, work):
    """gdb-multiarch for the host release: Debian's binary; everything else from TestOS's gdb."""
    if not os.path.isfile(DEBUGGER_PATH):
        sys.exit(f"testos-crossarch: {DEBUGGER_PATH} is missing: install gdb-multiarch (tools/install-deps)")
    st = os.path.join(work, "stage", "gdb-multiarch")
    g.stage_file(st, DEBUGGER_PATH)
    spec = g.write_repack_spec(builder, DEBUGGER, g.dpkg_version("gdb-multiarch"),
                               "The GNU debugger of TestOS for every architecture's cores", st,
                               "Requires: gdb")
    builder.rpmbuild(spec, RELEASE, g.ZSTD)


# ---------------------------------------------------------------- crashes

def qemu_crash(builder, work, out, arch):
    """Runs crashy under qemu-<arch> in a root of the architecture's packages; qemu writes the core."""
    _, _, qemu, libdir = ARCHES[arch]
    name, cver, tver, pver, args = CRASH
    name = f"{arch}-{name}"
    system = [p for p in builder.rpms if p["arch"] == arch and p["name"] in ("filesystem", "glibc", "glibc-debuginfo")]
    own = [find(builder, "crashy", cver, arch), find(builder, "libtoken", tver, arch),
           find(builder, "libparse", pver, arch)]
    debug = [p for p in builder.rpms if p["arch"] == arch and p["name"] in
             ("crashy-debuginfo", "libtoken-debuginfo", "libparse-debuginfo")]
    pkgs = [p for p in system if p["name"] != "glibc-debuginfo"] + own
    root = os.path.realpath(os.path.join(work, "roots", name))
    rt.extract_rpms(root, [p["path"] for p in system + own + debug])
    exe = "/usr/bin/crashy"
    cwd = os.path.join(work, "qemu", name)
    os.makedirs(os.path.join(cwd, "core"))  # the kernel's "core" pattern cannot replace a directory

    def unlimited_core():
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))

    r = subprocess.run([qemu, "-L", root, os.path.join(root, exe.lstrip("/")), *args], cwd=cwd,
                       env={"PATH": "/usr/bin:/bin", "LANG": "C"}, preexec_fn=unlimited_core,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", timeout=120)
    cores = glob.glob(os.path.join(cwd, "qemu_crashy_*.core"))
    if r.returncode >= 0 or len(cores) != 1:
        sys.exit(f"testos-crossarch: {name}: {qemu} exited {r.returncode} with cores {cores} (RLIMIT_CORE "
                 f"hard limit {resource.getrlimit(resource.RLIMIT_CORE)[1]}):\n{r.stdout[-3000:]}")
    sig = signals.Signals(-r.returncode).name
    frames = g.expected_frames(name, cver, tver, pver, "crashy", args)
    gdb_out = run(["gdb-multiarch", "-nx", "-batch", "-iex", f"set sysroot {root}",
                   "-iex", f"set debug-file-directory {root}/usr/lib/debug", "-ex", "echo @@bt@@\\n", "-ex", "bt",
                   os.path.join(root, exe.lstrip("/")), cores[0]])
    seen = rt.parse_gdb_frames(gdb_out.split("@@bt@@", 1)[-1])
    if [(f["function"], f["line"]) for f in seen[:len(frames)]] != [(f["function"], f["line"]) for f in frames]:
        sys.exit(f"testos-crossarch: {name}: gdb-multiarch's backtrace differs from the expected frames:\n"
                 f"{rt.describe_frames(seen)}\nexpected:\n{rt.describe_frames(frames)}\n{gdb_out[-3000:]}")

    pdir = os.path.join(out, "crashes-foreign", name)
    os.makedirs(pdir)
    shutil.move(cores[0], os.path.join(pdir, "coredump"))
    main = own[0]
    nvr = f"{main['name']}-{main['version']}-{main['release']}"
    nevras = sorted(f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}" for p in pkgs)
    files = {
        "executable": exe,
        "package": nvr,
        # What the process ran with: qemu-user's core names no file (no NT_FILE note) and keeps no
        # build-id of glibc, so the packages list is what names glibc for the root.
        "packages": "\n".join(nevras) + "\n",
        "os_release": g.os_release_line(RELEASE) + "\n",
        "os_info": g.os_info(RELEASE),
        "architecture": arch,
        "cmdline": " ".join([exe, *args]),
        "reason": f"crashy killed by {sig}",
        "analyzer": "CCpp",
        "type": "CCpp",
        "component": main["name"],
        "uid": str(os.getuid()),
    } | g.abrt_files(name, main, frames)
    for fname, content in files.items():
        with open(os.path.join(pdir, fname), "w") as f:
            f.write(content)
    expected = {
        "name": name,
        "arch": arch,
        "release": RELEASE,
        "release_id": f"testos-{RELEASE}-{arch}",
        "package": nvr,
        "executable": exe,
        "signal": sig,
        "packages": nevras,
        "frames": frames,
        "upload_files": g.UPLOAD_FILES + ["packages"],
    }
    with open(os.path.join(pdir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
    with tarfile.open(os.path.join(out, "crashes-foreign", f"{name}.tar.gz"), "w:gz",
                      format=tarfile.GNU_FORMAT) as tar:
        for fname in expected["upload_files"]:
            info = tar.gettarinfo(os.path.join(pdir, fname), arcname=fname)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 1700000000
            with open(os.path.join(pdir, fname), "rb") as f:
                tar.addfile(info, f)
    rt.rmtree(root)
    return expected


# ---------------------------------------------------------------- repositories, plugin, manifest

def make_repos(builder, out):
    groups = {}
    for p in builder.rpms:
        if p["name"] == DEBUGGER:
            kind, arch = "multiarch", HOST_ARCH
        else:
            kind, arch = ("debug" if p["debug"] else "os"), p["arch"]
        groups.setdefault((arch, kind), []).append(p)
    for arch in ARCHES:
        groups.setdefault((arch, "multiarch"), [])
    for (arch, kind), pkgs in sorted(groups.items()):
        pkgdir = os.path.join(out, "repos", RELEASE, arch, kind, "Packages")
        os.makedirs(pkgdir, exist_ok=True)
        for p in pkgs:
            shutil.copy2(p["path"], os.path.join(pkgdir, os.path.basename(p["path"])))
        run(["createrepo_c", "--quiet", "--no-database", "--general-compress-type=gz", os.path.dirname(pkgdir)])


def write_plugin(out):
    with open(os.path.join(HERE, "..", "..", "plugins", "testos.conf")) as f:
        text = f.read()
    text = text.replace("gdb_executable = /usr/bin/gdb\n",
                        "gdb_executable = /usr/bin/gdb\n"
                        "# Foreign cores (aarch64, s390x) are read by the host release's multiarch gdb.\n"
                        f"gdb_foreign_package = {DEBUGGER}\ngdb_foreign_executable = {DEBUGGER_PATH}\n")
    if "gdb_foreign_package" not in text:
        sys.exit("testos-crossarch: plugins/testos.conf has no 'gdb_executable = /usr/bin/gdb' line")
    text += "\n[repo testos-multiarch]\nmirrors = ../repos/$VER/$ARCH/multiarch\n"
    d = os.path.join(out, "plugins-crossarch")
    os.makedirs(d)
    with open(os.path.join(d, "testos.conf"), "w") as f:
        f.write(text)


def build(dest):
    """Builds everything into dest (a new directory)."""
    work = tempfile.mkdtemp(prefix="work-", dir=os.path.dirname(dest))
    try:
        builder = g.Builder(work)
        build_debugger(builder, work)
        crashes = []
        for arch in ARCHES:
            log(f"building {arch} packages")
            build_arch(builder, work, arch)
        os.makedirs(dest)
        make_repos(builder, dest)
        for arch in ARCHES:
            log(f"crashing {arch}-{CRASH[0]} under {ARCHES[arch][2]}")
            crashes.append(qemu_crash(builder, work, dest, arch))
        manifest = {
            "host_arch": HOST_ARCH,
            "debugger": {"package": DEBUGGER, "executable": DEBUGGER_PATH},
            "arches": {a: {"release_id": f"testos-{RELEASE}-{a}", "release": RELEASE} for a in ARCHES},
            "packages": [{k: v for k, v in p.items() if k != "path"} for p in builder.rpms],
            "crashes": crashes,
        }
        with open(os.path.join(dest, "manifest-crossarch.json"), "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
    finally:
        rt.rmtree(work)


def add_foreign(out):
    """Copies the cached foreign build (building it first when missing) into out."""
    missing = [t for t in ("clang", "aarch64-linux-gnu-ld", "s390x-linux-gnu-ld", "qemu-aarch64", "qemu-s390x",
                           "gdb-multiarch", "dpkg-deb", "apt-get") if shutil.which(t) is None]
    missing += [f"{d} (libc6-dev-{a}-cross)" for a, d in (("arm64", "/usr/aarch64-linux-gnu/lib/crt1.o"),
                                                           ("s390x", "/usr/s390x-linux-gnu/lib/crt1.o"))
                if not os.path.exists(d)]
    if missing:
        sys.exit(f"testos-crossarch: missing tools: {' '.join(missing)} (run tools/install-deps)")
    key = inputs_digest()
    cached = os.path.join(CACHE, key)
    if not os.path.isfile(os.path.join(cached, "manifest-crossarch.json")):
        os.makedirs(CACHE, exist_ok=True)
        try:
            os.chmod(CACHE, 0o1777)  # shared by every user of the machine, like /var/tmp
        except PermissionError:
            pass
        tmp = tempfile.mkdtemp(prefix=f".{key}-", dir=CACHE)
        try:
            build(os.path.join(tmp, "out"))
            os.chmod(tmp, 0o755)
            try:
                os.rename(os.path.join(tmp, "out"), cached)
            except OSError:
                if not os.path.isfile(os.path.join(cached, "manifest-crossarch.json")):
                    raise
        finally:
            rt.rmtree(tmp)
    else:
        log(f"using the cached build {cached}")
    for entry in sorted(os.listdir(cached)):
        src = os.path.join(cached, entry)
        if entry == "repos":
            for dirpath, dirnames, filenames in os.walk(src):
                rel = os.path.relpath(dirpath, src)
                os.makedirs(os.path.join(out, "repos", rel), exist_ok=True)
                for fname in filenames:
                    shutil.copy2(os.path.join(dirpath, fname), os.path.join(out, "repos", rel, fname))
        elif os.path.isdir(src):
            shutil.copytree(src, os.path.join(out, entry))
        else:
            shutil.copy2(src, os.path.join(out, entry))
    write_plugin(out)
