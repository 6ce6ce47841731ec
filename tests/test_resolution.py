#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Package resolution on a distribution packaged unlike TestOS (Mosaic, tests/mosaic/README.md): one
release per _build_id_links mode (compat, separate, alldebug, none), debuginfo per subpackage and per
source package, dwz, a library in a subpackage named unlike its source, an epoch, two versions of the
library in one release, a dlopen()ed module, .note.package. For each crash:
  - retrace-server-cache lookup maps every module to the binary, debuginfo and dwz packages the crash
    really ran with (expected.json, from the generator, not from the resolver);
  - the daemon retraces it FINISHED_SUCCESS with every frame of the crashing thread named, with file
    and line; the log has one resolution line per module naming the rule; resolution.json agrees;
  - the crash whose library is in no repository ends with that library named in the log, in
    resolution.json and in the degraded-backtrace warning."""

import json
import os
import re

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, wait_finished

MOSAIC = os.environ.get("RETRACE_MOSAIC_DIR", "")
if not os.path.isfile(os.path.join(MOSAIC, "manifest.json")):
    rt.fail(f"Mosaic is not built in {MOSAIC!r} (meson target mosaic)")
with open(os.path.join(MOSAIC, "manifest.json")) as f:
    MANIFEST = json.load(f)
CRASHES = MANIFEST["crashes"]

# The rule each release's packaging leaves for libgears (a library in "libgears", source "cogwork").
LIBGEARS_RULE = {
    "10": "binary build-id link",                           # compat, shared libraries keep +x
    "11": "debug build-id link target in the same build",   # separate, brp-elfperms: no binary link
    "12": "debug build-id link target in the same build",   # alldebug: the link is in the debuginfo
    "13": "path in the release",                            # none: by path, build-id confirmed
}
DEBUG_RULE = {"10": "debug build-id link", "11": "debug build-id link", "12": "debug build-id link",
              "13": "debug file of the same build"}


def mosaic_env():
    env = DaemonEnv()
    with open(os.path.join(MOSAIC, "plugins", "mosaic.conf")) as f:
        text = f.read()
    # Mirrors are relative to the generated plugin's directory; the test's plugin lives elsewhere.
    text = re.sub(r"^(\s*mirrors\s*=\s*)\.\./", rf"\1file://{MOSAIC}/", text, flags=re.M)
    with open(os.path.join(env.plugins, "mosaic.conf"), "w") as f:
        f.write(text)
    for version in sorted({c["release_id"].split("-")[1] for c in CRASHES}):
        env.sync(version, name="mosaic")
    return env


def lookup(env, crash, module):
    args = ["lookup", "--release", crash["release_id"], "--arch", "x86_64", "--path", module["path"]]
    if module["path"] == crash["executable"]:
        args += ["--package", crash["package"]]
    r = env.cache(*args, module["build_id"], ok=(0, 1))
    found = {}
    for line in r.stdout.splitlines():
        parts = line.split(" ", 4)
        found[parts[1]] = (parts[2], parts[3], parts[4].removeprefix("by ").split(" (")[0])
    return r, found


def test_lookup_every_module():
    env = ENV[0]
    checked = 0
    for crash in CRASHES:
        release = crash["release_id"].split("-")[1]
        for module in crash["modules"]:
            r, found = lookup(env, crash, module)
            where = f"{crash['name']}: {module['path']} {module['build_id']}"
            if module["path"] in crash.get("missing", []):
                rt.check(r.returncode == 1 and not found, f"{where}: expected nothing, got\n{r.stdout}")
                rt.check("sync the release" in r.stderr and "tried" not in r.stdout, r.stderr)
                continue
            rt.check("binary" in found and found["binary"][0] == module["binary"],
                     f"{where}: binary {found.get('binary')}, expected {module['binary']}\n{r.stderr}")
            rt.check(found["binary"][1] == module["binary_file"], f"{where}: {found['binary']}")
            rt.check("debuginfo" in found and found["debuginfo"][0] == module["debuginfo"],
                     f"{where}: debuginfo {found.get('debuginfo')}, expected {module['debuginfo']}\n{r.stderr}")
            rt.check(found.get("dwz", (None,))[0] == module["dwz"],
                     f"{where}: dwz {found.get('dwz')}, expected {module['dwz']}")
            if "libgears" in module["path"]:
                rt.check(found["binary"][2] == LIBGEARS_RULE[release], f"{where}: rule {found['binary']}")
                rt.check(found["debuginfo"][2] == DEBUG_RULE[release], f"{where}: rule {found['debuginfo']}")
            checked += 1
    rt.check(checked >= 12, f"only {checked} modules checked")
    print(f"   lookup: {checked} modules of {len(CRASHES)} crashes mapped as the crashes ran")


def retrace(srv, crash):
    with open(os.path.join(MOSAIC, "crashes", crash["name"] + ".tar.xz"), "rb") as f:
        st, h, body = post(srv.port, f.read())
    rt.check(st == 201, f"{crash['name']}: {st} {body!r}")
    tid, pw = h["X-Task-Id"], h["X-Task-Password"]
    status, _ = wait_finished(srv.base_url, tid, pw)
    out = {"status": status}
    for what in ("backtrace", "log"):
        code, _, b = rt.http_get(f"{srv.base_url}{tid}/{what}", {"X-Task-Password": pw})
        out[what] = b.decode(errors="replace") if code == 200 else ""
    path = os.path.join(ENV[0].dir, "tasks", tid, "results", "resolution.json")
    rt.check(os.path.exists(path), f"{crash['name']}: {status}, no resolution.json\n{out['log']}")
    with open(path) as f:
        out["resolution"] = json.load(f)
    return out


ENV = [None]


def crashing_thread_frames(backtrace):
    """(function, file, line) of the longest run of frames from a #0 (Mosaic's crashes have one
    thread; gdb's preamble repeats only its #0)."""
    runs = []
    for line in backtrace.splitlines():
        m = re.match(r"^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S+?) \(.*?\)(?: at (\S+):(\d+))?", line)
        if not m:
            continue
        if m.group(1) == "0" or not runs:
            runs.append([])
        runs[-1].append((m.group(2), os.path.basename(m.group(3)) if m.group(3) else None,
                         int(m.group(4)) if m.group(4) else None))
    return max(runs, key=len, default=[])


def test_daemon_retraces_every_crash():
    env = ENV[0]
    with env.server() as srv:
        srv.start(ready_path="settings")
        for crash in CRASHES:
            res = retrace(srv, crash)
            name, log, reso = crash["name"], res["log"], res["resolution"]
            rt.check(res["status"] == "FINISHED_SUCCESS", f"{name}: {res['status']}\n{log}")
            frames = crashing_thread_frames(res["backtrace"])
            want = [(f["function"], f["file"], f["line"]) for f in crash["frames"]]
            # A library in no repository leaves its frames (and the unwinding through them) unknown.
            rt.check(crash.get("missing") or frames[:len(want)] == want,
                     f"{name}: crashing thread\n{frames}\nexpected\n{want}\n{res['backtrace'][:3000]}\n{log}")
            by_id = {m["build_id"]: m for m in reso["modules"]}
            for module in crash["modules"]:
                got = by_id.get(module["build_id"])
                rt.check(got is not None, f"{name}: {module['path']} not in resolution.json")
                line = next((ln for ln in log.splitlines() if f"Module {got['path']} (build-id {module['build_id']}" in ln),
                            None)
                rt.check(line is not None, f"{name}: no resolution line for {module['path']}\n{log}")
                if module["path"] in crash.get("missing", []):
                    rt.check(got["binary"] is None and "no binary package" in line and "tried:" in line,
                             f"{name}: {line}")
                    continue
                rt.check(got["binary"]["package"] == module["binary"] and f"binary {module['binary']}" in line,
                         f"{name}: {line}")
                rt.check(got["debuginfo"]["package"] == module["debuginfo"], f"{name}: {got}")
                rt.check((got["dwz"] or {}).get("package") == module["dwz"], f"{name}: {got}")
                rt.check(f" by {got['binary']['rule']}" in line, f"{name}: {line}")
            if crash["name"].endswith("13-wheel"):
                exe = next(m for m in reso["modules"] if m["path"] == crash["executable"])
                rt.check(exe["package_note"] and exe["binary"]["rule"] == ".note.package"
                         and exe["binary"]["build_id_confirmed"], f"{name}: {exe}")
            rt.check(reso["crash_thread_frames"] >= (1 if crash.get("missing") else len(want)), f"{name}: {reso}")
            if crash.get("missing"):
                rt.check(reso["modules_missing"] == len(crash["missing"]) and reso["degraded"], f"{name}: {reso}")
                for path in crash["missing"]:
                    rt.check(any(path in d for d in reso["degraded_modules"]), f"{name}: {reso['degraded_modules']}")
                    rt.check(re.search(r"Degraded backtrace: .*" + re.escape(path) + r".*retrace-server-reposync mosaic",
                                       log), f"{name}: no degraded line naming {path}\n{log}")
                rt.check("Resolution: " in log and " missing" in log, log)
            else:
                rt.check(reso["modules_missing"] == 0 and not reso["degraded"]
                         and reso["crash_thread_frames_unsymbolized"] == 0, f"{name}: {reso}")
                rt.check(re.search(r"Quality: crashing thread has \d+ frames", log), log)
            for ln in log.splitlines():
                if crash.get("missing") and ("Degraded" in ln or "no binary package" in ln or "Resolution:" in ln):
                    print(f"      {ln}")
            print(f"   {name}: {len(frames)} frames, "
                  f"{', '.join(sorted({m['binary']['rule'] for m in reso['modules'] if m['binary']}))}")


def main():
    rt.require_userns()
    ENV[0] = mosaic_env()
    try:
        rt.run_tests([test_lookup_every_module, test_daemon_retraces_every_crash])
    finally:
        ENV[0].cleanup()


if __name__ == "__main__":
    main()
