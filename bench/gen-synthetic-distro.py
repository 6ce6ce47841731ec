#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A large synthetic RPM distribution for benchmarks (not a test fixture).

    bench/gen-synthetic-distro.py --libs N [--funcs-per-unit 56] [--cache /var/tmp/retrace-synth] [--jobs 2]
                                  [--testos DIR]

N shared libraries, each its own source package built by rpmbuild (its debuginfo and debugsource
subpackages made by rpm's own find-debuginfo), from generated C: several compilation units per
library, struct/union/enum types, static inline helpers inlined into every unit and a few hundred
functions, so that the DWARF a debugger indexes is of a realistic shape. An executable (package
`synapp`) links all N and crashes through a call chain that passes through every library in turn
(lib 0 → lib 1 → … → lib N-1, NULL store in the last); its core is written by gcore at the fault,
under the root's gdb in a user namespace (the helpers of tests/mosaic/generate.py). The system
packages (filesystem, glibc, libstdc++, python3-libs, gdb, glibc-debuginfo) are TestOS release 1's.

What a distribution varies is varied per package: payload compression (xz, zstd, gzip), binary
package naming (`libsynNNNN`, `synNNNN-libs`, `synNNNN`), debuginfo per subpackage or per source
package, `_build_id_links` (compat, separate, alldebug).

gcc compiling the generated units is most of a library's build (≈ 5 s of CPU at the default 56
functions per unit, 114 kB of .debug_info); --funcs-per-unit 16 makes libraries of 40 kB of
.debug_info (the same types, inline helpers and call chain) about three times faster, for N = 1000.

Output (printed on the last line), cached under --cache keyed by N (and --funcs-per-unit when not the
default) and this file's hash, so a rerun is immediate:
  repos/1/x86_64/{os,debug}/   createrepo_c repositories
  plugins/synth.conf           the plugin (mirrors relative to the plugin directory)
  crashes/synapp/              ABRT problem directory, crashes/synapp.tar.xz the upload
  manifest.json                packages (NEVRA, file, sizes), the crash's packages, timings
"""

import argparse
import concurrent.futures
import glob
import hashlib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "tests")
sys.path.insert(0, os.path.join(TESTS, "helpers"))
import retrace_test as rt  # noqa: E402


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# The test distributions' generators, for their helpers (system packages, gcore in a user
# namespace, upload archives, the compressor macros).
mosaic = _load("mosaic_generate", os.path.join(TESTS, "mosaic", "generate.py"))
testos = mosaic.testos

ARCH = "x86_64"
LIBDIR = "/usr/lib64"
DIST = ".sy1"
VER = "1"
COMPRESSORS = [testos.XZ, testos.ZSTD, testos.GZIP]
LINK_MODES = ["compat", "separate", "alldebug"]
UNITS = 5            # compilation units per library
FUNCS_PER_UNIT = 56  # global functions per unit (plus the inline helpers inlined into each)
TYPES = 6            # struct types per library (each with a union, an enum, a bitfield, a pointer)
INLINES = 8          # static inline helpers per library
OS_RELEASE = "Synthetic Linux release 1 (Quartz)"
T0 = time.monotonic()


def log(msg):
    print(f"synth: [{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", **kw)
    if r.returncode != 0:
        sys.exit(f"synth: command failed ({r.returncode}): {' '.join(argv)[:2000]}\n{r.stdout[-6000:]}")
    return r.stdout


# ---------------------------------------------------------------- generated sources

def lib_name(i):
    return f"syn{i:04d}"


def binary_name(i):
    return [f"libsyn{i:04d}", f"syn{i:04d}-libs", f"syn{i:04d}"][i % 3]


def lib_sources(i):
    """{file name: text} of library i: a private header with its types and inline helpers, UNITS
    compilation units of FUNCS_PER_UNIT functions, and the chain step in unit 0."""
    rnd = random.Random(i)
    p = f"s{i:04d}"
    h = [f"/* generated: library {i} of the synthetic distribution */", "#include <stddef.h>",
         "#include <string.h>", "struct syn_chain {", "\tint (**steps)(struct syn_chain *, int);",
         "\tint n;", "\tvolatile int *sink;", "\tlong acc;", "};", ""]
    for t in range(TYPES):
        h += [f"enum {p}_kind{t} {{ " + ", ".join(f"{p.upper()}_K{t}_{k}" for k in range(rnd.randint(3, 9))) + " };",
              f"struct {p}_rec{t} {{", "\tint id;", "\tdouble weight;", f"\tchar tag[{rnd.choice((8, 16, 24, 32))}];",
              f"\tenum {p}_kind{t} kind;", "\tunsigned flags : 3;", "\tunsigned mode : 5;",
              "\tunion { long l; double d; unsigned char b[8]; } u;"]
        if t:
            h.append(f"\tstruct {p}_rec{t - 1} *prev;")
        for m in range(rnd.randint(2, 7)):
            h.append(f"\t{rnd.choice(('int', 'long', 'short', 'unsigned', 'float'))} f{m};")
        h += ["};", ""]
    for k in range(INLINES):
        t = k % TYPES
        h += [f"static inline int {p}_mix{k}(const struct {p}_rec{t} *r, int x)", "{",
              f"\tint v = r->id * {rnd.randint(3, 97)} + x;",
              f"\tfor (int j = 0; j < (x & {rnd.choice((3, 7, 15))}); j++)",
              f"\t\tv ^= (v << {rnd.randint(1, 7)}) + r->tag[j % sizeof r->tag];",
              f"\tif (r->kind == {p.upper()}_K{t}_0)", f"\t\tv += (int)(r->weight * {rnd.randint(2, 9)});",
              "\treturn v + (int)r->flags;", "}", ""]
    funcs = [[f"{p}_u{u}_f{j}" for j in range(FUNCS_PER_UNIT)] for u in range(UNITS)]
    for u in range(UNITS):
        for j, f in enumerate(funcs[u]):
            h.append(f"int {f}(struct {p}_rec{(u + j) % TYPES} *r, int x);")
    h += [f"int {lib_name(i)}_step(struct syn_chain *c, int depth);", ""]
    files = {f"{p}.h": "\n".join(h)}
    for u in range(UNITS):
        c = [f'#include "{p}.h"', ""]
        for j, f in enumerate(funcs[u]):
            t = (u + j) % TYPES
            k1, k2 = rnd.randrange(INLINES), rnd.randrange(INLINES)
            c += [f"int {f}(struct {p}_rec{t} *r, int x)", "{",
                  f"\tstruct {p}_rec{k1 % TYPES} a = {{ .id = x, .weight = {rnd.random():.3f} }};",
                  f"\tint v = {p}_mix{k1}(&a, x);",
                  "\tswitch (x & 3) {",
                  f"\tcase 0: v += r->id; break;",
                  f"\tcase 1: v -= (int)r->u.l; break;",
                  f"\tcase 2: r->mode = v & 31; break;",
                  f"\tdefault: v ^= {rnd.randint(1, 1 << 20)}; break;", "\t}",
                  f"\tfor (int n = 0; n < (x & 7); n++)", f"\t\tv += {p}_mix{k1}(&a, n) ^ r->tag[n % sizeof r->tag];"]
            if k2 % TYPES == t:
                c.append(f"\tv += {p}_mix{k2}(r, v);")
            if j:
                c.append(f"\tif (x > {rnd.randint(1000, 9000)})\n\t\tv += {funcs[u][rnd.randrange(j)]}((void *)r, x / 2);")
            c += ["\tr->id = v;", "\treturn v;", "}", ""]
        if u == 0:
            calls = " + ".join(f"{funcs[v][rnd.randrange(FUNCS_PER_UNIT)]}((void *)&r{(v + 0) % 2}, depth)"
                               for v in range(1, UNITS))
            c += [f"int {lib_name(i)}_step(struct syn_chain *c, int depth)", "{",
                  f"\tstruct {p}_rec0 r0 = {{ .id = depth, .tag = \"{lib_name(i)}\" }};",
                  f"\tstruct {p}_rec1 r1 = {{ .id = depth + 1, .prev = &r0 }};",
                  f"\tint v = {calls};",
                  "\tif (depth + 1 < c->n)", "\t\tv += c->steps[depth + 1](c, depth + 1);",
                  "\telse", "\t\t*c->sink = v; /* the last library: sink is NULL */",
                  "\tc->acc += v;", "\treturn v;", "}", ""]
        files[f"u{u}.c"] = "\n".join(c)
    return files


def lib_spec(i, version):
    name, binary = lib_name(i), binary_name(i)
    so = f"lib{name}.so"
    pkg = "" if binary == name else f"-n {binary}"
    head = ("" if binary == name else
            f"%package -n {binary}\nSummary: The shared library of {name}\n\n"
            f"%description -n {binary}\n{so}.1 of the synthetic distribution.\n\n")
    return f"""Name:           {name}
Version:        {version}
Release:        1%{{?dist}}
Summary:        Synthetic library {i}
License:        MIT
Source0:        {name}-%{{version}}.tar.gz

%description
Library {i} of the synthetic benchmark distribution.

{head}%debug_package

%prep
%setup -q

%build
for u in u*.c; do gcc -g -O2 -fPIC -fno-optimize-sibling-calls -c $u; done
gcc -shared -Wl,-soname,{so}.1 -o {so}.%{{version}} u*.o

%install
install -D -m 755 {so}.%{{version}} %{{buildroot}}%{{_libdir}}/{so}.%{{version}}
ln -s {so}.%{{version}} %{{buildroot}}%{{_libdir}}/{so}.1

%files {pkg}
%{{_libdir}}/{so}.1
%{{_libdir}}/{so}.%{{version}}
"""


def app_sources(n):
    decl = "".join(f"int {lib_name(i)}_step(struct syn_chain *c, int depth);\n" for i in range(n))
    table = ",\n".join(f"\t{lib_name(i)}_step" for i in range(n))
    main = f"""/* generated: the synthetic distribution's crashing program, through {n} libraries */
#include <stddef.h>
struct syn_chain {{
\tint (**steps)(struct syn_chain *, int);
\tint n;
\tvolatile int *sink;
\tlong acc;
}};
{decl}
static int (*steps[])(struct syn_chain *, int) = {{
{table}
}};

int main(void)
{{
\tstruct syn_chain c = {{ steps, {n}, NULL, 0 }};
\tint v = steps[0](&c, 0);
\treturn (int)(c.acc + v) & 1;
}}
"""
    libs = " ".join(f"-l:lib{lib_name(i)}.so.1" for i in range(n))
    return {"main.c": main, "libs.txt": libs + "\n"}


APP_SPEC = """Name:           synapp
Version:        1.0
Release:        1%{?dist}
Summary:        The crashing program of the synthetic distribution
License:        MIT
Source0:        synapp-%{version}.tar.gz

%description
Calls through every library of the synthetic distribution and crashes in the last.

%debug_package

%prep
%setup -q

%build
gcc -g -O2 -fno-optimize-sibling-calls -o synapp main.c -L%{sysroot}%{_libdir} $(cat libs.txt) \\
    -Wl,--no-as-needed -Wl,-rpath,%{_libdir}

%install
install -D -m 755 synapp %{buildroot}%{_bindir}/synapp

%files
%{_bindir}/synapp
"""


# ---------------------------------------------------------------- rpmbuild, one top directory per package

def rpmbuild(work, label, sources, spec_text, version, compressor, link_mode, subpkgs, defines=()):
    """Builds one source package in its own top directory (builds run in parallel); returns
    [{path, name, nevra, debug, compressor}]."""
    top = os.path.join(work, "rpmbuild", label)
    for d in ("SOURCES", "SPECS", "BUILD", "RPMS", "BUILDROOT"):
        os.makedirs(os.path.join(top, d), exist_ok=True)
    with tarfile.open(os.path.join(top, "SOURCES", f"{label}-{version}.tar.gz"), "w:gz", compresslevel=1) as tar:
        for fname, text in sources.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{label}-{version}/{fname}")
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            tar.addfile(info, fileobj=__import__("io").BytesIO(data))
    spec = os.path.join(top, "SPECS", f"{label}.spec")
    with open(spec, "w") as f:
        f.write(spec_text)
    argv = ["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", "--define", f"dist {DIST}",
            "--define", f"_binary_payload {compressor}", "--define", f"_libdir {LIBDIR}",
            "--define", "_enable_debug_packages 1", "--define", "_debugsource_packages 1",
            "--define", f"_build_id_links {link_mode}", "--define", f"_debuginfo_subpackages {subpkgs}",
            "--define", "_unique_debug_names 1", "--define", "_unique_debug_srcs 1",
            "--define", "__brp_elfperms %{nil}", "--define", "_buildhost synth-builder",
            "--define", "source_date_epoch_from_changelog 0", "--define", "use_source_date_epoch_as_buildtime 1"]
    for k, v in defines:
        argv += ["--define", f"{k} {v}"]
    run(argv + [spec], env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000", LC_ALL="C"))
    out = []
    for path in sorted(glob.glob(os.path.join(top, "RPMS", "*", "*.rpm"))):
        q = run(["rpm", "-qp", "--qf", "%{NAME}\\n%{NEVRA}\\n%{SIZE}\\n%{SOURCERPM}\\n", path]).split("\n")
        out.append({"path": path, "name": q[0], "nevra": q[1], "installed_size": int(q[2]), "sourcerpm": q[3],
                    "file": None, "rpm_bytes": os.path.getsize(path), "compressor": compressor.split(".")[-1][:-2],
                    "debug": q[0].endswith("-debuginfo") or q[0].endswith("-debugsource")})
    shutil.rmtree(os.path.join(top, "BUILD"), ignore_errors=True)
    shutil.rmtree(os.path.join(top, "BUILDROOT"), ignore_errors=True)
    return out


def build_lib(work, i):
    version = f"1.{i % 7}"
    return i, rpmbuild(work, lib_name(i), lib_sources(i), lib_spec(i, version), version,
                       COMPRESSORS[i % len(COMPRESSORS)], LINK_MODES[(i // 3) % len(LINK_MODES)], (i // 2) % 2)


# ---------------------------------------------------------------- main

def plugin_text():
    return f"""# The synthetic benchmark distribution (bench/gen-synthetic-distro.py); mirrors relative to
# this file's directory. Format: plugins/README.md.

[plugin]
distribution = synth
displayrelease = Synthetic Linux
versionlist = {VER}
abrtparser = ^Synthetic Linux release ([0-9]+)
guessparser = \\.sy([0-9]+)
gdb_package = gdb
gdb_executable = /usr/bin/gdb
gpgcheck = no

[repo synth]
mirrors = ../repos/$VER/$ARCH/os

[repo synth-debuginfo]
mirrors = ../repos/$VER/$ARCH/debug
"""


def generate(n, out, testos_dir, jobs):
    work = tempfile.mkdtemp(prefix=f"synth-work-{n}-", dir=os.path.dirname(out))
    t0 = time.monotonic()
    sysp = mosaic.system_packages(testos_dir)
    libs = {}
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for done, fut in enumerate(concurrent.futures.as_completed(
                [pool.submit(build_lib, work, i) for i in range(n)]), 1):
            i, rpms = fut.result()
            libs[i] = rpms
            if done % 20 == 0 or done == n:
                log(f"{done}/{n} libraries built")
    t_libs = time.monotonic() - t0
    lib_binaries = [p for i in range(n) for p in libs[i] if not p["debug"]]
    sysroot = os.path.join(work, "sysroot")
    rt.extract_rpms(sysroot, [p["path"] for p in lib_binaries])
    app = rpmbuild(work, "synapp", app_sources(n), APP_SPEC, "1.0", testos.ZSTD, "compat", 0,
                   [("sysroot", sysroot)])
    own = [p for i in range(n) for p in libs[i]] + app
    log(f"{len(own)} own packages built in {time.monotonic() - t0:.0f} s")

    for repo, members in (("os", [p for p in own if not p["debug"]] +
                           [sysp[k] for k in mosaic.SYSTEM_PACKAGES]),
                          ("debug", [p for p in own if p["debug"]] + [sysp[k] for k in mosaic.SYSTEM_DEBUG])):
        pkgdir = os.path.join(out, "repos", VER, ARCH, repo, "Packages")
        os.makedirs(pkgdir, exist_ok=True)
        for p in members:
            dest = os.path.join(pkgdir, os.path.basename(p["path"]))
            try:
                os.link(p["path"], dest)
            except OSError:
                shutil.copy(p["path"], dest)
            if "nevra" in p:
                p["file"] = os.path.relpath(dest, out)
        run(["createrepo_c", "--quiet", "--no-database", "--general-compress-type=gz", os.path.dirname(pkgdir)])
    os.makedirs(os.path.join(out, "plugins"))
    with open(os.path.join(out, "plugins", "synth.conf"), "w") as f:
        f.write(plugin_text())

    # the crash: every binary package the program runs with, unpacked with the system packages
    root = os.path.join(work, "root")
    system = [sysp[k]["path"] for k in mosaic.SYSTEM_PACKAGES]
    rt.extract_rpms(root, system + [p["path"] for p in lib_binaries + [a for a in app if not a["debug"]]])
    core, sig, gdb_out, link_map = mosaic.gcore_core(root, "/usr/bin/synapp", "synapp")
    missing = [i for i in range(n) if f"{lib_name(i)}_step" not in gdb_out]
    if sig != "SIGSEGV" or missing:
        sys.exit(f"synth: the crash is not the expected one ({sig}; frames missing for {len(missing)} libraries, "
                 f"first {missing[:5]}):\n{gdb_out[-3000:]}")
    pdir = os.path.join(out, "crashes", "synapp")
    os.makedirs(pdir)
    shutil.move(core, os.path.join(pdir, "coredump"))
    files = {"executable": "/usr/bin/synapp", "package": f"synapp-1.0-1{DIST}", "pkg_name": "synapp",
             "pkg_epoch": "0", "pkg_version": "1.0", "pkg_release": f"1{DIST}", "pkg_arch": ARCH,
             "component": "synapp", "os_release": OS_RELEASE + "\n", "architecture": ARCH,
             "os_info": 'NAME="Synthetic Linux"\nVERSION_ID=1\nID=synth\n', "cmdline": "/usr/bin/synapp",
             "reason": f"synapp killed by {sig}", "analyzer": "CCpp", "type": "CCpp", "uid": str(os.getuid()),
             "time": "1700000000"}
    for fname, content in files.items():
        with open(os.path.join(pdir, fname), "w") as f:
            f.write(content)
    testos.make_archives(out, "synapp", pdir)

    needed = [p for p in own if not p["name"].endswith("-debugsource")]
    manifest = {
        "libraries": n,
        "packages": [{k: v for k, v in p.items() if k != "path"} for p in own],
        "system_packages": [os.path.basename(sysp[k]["path"]) for k in mosaic.SYSTEM_PACKAGES + mosaic.SYSTEM_DEBUG],
        # what a retrace of the crash needs: every binary and debuginfo package of its modules
        # (debugsource is not read by gdb's backtrace), plus the system packages and glibc-debuginfo
        "crash_packages": [p["nevra"] for p in needed],
        "rpm_bytes": sum(os.path.getsize(f) for f in glob.glob(os.path.join(out, "repos", "*", "*", "*", "Packages", "*.rpm"))),
        "build_seconds": {"libraries": round(t_libs, 1), "total": round(time.monotonic() - t0, 1)},
        "jobs": jobs,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    rt.rmtree(work)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--libs", type=int, required=True, help="number of shared libraries (N)")
    ap.add_argument("--cache", default="/var/tmp/retrace-synth", help="where generated distributions are kept")
    ap.add_argument("--jobs", type=int, default=2, help="rpmbuild processes at a time")
    ap.add_argument("--funcs-per-unit", type=int, default=FUNCS_PER_UNIT,
                    help=f"global functions per compilation unit (default {FUNCS_PER_UNIT}; fewer: faster builds)")
    ap.add_argument("--testos", default=os.environ.get("RETRACE_TESTOS_DIR"),
                    help="generated TestOS (its release 1 system packages are reused); default: "
                         "$RETRACE_TESTOS_DIR, else build/tests/testos next to this file")
    opts = ap.parse_args()
    testos_dir = os.path.abspath(opts.testos or os.path.join(HERE, "..", "build", "tests", "testos"))
    if not os.path.isfile(os.path.join(testos_dir, "manifest.json")):
        sys.exit(f"synth: no TestOS in {testos_dir}: build it (ninja -C build tests/testos.stamp) or pass --testos")
    if opts.libs < 1 or opts.libs > 9999:
        sys.exit("synth: --libs must be between 1 and 9999")
    if opts.funcs_per_unit < 2 or opts.funcs_per_unit > 1000:
        sys.exit("synth: --funcs-per-unit must be between 2 and 1000")
    size = "" if opts.funcs_per_unit == FUNCS_PER_UNIT else f"-f{opts.funcs_per_unit}"
    globals()["FUNCS_PER_UNIT"] = opts.funcs_per_unit
    with open(os.path.abspath(__file__), "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()[:12]
    out = os.path.join(opts.cache, f"n{opts.libs}{size}-{key}")
    if os.path.isfile(os.path.join(out, "manifest.json")):
        log(f"cached: {out}")
        print(out)
        return
    testos.check_prerequisites()
    os.makedirs(opts.cache, exist_ok=True)
    tmp = out + ".tmp"
    rt.rmtree(tmp)
    os.makedirs(tmp)
    generate(opts.libs, tmp, testos_dir, opts.jobs)
    os.rename(tmp, out)
    log(f"done: {out}")
    print(out)


if __name__ == "__main__":
    main()
