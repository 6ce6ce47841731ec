#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""How the package cache scales with the distribution: for a synthetic distribution of N shared
libraries (bench/gen-synthetic-distro.py) and its crash through all N, one run prints, per N:

  sync         retrace-server-reposync time, index size against the RPM bytes (target ≤ 5 %)
  first task   upload → backtrace through the daemon on a fresh cache (CachePrefetch as given,
               default `debugger`: the task extracts every package of its root but gdb's closure)
  warm task    the same crash again (root reused), median of --warm runs
  gdb alone    the daemon's gdb commands run by the host's gdb on the assembled root (sysroot)
  debuginfod   elfutils `debuginfod -R REPO` (its scan timed as its "sync"), then the host's gdb
               with DEBUGINFOD_URLS: cold = empty client cache, the binary packages unpacked as
               sysroot (rpm2cpio | cpio) included; warm = the same gdb again
  dnf          `dnf --installroot` of the crash's binary and debuginfo packages + the same gdb
  cache        CacheDir on disk after the first task against the installed size of the
               packages extracted (target ≤ 1.5×)

and the ratios against debuginfod with the targets of issue #22. A benchmark: it prints numbers,
it never fails on them.

    bench/bench-distro-scale.py [--build build] [--sizes 20 200 1000] [--warm 3] [--prefetch debugger]
"""

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "helpers"))
import retrace_test as rt  # noqa: E402
from daemon_helpers import post  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
ap.add_argument("--sizes", type=int, nargs="+", default=[20, 200, 1000], help="numbers of libraries (N)")
ap.add_argument("--warm", type=int, default=3, help="warm runs (median)")
ap.add_argument("--prefetch", default="debugger", choices=("none", "debugger", "all"))
ap.add_argument("--cache", default="/var/tmp/retrace-synth", help="generated distributions (see the generator)")
ap.add_argument("--jobs", type=int, default=2, help="rpmbuild processes of the generator")
ap.add_argument("--funcs-per-unit", type=int, help="the generator's functions per compilation unit (default: its own)")
ap.add_argument("--testos", help="TestOS for the system packages (default: $RETRACE_TESTOS_DIR, BUILD/tests/testos "
                "or the build's -Dtestos_dir)")
ap.add_argument("--skip-dnf", action="store_true")
ap.add_argument("--keep", action="store_true", help="keep the work directories")
opts = ap.parse_args()
BUILD = os.path.abspath(opts.build)


def default_testos():
    """BUILD/tests/testos, or the directory the build was configured to share (-Dtestos_dir)."""
    own = os.path.join(BUILD, "tests", "testos")
    if os.path.isfile(os.path.join(own, "manifest.json")):
        return own
    r = subprocess.run(["meson", "introspect", "--buildoptions", BUILD], stdout=subprocess.PIPE, text=True)
    for o in json.loads(r.stdout or "[]"):
        if o["name"] == "testos_dir" and o["value"]:
            return o["value"]
    return own


TESTOS = os.path.abspath(opts.testos or os.environ.get("RETRACE_TESTOS_DIR") or default_testos())
SERVER = os.path.join(BUILD, "daemon", "retrace-server")
REPOSYNC = os.path.join(BUILD, "rpmcache", "retrace-server-reposync")
CACHE = os.path.join(BUILD, "rpmcache", "retrace-server-cache")
SANDBOX = os.path.join(BUILD, "sandbox", "retrace-sandbox")
GDB = shutil.which("gdb") or "/usr/bin/gdb"
TARGETS = {"index": "≤ 5 % of RPM bytes", "first": "≤ debuginfod cold (ratio ≤ 1.0)",
           "warm": "≤ 0.6× debuginfod warm (debug files without an index)",
           "warm_indexed": "≤ 1.1× gdb alone (debug files with an index)", "cache": "≤ 1.5× installed"}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def sh(argv, env=None, timeout=3600, cwd=None):
    """Runs a command in its own session, as the daemon runs itself and its sandboxes: with the
    kernel's autogroup scheduling a session competes for CPU as one group whatever the caller's
    nice value, so that running this script under nice does not slow the compared commands alone."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                       env=env, timeout=timeout, cwd=cwd, start_new_session=True)
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)[:300]} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return time.monotonic() - t0, r


def du(path):
    return int(sh(["du", "-s", "--block-size=1", path]).split()[0])


def extract_rpms(root, rpms):
    """rpm2cpio | cpio of each package into root (the sysroot a debuginfod user unpacks)."""
    os.makedirs(root, exist_ok=True)
    sh(["sh", "-ec", 'for f; do rpm2cpio "$f" | cpio -idmu --quiet --no-absolute-filenames; done', "sh", *rpms],
       cwd=root)


def gdb_argv(exe, core, sysroot, debuginfod=False):
    """The daemon's own gdb commands (tests/test-daemon-gdb prints them), with the root as sysroot."""
    argv = sh([os.path.join(BUILD, "tests", "test-daemon-gdb"), "argv", "gdb", exe, core]).split("\0")[:-1]
    argv = [GDB if a == "gdb" else a for a in argv]
    if debuginfod:
        argv = [a.replace("set debuginfod enabled off", "set debuginfod enabled on") for a in argv]
    return argv[:3] + ["-iex", f"set sysroot {sysroot}", "-iex", f"set debug-file-directory {sysroot}/usr/lib/debug"] \
        + argv[3:]


def with_log(argv, log):
    """argv writing the commands' output to gdb's log file log, as the daemon runs gdb (daemon-gdb.c:
    `set logging` from the first command on; stdout keeps the preamble)."""
    i = argv.index("-ex")
    cmds = [f"set logging file {log}", "set logging overwrite on", "set logging redirect on",
            "set logging enabled on"]
    return argv[:i] + [x for c in cmds for x in ("-ex", c)] + argv[i:]


def run_gdb(argv, env=None):
    out = sh(argv, env=env)
    log = next((a[len("set logging file "):] for a in argv if a.startswith("set logging file ")), None)
    if log:
        with open(log) as f:
            out += f.read()
    if not re.search(r"@@retrace:threads@@\n+Thread 1 .*\n#0 ", out):
        sys.exit("bench: gdb printed no backtrace:\n" + out[-3000:])
    return out


def frames_with_lines(out):
    """Frames of the crashing (and only) thread in the threads section, and those with file:line
    (not the crash_sources section: with debuginfod, gdb fetches each frame's source file there and
    its download messages break the frame lines)."""
    block = out.split("@@retrace:threads@@", 1)[1].split("@@retrace:", 1)[0]
    frames = [ln for ln in block.splitlines() if re.match(r"#\d+ ", ln)]
    return len(frames), sum(1 for f in frames if re.search(r" at \S+:\d+", f))


# ---------------------------------------------------------------- ours

def cache_stats(env):
    out = sh([CACHE, "stats"], env=env)
    return {k: float(v) for k, v in re.findall(r"^([a-z-]+): ([0-9.]+)$", out, re.M)}


def retrace(srv, archive):
    t0 = time.monotonic()
    st, h, body = post(srv.port, archive)
    assert st == 201, (st, body)
    hdr = {"X-Task-Password": h["X-Task-Password"]}
    while True:
        _, hh, _ = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}", hdr)
        if hh["X-Task-Status"].startswith("FINISHED"):
            break
        time.sleep(0.02)
    elapsed = time.monotonic() - t0
    st, _, bt = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/backtrace", hdr, timeout=120)
    _, _, tlog = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/log", hdr, timeout=60)
    if st != 200 or b"Crashing thread" not in bt:
        sys.exit(f"bench: task {h['X-Task-Id']} failed ({hh['X-Task-Status']}):\n{tlog.decode(errors='replace')[-4000:]}")
    return elapsed, bt.decode(errors="replace"), tlog.decode(errors="replace")


def ours(dist, manifest, work):
    conf = os.path.join(work, "retrace-server.conf")
    plugins = os.path.join(work, "plugins")
    os.makedirs(plugins)
    with open(conf, "w") as f:
        f.write(f"[retrace]\nRepoDir = repo\nCacheDir = cache\nPluginDir = plugins\nSaveDir = tasks\n"
                f"SandboxPath = {SANDBOX}\nTaskTimeout = 3600\nCachePrefetch = {opts.prefetch}\n"
                f"MaxPackedSize = 2G\nMaxUnpackedSize = 4G\nMaxParallelTasks = 1\n"
                # warm tasks upload the same crash again: each must run gdb, not reuse the result
                f"ReuseIdenticalUploads = no\n")
    with open(os.path.join(dist, "plugins", "synth.conf")) as f:
        text = f.read().replace("../repos/", f"file://{dist}/repos/")
    with open(os.path.join(plugins, "synth.conf"), "w") as f:
        f.write(text)
    env = dict(os.environ, RETRACE_SERVER_CONFIG_PATH=conf)
    env.pop("RETRACE_SERVER_PLUGIN_DIR", None)
    r = {}
    r["sync"], out = timed(sh, [REPOSYNC, "synth", "1", "x86_64"], env=env)
    s = cache_stats(env)
    r["sync_stats"] = s
    r["cache_after_sync"] = du(os.path.join(work, "cache"))
    with open(os.path.join(dist, "crashes", "synapp.tar.xz"), "rb") as f:
        archive = f.read()
    srv = rt.Server(lambda port, tmp: [SERVER, "--config", conf, "--listen", f"127.0.0.1:{port}"],
                    name="retrace-server", env=env)
    with srv:
        srv.start(ready_path="settings")
        r["first"], bt, tlog = retrace(srv, archive)
        r["first_log"] = [ln for ln in tlog.splitlines()
                          if "Extracted" in ln or "Resolution:" in ln or "index" in ln]
        r["after_first"] = cache_stats(env)
        r["cache_after_first"] = du(os.path.join(work, "cache"))
        # the root the first task assembled, for gdb alone (the same gdb commands, the host's gdb);
        # warm tasks and gdb alone alternate, so that both see the same load
        roots = sorted(glob.glob(os.path.join(work, "cache", "roots", "*")), key=os.path.getmtime)
        root = roots[-1]
        argv = gdb_argv("/usr/bin/synapp", os.path.join(dist, "crashes", "synapp", "coredump"), root)
        argv[argv.index("/usr/bin/synapp")] = os.path.join(root, "usr/bin/synapp")
        # gdb alone as if every debug file carried its index: gdb reads the indexes the first task built
        # from its index cache, the same .gdb_index it would read from the file's own section
        indexed = argv[:3] + ["-iex", f"set index-cache directory {os.path.join(work, 'cache', 'gdb-index')}",
                              "-iex", "set index-cache enabled on"] + argv[3:]
        warm, alone, alone_idx = [], [], []
        for _ in range(opts.warm):
            t, bt, _ = retrace(srv, archive)
            warm.append(t)
            t, out = timed(run_gdb, argv)
            alone.append(t)
            alone_idx.append(timed(run_gdb, indexed)[0])
        r["warm"], r["gdb_alone"] = statistics.median(warm), statistics.median(alone)
        r["gdb_alone_indexed"] = statistics.median(alone_idx)
        r["gdb_alone_argv"] = argv
        _, _, st = rt.http_get(srv.base_url + "stats")
        r["stages"] = {k: v["median"] for k, v in json.loads(st).get("durations", {}).items()}
    r["gdb_frames"] = frames_with_lines(out)
    return r


# ---------------------------------------------------------------- elfutils debuginfod

def debuginfod_metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as f:
        return f.read().decode()


def metric(text, name):
    """The sum of the metric's samples (name may include the labels: name{role="scan"})."""
    labels = "" if "{" in name else r"(?:\{[^}]*\})?"
    return sum(float(v) for v in re.findall(rf"^{re.escape(name)}{labels} ([0-9.e+]+)$", text, re.M))


def debuginfod(dist, manifest, work, alone_argv):
    repo = os.path.join(dist, "repos")
    db = os.path.join(work, "debuginfod.sqlite")
    port = rt.free_port()
    r = {}
    t0 = time.monotonic()
    proc = subprocess.Popen(["debuginfod", "-R", repo, "-p", str(port), "-d", db, "-t", "0", "-g", "0",
                             "-c", str(os.cpu_count() or 1)],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "debuginfod.log"), "w"),
                            start_new_session=True)
    try:
        rpms = len(glob.glob(os.path.join(repo, "*", "*", "*", "Packages", "*.rpm")))
        while True:  # the initial scan: every archive scanned once, no work pending
            time.sleep(0.2)
            if proc.poll() is not None:
                sys.exit(f"bench: debuginfod exited {proc.returncode}, see {work}/debuginfod.log")
            try:
                m = debuginfod_metrics(port)
            except OSError:
                continue
            if (metric(m, "scanned_files_total") >= rpms and metric(m, 'thread_work_pending{role="scan"}') == 0
                    and metric(m, 'thread_busy{role="scan"}') == 0 and metric(m, 'thread_busy{role="traverse"}') == 0
                    and metric(m, 'thread_work_total{role="traverse"}') >= 1):
                break
            if time.monotonic() - t0 > 3600:
                sys.exit("bench: debuginfod did not finish its scan in an hour")
        r["scan"] = time.monotonic() - t0
        core = os.path.join(dist, "crashes", "synapp", "coredump")
        client = os.path.join(work, "client-cache")
        env = dict(os.environ, DEBUGINFOD_URLS=f"http://127.0.0.1:{port}", DEBUGINFOD_CACHE_PATH=client,
                   DEBUGINFOD_TIMEOUT="600")
        binaries = [os.path.join(dist, p["file"]) for p in manifest["packages"] if not p["debug"]] + \
            [os.path.join(dist, "repos", "1", "x86_64", "os", "Packages", f) for f in manifest["system_packages"]
             if f.startswith(("filesystem-", "glibc-")) and "-debuginfo-" not in f]  # the core's modules only

        def cold():
            sysroot = os.path.join(work, "sysroot")
            rt.rmtree(sysroot)
            rt.rmtree(client)
            t, _ = timed(extract_rpms, sysroot, binaries)
            argv = gdb_argv(os.path.join(sysroot, "usr/bin/synapp"), core, sysroot, debuginfod=True)
            g, out = timed(run_gdb, argv, env)
            return t, g, out

        r["extract"], r["cold_gdb"], out = cold()
        r["cold_frames"] = frames_with_lines(out)
        argv = gdb_argv(os.path.join(work, "sysroot", "usr/bin/synapp"), core, os.path.join(work, "sysroot"),
                        debuginfod=True)
        # alternating with gdb alone on our root again: the load may have changed since our tasks ran;
        # and the same gdb writing its output to a log file, as the daemon runs it
        logged = with_log(argv, os.path.join(work, "gdb.log"))
        warm, alone, warm_log = [], [], []
        for _ in range(opts.warm):
            t, out = timed(run_gdb, argv, env)
            warm.append(t)
            alone.append(timed(run_gdb, alone_argv)[0])
            warm_log.append(timed(run_gdb, logged, env)[0])
        r["warm"], r["gdb_alone"] = statistics.median(warm), statistics.median(alone)
        r["warm_log"] = statistics.median(warm_log)
        r["warm_frames"] = frames_with_lines(out)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait()
    r["db_bytes"] = sum(os.path.getsize(p) for p in glob.glob(db + "*"))  # after its last checkpoint
    return r


# ---------------------------------------------------------------- dnf --installroot

def dnf(dist, manifest, work):
    if opts.skip_dnf:
        return {"skipped": "--skip-dnf"}
    if not shutil.which("dnf"):
        return {"skipped": "dnf is not installed (Debian: apt-get install dnf)"}
    cfg = os.path.join(work, "dnf.conf")
    with open(cfg, "w") as f:
        f.write(f"[main]\ngpgcheck=0\nreposdir=/dev/null\n[synth]\nname=synth\nbaseurl=file://{dist}/repos/1/x86_64/os\n"
                f"[synth-debuginfo]\nname=synth-debuginfo\nbaseurl=file://{dist}/repos/1/x86_64/debug\n")
    root = os.path.join(work, "dnfroot")
    names = sorted({p["name"] for p in manifest["packages"] if not p["name"].endswith("-debugsource")})
    t0 = time.monotonic()
    r = subprocess.run(["dnf", "-q", "-y", "--config", cfg, "--installroot", root, "--releasever", "1",
                        "--setopt=install_weak_deps=0", f"--setopt=cachedir={work}/dnfcache", "--forcearch", "x86_64",
                        "install", "filesystem", "glibc", "glibc-debuginfo", *names],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                       start_new_session=True)
    t_dnf = time.monotonic() - t0
    if r.returncode != 0:
        return {"skipped": "dnf --installroot failed: " + r.stdout.strip().splitlines()[-1][:200]}
    argv = gdb_argv(os.path.join(root, "usr/bin/synapp"), os.path.join(dist, "crashes", "synapp", "coredump"), root)
    t_gdb, out = timed(run_gdb, argv)
    return {"dnf": t_dnf, "gdb": t_gdb, "frames": frames_with_lines(out)}


# ---------------------------------------------------------------- report

def fmt_b(n):
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def main():
    for tool in ("debuginfod", "rpm2cpio", "cpio", "createrepo_c", "rpmbuild"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is missing: apt-get install debuginfod rpm createrepo-c cpio (see bench/README.md)")
    for prog in (SERVER, REPOSYNC, CACHE, SANDBOX):
        if not os.access(prog, os.X_OK):
            sys.exit(f"bench: {prog} is missing: build first (meson compile -C {BUILD})")
    rows = []
    for n in opts.sizes:
        log(f"N={n}: generating (or reusing) the distribution")
        t, out = timed(sh, [sys.executable, os.path.join(HERE, "gen-synthetic-distro.py"), "--libs", str(n),
                            "--cache", opts.cache, "--jobs", str(opts.jobs), "--testos", TESTOS]
                           + (["--funcs-per-unit", str(opts.funcs_per_unit)] if opts.funcs_per_unit else []))
        dist = out.strip().splitlines()[-1]
        with open(os.path.join(dist, "manifest.json")) as f:
            manifest = json.load(f)
        work = tempfile.mkdtemp(prefix=f"bench-distro-{n}-", dir="/var/tmp")
        try:
            log(f"N={n}: ours")
            o = ours(dist, manifest, os.path.join(work, "ours"))
            log(f"N={n}: debuginfod")
            os.makedirs(os.path.join(work, "dbgd"))
            d = debuginfod(dist, manifest, os.path.join(work, "dbgd"), o["gdb_alone_argv"])
            log(f"N={n}: dnf")
            os.makedirs(os.path.join(work, "dnf"))
            x = dnf(dist, manifest, os.path.join(work, "dnf"))
        finally:
            if not opts.keep:
                rt.rmtree(work)
        rows.append((n, dist, manifest, o, d, x))
        report(rows[-1])
    summary(rows)


def report(row):
    n, dist, m, o, d, x = row
    s, a = o["sync_stats"], o["after_first"]
    rpm = s.get("rpm-bytes", m["rpm_bytes"])
    pk = s.get("packages", len(m["packages"]))
    dcold = d["extract"] + d["cold_gdb"]
    print(f"\n== N = {n} libraries: {int(pk)} packages, {fmt_b(rpm)} of RPMs ({dist})")
    print(f"generated in {m['build_seconds']['total']:.0f} s with {m['jobs']} rpmbuild jobs "
          f"({m['build_seconds']['libraries'] / n:.2f} s per library source package)")
    print(f"sync (reposync, CachePrefetch={opts.prefetch}): {o['sync']:.1f} s = {o['sync'] / (rpm / 1e9):.1f} s/GB;"
          f" index {fmt_b(s['index-bytes'])} = {100 * s['index-bytes'] / rpm:.2f} % of RPM bytes"
          f" ({s['index-bytes'] / pk / 1e3:.1f} kB per package) [target {TARGETS['index']}]")
    print(f"debuginfod -R scan: {d['scan']:.1f} s, its database after the run {fmt_b(d['db_bytes'])} = "
          f"{100 * d['db_bytes'] / rpm:.2f} % of RPM bytes")
    print(f"first task (upload → backtrace): {o['first']:.2f} s  | " + " | ".join(o["first_log"])[:400])
    print(f"warm task (median of {opts.warm}): {o['warm']:.2f} s")
    print("daemon stages, median over the tasks: " + ", ".join(f"{k} {v:.2f} s" for k, v in o["stages"].items()))
    print(f"gdb alone on the assembled root: {o['gdb_alone']:.2f} s (crashing thread: {o['gdb_frames'][0]} frames, "
          f"{o['gdb_frames'][1]} with file:line); the same reading the indexes (as if the debug files carried "
          f"them): {o['gdb_alone_indexed']:.2f} s")
    print(f"debuginfod + gdb cold: {dcold:.2f} s (unpack sysroot {d['extract']:.2f} s + gdb {d['cold_gdb']:.2f} s; "
          f"{d['cold_frames'][1]} frames with file:line)")
    print(f"debuginfod + gdb warm (median of {opts.warm}): {d['warm']:.2f} s; the same with gdb's output to its "
          f"log file (as the daemon runs it): {d['warm_log']:.2f} s")
    if "skipped" in x:
        print(f"dnf --installroot + gdb: skipped ({x['skipped']})")
    else:
        print(f"dnf --installroot + gdb: {x['dnf'] + x['gdb']:.2f} s (dnf {x['dnf']:.2f} s + gdb {x['gdb']:.2f} s)")
    inst = a.get("extracted-installed-bytes", 0)
    print(f"cache after the first task: {fmt_b(o['cache_after_first'])} on disk (CacheDir; after sync "
          f"{fmt_b(o['cache_after_sync'])}); installed size of the {int(a.get('packages-extracted', 0))} packages "
          f"extracted: {fmt_b(inst)}")
    print("ratios:")
    print(f"  first task / debuginfod cold      {o['first'] / dcold:5.2f}   [target {TARGETS['first']}]")
    print(f"  warm task / debuginfod warm       {o['warm'] / d['warm']:5.2f}   [target {TARGETS['warm']}]")
    print(f"  warm task / debuginfod warm, gdb writing to its log file on both sides "
          f"{o['warm'] / d['warm_log']:5.2f}")
    print(f"  warm task / gdb alone             {o['warm'] / o['gdb_alone']:5.2f}   (alternating runs)")
    print(f"  warm task / gdb alone with indexes {o['warm'] / o['gdb_alone_indexed']:5.2f}  "
          f"[target {TARGETS['warm_indexed']}]")
    print(f"  debuginfod warm / gdb alone       {d['warm'] / d['gdb_alone']:5.2f}   (alternating runs)")
    adj = (o['warm'] / o['gdb_alone']) / (d['warm'] / d['gdb_alone'])
    print(f"  warm task / debuginfod warm, each against gdb alone under its own load: {adj:.2f}")
    if "skipped" not in x:
        print(f"  first task / dnf + gdb            {o['first'] / (x['dnf'] + x['gdb']):5.2f}")
    print(f"  index / RPM bytes                 {s['index-bytes'] / rpm:6.3f}  [target {TARGETS['index']}]")
    if inst:
        print(f"  cache after first / installed     {o['cache_after_first'] / inst:5.2f}   [target {TARGETS['cache']}]")
    sys.stdout.flush()


def summary(rows):
    print("\n| N | packages | RPMs | sync | s/GB | index | index/RPM | kB/pkg | first | warm | gdb alone | "
          "dbgd cold | dbgd warm | dnf+gdb | first/dbgd cold | warm/dbgd warm | same, via gdb alone | "
          "warm/dbgd warm, both logging | warm/gdb alone with indexes | cache/installed |")
    print("|" + "---|" * 20)
    for n, dist, m, o, d, x in rows:
        s, a = o["sync_stats"], o["after_first"]
        rpm, pk = s["rpm-bytes"], s["packages"]
        dcold = d["extract"] + d["cold_gdb"]
        inst = a.get("extracted-installed-bytes", 0) or float("nan")
        dnf_t = "—" if "skipped" in x else f"{x['dnf'] + x['gdb']:.1f} s"
        print(f"| {n} | {int(pk)} | {fmt_b(rpm)} | {o['sync']:.1f} s | {o['sync'] / (rpm / 1e9):.0f} | "
              f"{fmt_b(s['index-bytes'])} | {100 * s['index-bytes'] / rpm:.2f} % | {s['index-bytes'] / pk / 1e3:.1f} | "
              f"{o['first']:.2f} s | {o['warm']:.2f} s | {o['gdb_alone']:.2f} s | {dcold:.2f} s | {d['warm']:.2f} s | "
              f"{dnf_t} | {o['first'] / dcold:.2f} | {o['warm'] / d['warm']:.2f} | "
              f"{(o['warm'] / o['gdb_alone']) / (d['warm'] / d['gdb_alone']):.2f} | "
              f"{o['warm'] / d['warm_log']:.2f} | {o['warm'] / o['gdb_alone_indexed']:.2f} | "
              f"{o['cache_after_first'] / inst:.2f} |")
    # what each added library (3 packages: binary, debuginfo, debugsource) costs, between sizes:
    # the system packages (gdb's closure, the largest RPMs) are the same at every N and drop out
    for (n0, _, _, o0, d0, _), (n1, _, _, o1, d1, _) in zip(rows, rows[1:]):
        s0, s1 = o0["sync_stats"], o1["sync_stats"]
        dp, db = s1["packages"] - s0["packages"], s1["rpm-bytes"] - s0["rpm-bytes"]
        if dp <= 0 or db <= 0:
            continue
        print(f"N {n0} → {n1}: per added package {(s1['index-bytes'] - s0['index-bytes']) / dp / 1e3:.1f} kB of index "
              f"({100 * (s1['index-bytes'] - s0['index-bytes']) / db:.2f} % of the added RPM bytes), sync "
              f"{(o1['sync'] - o0['sync']) / (db / 1e9):.0f} s per added GB; per added library: first task "
              f"{1e3 * (o1['first'] - o0['first']) / (n1 - n0):.0f} ms, warm task "
              f"{1e3 * (o1['warm'] - o0['warm']) / (n1 - n0):.0f} ms, gdb alone "
              f"{1e3 * (o1['gdb_alone'] - o0['gdb_alone']) / (n1 - n0):.0f} ms, debuginfod warm "
              f"{1e3 * (d1['warm'] - d0['warm']) / (n1 - n0):.0f} ms")
    print(f"targets (issue #22): index {TARGETS['index']}; first task {TARGETS['first']}; warm task "
          f"{TARGETS['warm']}, {TARGETS['warm_indexed']}; cache {TARGETS['cache']}")


main()
