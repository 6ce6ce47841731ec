#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The web suite: the Web UI in a real browser (Debian's chromium, headless, driven by playwright-core
from npm) against a real daemon over TestOS. Submits a crash through the form (a core file with its
facts, and an ABRT archive), follows the status live to success, reads the function names in the
backtrace view; a wrong password, an oversized file, the statistics, the task manager (login, list,
filter, restart, delete, a task from a URL served slowly on loopback with its download progress in the
list and on the task page); a real kernel vmcore (kdump-compressed and ELF, vmcore_fixture.py)
submitted as "A kernel vmcore" and shown with its panic first. Screenshots of every page go to
build/meson-logs/web/.

playwright-core is installed with `npm ci` from tests/web/package-lock.json into
build/tests/web-node/ (once per lock file); chromium, node and npm come from tools/install-deps."""

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import threading
import time

import retrace_test as rt
import vmcore_fixture
from daemon_helpers import DaemonEnv

SRC = os.environ.get("RETRACE_SOURCE_DIR", "")
BUILD = os.environ.get("RETRACE_BUILD_DIR", "")
WEB_SRC = os.path.join(SRC, "tests", "web")
CHROMIUM = "/usr/bin/chromium"
MANAGER_PASSWORD = "correct horse battery staple"


def install_playwright():
    """npm ci into build/tests/web-node/ unless the same lock file was installed there already."""
    rt.require_tool("node", "npm")
    if not os.access(CHROMIUM, os.X_OK):
        rt.skip(f"{CHROMIUM} is not installed (run tools/install-deps)")
    dest = os.path.join(BUILD, "tests", "web-node")
    with open(os.path.join(WEB_SRC, "package-lock.json"), "rb") as f:
        lock = f.read()
    stamp = os.path.join(dest, "installed.sha256")
    digest = hashlib.sha256(lock).hexdigest()
    if os.path.exists(stamp) and open(stamp).read() == digest and \
            os.path.isdir(os.path.join(dest, "node_modules", "playwright-core")):
        return dest
    os.makedirs(dest, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(WEB_SRC, name), dest)
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=dest,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    if r.returncode != 0:
        rt.skip(f"npm ci of playwright-core failed (is the npm registry reachable?):\n{r.stdout}")
    with open(stamp, "w") as f:
        f.write(digest)
    return dest


class SlowFile(http.server.BaseHTTPRequestHandler):
    """Serves one file in 32 KiB pieces 0.25 s apart: long enough for the pages to show a download."""
    data = b""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(SlowFile.data)))
        self.end_headers()
        for i in range(0, len(SlowFile.data), 32768):
            self.wfile.write(SlowFile.data[i:i + 32768])
            self.wfile.flush()
            time.sleep(0.25)


def main():
    node_dir = install_playwright()
    manifest = rt.testos_manifest()
    crash = next(c for c in manifest["crashes"] if c["name"] == "r1-null")
    crash_dir = os.path.join(rt.testos_dir(), "crashes", "r1-null")
    release = crash["release_id"]
    env = DaemonEnv(releases=(release.split("-")[1],), MaxPackedSize="2", AllowTaskManager="yes",
                    TaskManagerPassword="sha256:" + hashlib.sha256(MANAGER_PASSWORD.encode()).hexdigest(),
                    AllowRemoteTasks="yes", ReuseIdenticalUploads="no")
    with open(crash_dir + ".tar", "rb") as f:
        SlowFile.data = f.read()
    slow = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowFile)
    slow.daemon_threads = True
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    artifacts = os.path.join(BUILD, "meson-logs", "web")
    shutil.rmtree(artifacts, ignore_errors=True)
    oversized = os.path.join(env.dir, "oversized.tar.xz")
    with open(oversized, "wb") as f:
        f.write(b"\xfd7zXZ\x00" + b"\x00" * (3 << 20))
    with open(os.path.join(crash_dir, "executable")) as f:
        executable = f.read().strip()
    with open(os.path.join(crash_dir, "package")) as f:
        package = f.read().strip()
    with env.server() as srv:
        srv.start(ready_path="settings")
        config = {
            "base_url": srv.base_url, "tmp": env.dir, "artifacts": artifacts, "crash_dir": crash_dir,
            "archive": crash_dir + ".tar.xz", "oversized": oversized, "executable": executable,
            "package": package, "release": release, "manager_password": MANAGER_PASSWORD,
            "remote_url": f"http://127.0.0.1:{slow.server_address[1]}/crash.tar",
            "functions": [fr["function"] for fr in crash["frames"]] if "frames" in crash else None,
        }
        if not config["functions"]:
            with open(os.path.join(crash_dir, "expected.json")) as f:
                config["functions"] = [fr["function"] for fr in json.load(f)["frames"]]
        node_env = dict(os.environ, NODE_PATH=os.path.join(node_dir, "node_modules"),
                        WEB_TEST_CONFIG=json.dumps(config))
        r = subprocess.run(["node", os.path.join(WEB_SRC, "test-web.js")], env=node_env, timeout=900)
        rt.check(r.returncode == 0, "the browser test failed (output above); screenshots in " + artifacts)
        # What the browser did, seen through the API: the deleted task is gone, the restarted one
        # finished again, and its password still works only in the header.
        with open(os.path.join(env.dir, "result.json")) as f:
            result = json.load(f)
        st, h, _ = rt.http_get(f"{srv.base_url}{result['core_task']}", {"X-Task-Password": result["core_password"]})
        rt.check(st == 200 and h["X-Task-Status"] == "FINISHED_SUCCESS", f"restarted task: {st} {h}")
        st, _, _ = rt.http_get(f"{srv.base_url}{result['archive_task']}", {"X-Task-Password": "x"})
        rt.check(st == 404, f"the task deleted in the task manager still answers {st}")
    slow.shutdown()
    slow.server_close()
    for name in ("index", "submit", "task", "task-phone", "submit-refused", "task-wrong-password", "stats",
                 "manager", "task-manager-view", "manager-remote"):
        rt.check(os.path.getsize(os.path.join(artifacts, name + ".png")) > 1000, f"no screenshot {name}.png")
    env.cleanup()
    test_vmcore(node_dir, artifacts)
    print(f"web: passed; screenshots in {artifacts}")


def test_vmcore(node_dir, artifacts):
    fx = vmcore_fixture.ensure()
    env = vmcore_fixture.daemon_env(fx, MaxPackedSize="1G", MaxUnpackedSize="2G")
    try:
        with env.server() as srv:
            srv.start(ready_path="settings")
            config = {"base_url": srv.base_url, "tmp": env.dir, "artifacts": artifacts,
                      "vmcore_kdump": fx["kdump"], "vmcore_elf": fx["elf"], "kernel_release": fx["kernel_release"]}
            node_env = dict(os.environ, NODE_PATH=os.path.join(node_dir, "node_modules"),
                            WEB_TEST_CONFIG=json.dumps(config))
            r = subprocess.run(["node", os.path.join(WEB_SRC, "test-web-vmcore.js")], env=node_env, timeout=900)
            rt.check(r.returncode == 0, "the browser's vmcore test failed (output above); screenshots in " + artifacts)
    finally:
        env.cleanup()
    for name in ("submit-vmcore-kdump", "task-vmcore-kdump", "task-vmcore-elf"):
        rt.check(os.path.getsize(os.path.join(artifacts, name + ".png")) > 1000, f"no screenshot {name}.png")


if __name__ == "__main__":
    main()
