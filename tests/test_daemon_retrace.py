#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Coredump retracing end to end, as an ABRT client does it, against a real daemon whose cache holds
TestOS synced with retrace-server-reposync: every crash kind and every version of crashy and its
libraries comes back FINISHED_SUCCESS with the right frames (function, file, line) in the crashing
thread; the upload formats; the failure path (unknown release); the statistics."""

import os
import time
import re

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, wait_finished

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
ENV = DaemonEnv(releases=tuple(MANIFEST["releases"]))
FORMATS = {".tar.xz": "application/x-xz-compressed-tar", ".tar.gz": "application/x-gzip",
           ".tar": "application/x-tar"}


def frames_of(section):
    """(function, file, line) of each '#N' line of a backtrace section."""
    import re
    out = []
    for line in section.splitlines():
        m = re.match(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+?) \(.*\)(?: at (\S+):(\d+))?", line)
        if m:
            out.append((m.group(1), os.path.basename(m.group(2)) if m.group(2) else None,
                        int(m.group(3)) if m.group(3) else None))
    return out


def in_order(frames, expected):
    if not expected:
        return True
    i = 0
    for f in frames:
        e = expected[i]
        if f == (e["function"], e["file"], e["line"]):
            i += 1
            if i == len(expected):
                return True
    return False


def retrace(srv, archive, ctype):
    with open(archive, "rb") as f:
        st, h, body = post(srv.port, f.read(), ctype)
    rt.check(st == 201, f"{archive}: {st} {body!r}")
    status, seen = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
    results = {}
    for what in ("backtrace", "log", "exploitable", "backtrace.json"):
        code, _, b = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/{what}", {"X-Task-Password": h["X-Task-Password"]})
        results[what] = b.decode(errors="replace") if code == 200 else None
    return status, seen, results


def test_every_crash():
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        for i, crash in enumerate(MANIFEST["crashes"]):
            ext = list(FORMATS)[i % len(FORMATS)]
            status, seen, res = retrace(srv, os.path.join(TOS, "crashes", crash["name"] + ext), FORMATS[ext])
            rt.check(status == "FINISHED_SUCCESS", f"{crash['name']}: {status}\n{res['log']}")
            rt.check(seen[-1] == "Retrace job finished successfully", seen)
            bt = res["backtrace"]
            rt.check(bt and "All threads:" in bt, f"{crash['name']}: no backtrace")
            rt.check(not rt.backtrace_layout_problems(bt),
                     f"{crash['name']}: lines satyr would misread: {rt.backtrace_layout_problems(bt)}")
            crashing = rt.crashing_thread_block(bt)
            frames = frames_of(crashing)
            rt.check(in_order(frames, crash["frames"]),
                     f"{crash['name']}: expected {crash['frames']}\nin the crashing thread:\n{crashing}")
            rt.check("Shared libraries:" in bt and "Registers:" in bt, f"{crash['name']}: sections missing")
            if crash["threads"] > 1:
                rt.check(bt.count("\nThread ") >= crash["threads"], f"{crash['name']}: threads missing:\n{bt}")
            import json
            rt.check(res["backtrace.json"], f"{crash['name']}: no backtrace.json")
            doc = json.loads(res["backtrace.json"])
            rt.check(not rt.backtrace_json_problems(doc),
                     f"{crash['name']}: backtrace.json: {rt.backtrace_json_problems(doc)}")
            jthread = [t for t in doc["threads"] if t["crashing"]][0]
            jframes = [(f["function"], f["file"] and os.path.basename(f["file"]), f["line"])
                       for f in jthread["frames"]]
            rt.check(in_order(jframes, crash["frames"]), f"{crash['name']}: backtrace.json frames {jframes[:20]}")
            rt.check(len(doc["threads"]) >= crash["threads"], f"{crash['name']}: {len(doc['threads'])} threads")
            rt.check(doc["signal_name"] == crash["signal"], f"{crash['name']}: {doc['signal_name']}")
            rt.check(isinstance(doc["resolution"], dict), f"{crash['name']}: resolution {doc['resolution']}")
            if crash.get("min_frames"):
                rt.check(jthread["frames_cut"] and len(jthread["frames"]) == 2048, f"{crash['name']}: not cut")
            ex = res["exploitable"]
            rt.check(ex and ex.startswith("Likely crash reason: "), ex)
            # ABRT's client reads the number after the last ':' of the text.
            last = ex.rstrip("\n").splitlines()[-1]
            m = re.fullmatch(r"Exploitable rating \(0-9 scale\): (\d)", last)
            rt.check(m and ex.endswith(last + "\n") and int(ex.rsplit(":", 1)[1]) == int(m.group(1)), ex)
            rt.check(int(m.group(1)) >= crash.get("min_rating", 0), f"{crash['name']}: {ex}")
            if crash["signal"] == "SIGSEGV" and crash.get("kind") in ("null", "threads"):
                rt.check("NULL pointer dereference" in ex, ex)
            if crash.get("min_frames"):
                rt.check(crashing.count("\n#") <= 2048 and "More stack frames follow" in bt,
                         f"{crash['name']}: frames not capped: {crashing.count(chr(10) + '#')} frames, "
                         f"end of the backtrace:\n{bt[-3000:]}")
            for pf in crash.get("python_frames", []):
                rt.check(f'File "{pf["file"]}", line {pf["line"]}, in {pf["function"]}' in bt,
                         f"{crash['name']}: Python frame {pf} missing:\n{bt[-4000:]}")
            if crash["name"].endswith("-abort"):
                rt.check("Abort message:" in bt and "Assertion" in bt, f"no abort message:\n{bt}")
            log = res["log"]
            rt.check(log and "Retrace took " in log.splitlines()[-1], log)
            for line in log.splitlines():
                rt.check(line.startswith("[") and line[20:25] in ("] [I]", "] [W]", "] [E]", "] [D]"), line)
            print(f"   {crash['name']} ({ext}): {len(frames)} frames in the crashing thread, "
                  f"statuses {' → '.join(seen)}")


def test_abrt_215_client():
    """Every TestOS crash through a client that talks exactly as ABRT 2.15's abrt-retrace-client:
    its release id ("TestOS-1-x86_64", capitalised as os-release's NAME), its strcmp against
    supported_releases, /checkpackage with that id, tar | xz -2, its headers, puts() of the status,
    the rating after the last ':' of /exploitable."""
    import json
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        for crash in MANIFEST["crashes"]:
            d = os.path.join(TOS, "crashes", crash["name"])
            start = time.monotonic()
            res = rt.abrt215_retrace(srv.base_url, d)
            took = time.monotonic() - start
            rt.check(res["release_id"] == f"TestOS-{crash['name'][1]}-x86_64", res["release_id"])
            rt.check(res["status"] == "FINISHED_SUCCESS", f"{crash['name']}: {res}")
            rt.check(res["statuses"][-1] == "Retrace job finished successfully", res["statuses"])
            bt = res["backtrace"]
            rt.check(not rt.backtrace_layout_problems(bt),
                     f"{crash['name']}: lines satyr would misread: {rt.backtrace_layout_problems(bt)}")
            last = res["exploitable"].rstrip("\n").splitlines()[-1]
            rt.check(re.fullmatch(r"Exploitable rating \(0-9 scale\): \d", last), res["exploitable"])
            rt.check(res["rating"] is not None and res["rating"] >= crash.get("min_rating", 0),
                     f"{crash['name']}: rating {res['rating']}")
            rt.check(res["saved_exploitable"] == (res["rating"] >= 4), res)
            for pf in crash.get("python_frames", []):
                rt.check(f'File "{pf["file"]}", line {pf["line"]}, in {pf["function"]}' in bt,
                         f"{crash['name']}: Python frame {pf} missing")
            st, _, body = rt.http_get(f"{srv.base_url}{res['task']}/backtrace.json")
            rt.check(st == 403, f"backtrace.json without the password: {st}")
            print(f"   {crash['name']}: {res['release_id']}, rating {res['rating']}, {took:.1f} s")
        # the 32-entry rule of the old client
        many = " ".join(f"r{i}" for i in range(40))
        rt.check(rt.abrt215_supported_releases(f"supported_releases {many}")[31] == " ".join(
            f"r{i}" for i in range(31, 40)), "32nd entry")


def test_unknown_release_fails_with_advice():
    import tempfile
    from daemon_helpers import tar_of
    d = os.path.join(TOS, "crashes", "r1-null")
    members = [(f, open(os.path.join(d, f), "rb").read()) for f in ("coredump", "executable", "package")]
    members.append(("os_release", b"Plan 9 release 4 (Labs)\n"))
    members[2] = ("package", b"crashy-1.0-1.p9")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        st, h, body = post(srv.port, tar_of(members))
        rt.check(st == 201, f"{st} {body!r}")
        status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
        rt.check(status == "FINISHED_FAILURE", status)
        st, _, log = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/log", {"X-Task-Password": h["X-Task-Password"]})
        log = log.decode()
        rt.check("Unknown release 'Plan 9 release 4 (Labs)'" in log and "testos-1-x86_64" in log, log)
        st, _, _ = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/backtrace", {"X-Task-Password": h["X-Task-Password"]})
        rt.check(st == 404, f"a failed task has a backtrace: {st}")
        # a release the plugin reads but that was never synced: which reposync to run
        members[2] = ("package", b"crashy-1.0-1.tos3")
        members[3] = ("os_release", b"TestOS release 3 (Future)\n")
        st, h, body = post(srv.port, tar_of(members))
        rt.check(st == 201, f"{st} {body!r}")
        status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
        rt.check(status == "FINISHED_FAILURE", status)
        st, _, log = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/log", {"X-Task-Password": h["X-Task-Password"]})
        log = log.decode()
        rt.check("not synced" in log and "retrace-server-reposync testos 3 x86_64" in log, log)


def test_checkpackage_and_stats():
    import json
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        st, h, _ = rt.http_get(srv.base_url + "checkpackage", {"X-Package-NVR": "crashy-1.0-2.tos1",
                                                                "X-Package-Arch": "x86_64",
                                                                "X-OS-Release": "testos-1-x86_64"})
        rt.check(st == 302 and "Location" not in h, f"known package: {st} {h}")
        st, _, _ = rt.http_get(srv.base_url + "checkpackage", {"X-Package-NVR": "crashy-1.0-2.tos1",
                                                                "X-Package-Arch": "x86_64",
                                                                "X-OS-Release": "testos-2-x86_64"})
        rt.check(st == 404, f"package of the other release: {st}")
        st, _, _ = rt.http_get(srv.base_url + "checkpackage", {"X-Package-NVR": "crashy-9.9-9.tos1",
                                                                "X-Package-Arch": "x86_64"})
        rt.check(st == 404, f"unknown package: {st}")
        st, _, _ = rt.http_get(srv.base_url + "checkpackage", {"X-Package-Arch": "x86_64"})
        rt.check(st == 403, f"missing X-Package-NVR: {st}")
        # ABRT 2.15's client spells the release from os-release's NAME: "TestOS-1-x86_64"
        st, _, body = rt.http_get(srv.base_url + "settings")
        rt.check(b"supported_releases TestOS-1-x86_64 TestOS-2-x86_64 testos-1-x86_64 testos-2-x86_64\n" in body,
                 body)
        st, h, _ = rt.http_get(srv.base_url + "checkpackage", {"X-Package-NVR": "crashy-1.0-2.tos1",
                                                                "X-Package-Arch": "x86_64",
                                                                "X-OS-Release": "TestOS-1-x86_64"})
        rt.check(st == 302 and "Location" not in h, f"known package, client spelling: {st} {h}")
        st, _, body = rt.http_get(srv.base_url + "checkpackage", {"X-Package-NVR": "crashy-1.0-2.tos1",
                                                                   "X-Package-Arch": "x86_64",
                                                                   "X-OS-Release": "TestOS-3-x86_64"})
        rt.check(st == 404 and b"retrace-server-reposync testos 3 x86_64" in body, f"never synced: {st} {body}")
        for release in ("Plan9-4-x86_64", "CentOS Stream-9-x86_64"):
            st, _, body = rt.http_get(srv.base_url + "checkpackage", {"X-Package-NVR": "crashy-1.0-2.tos1",
                                                                       "X-Package-Arch": "x86_64",
                                                                       "X-OS-Release": release})
            rt.check(st == 404 and b"not supported" in body and b"TestOS-1-x86_64 " in body,
                     f"unsupported {release}: {st} {body}")
        st, _, body = rt.http_get(srv.base_url + "stats")
        stats = json.loads(body)
        total = stats["totals"][0]
        rt.check(total["count"] >= len(MANIFEST["crashes"]) + 1, stats)
        rt.check(total["success"] >= len(MANIFEST["crashes"]), stats)
        rt.check(any(r["label"] == "testos-2-x86_64" for r in stats["releases"]), stats)
        rt.check(stats["durations"]["total"]["p95"] > 0, stats)


def test_sandbox_found_beside_the_daemon():
    """Without SandboxPath (its default is the installed helper), a daemon run from the build tree
    finds build/sandbox/retrace-sandbox itself."""
    ENV.set_keys(sandbox_path=False)
    try:
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            status, _, res = retrace(srv, os.path.join(TOS, "crashes", "r1-null.tar.xz"), FORMATS[".tar.xz"])
            rt.check(status == "FINISHED_SUCCESS", f"{status}\n{res['log']}")
            rt.check("does not exist; using " in srv.log(), srv.log())
    finally:
        ENV.set_keys()


try:
    rt.run_tests([test_sandbox_found_beside_the_daemon, test_every_crash, test_abrt_215_client, test_unknown_release_fails_with_advice, test_checkpackage_and_stats])
finally:
    ENV.cleanup()
