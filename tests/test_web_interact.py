#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The task page's interactive terminal in a real browser (Debian's chromium driven by playwright-core,
as test_web.py): a finished TestOS task of type 3 opened on its page, gdb started in the xterm.js
terminal, `bt` shows the crashing frames, `frame 1` and `print` of a local show its value, `shell id`
and `python print(1)` are refused, copy and paste, a second session and a wrong password are refused
while the first is open, the idle timeout ends it with a clear "Session ended"; no Content-Security-
Policy violation on the way. Then a vmcore task of type 4: crash in the terminal, `bt` and `log`."""

import json
import os
import subprocess

import retrace_test as rt
import vmcore_fixture
from daemon_helpers import DaemonEnv, post, tar_of, wait_finished
from test_web import WEB_SRC, install_playwright

BUILD = os.environ.get("RETRACE_BUILD_DIR", "")
IDLE = 12


def main():
    node_dir = install_playwright()
    if not os.path.exists(os.path.join(BUILD, "webui", "xterm.js")):
        rt.skip("xterm.js is not in the build (npm missing at build time: -Dwebui_terminal)")
    manifest = rt.testos_manifest()
    crash = next(c for c in manifest["crashes"] if c["name"] == "r1-null")
    crash_dir = os.path.join(rt.testos_dir(), "crashes", crash["name"])
    env = DaemonEnv(releases=(crash["release"],), AllowInteractive="yes", InteractiveIdleTimeout=str(IDLE),
                    ReuseIdenticalUploads="no")
    artifacts = os.path.join(BUILD, "meson-logs", "web")
    os.makedirs(artifacts, exist_ok=True)
    members = [(f, open(os.path.join(crash_dir, f), "rb").read())
               for f in ("coredump", "executable", "package", "os_release")]
    try:
        with env.server() as srv:
            srv.start(ready_path="settings")
            st, h, body = post(srv.port, tar_of(members), task_type=3)
            rt.check(st == 201, f"upload: {st} {body!r}")
            status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
            rt.check(status == "FINISHED_SUCCESS", status)
            config = {"base_url": srv.base_url, "tmp": env.dir, "artifacts": artifacts,
                      "task": h["X-Task-Id"], "password": h["X-Task-Password"], "idle": IDLE,
                      "functions": [fr["function"] for fr in crash["frames"]]}
            node_env = dict(os.environ, NODE_PATH=os.path.join(node_dir, "node_modules"),
                            WEB_TEST_CONFIG=json.dumps(config))
            r = subprocess.run(["node", os.path.join(WEB_SRC, "test-web-interact.js")], env=node_env, timeout=600)
            rt.check(r.returncode == 0, "the browser's terminal test failed (output above); screenshots in " + artifacts)
            st, _, log = rt.http_get(f"{srv.base_url}{h['X-Task-Id']}/interact/log",
                                     {"X-Task-Password": h["X-Task-Password"]})
            rt.check(st == 200 and b"Refused" in log and b"session ended" in log, log[-1000:])
    finally:
        env.cleanup()
    for name in ("terminal", "terminal-ended"):
        rt.check(os.path.getsize(os.path.join(artifacts, name + ".png")) > 1000, f"no screenshot {name}.png")
    crash_session(node_dir, artifacts)
    print(f"web: terminal passed; screenshots in {artifacts}")


def crash_session(node_dir, artifacts):
    """A type-4 vmcore task (vmcore_fixture.py): crash in the page's terminal."""
    fx = vmcore_fixture.ensure()
    env = vmcore_fixture.daemon_env(fx, MaxPackedSize="1G", MaxUnpackedSize="2G", AllowInteractive="yes",
                                    InteractiveIdleTimeout="120")
    try:
        with env.server() as srv:
            srv.start(ready_path="settings")
            with open(fx["kdump"], "rb") as f:
                st, h, body = post(srv.port, tar_of([("vmcore", f.read())], mode="w"), "application/x-tar",
                                   task_type=4)
            rt.check(st == 201, f"create: {st} {body!r}")
            status, _ = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"], timeout=600)
            rt.check(status == "FINISHED_SUCCESS", status)
            config = {"base_url": srv.base_url, "tmp": env.dir, "artifacts": artifacts,
                      "task": h["X-Task-Id"], "password": h["X-Task-Password"]}
            node_env = dict(os.environ, NODE_PATH=os.path.join(node_dir, "node_modules"),
                            WEB_TEST_CONFIG=json.dumps(config))
            r = subprocess.run(["node", os.path.join(WEB_SRC, "test-web-interact-crash.js")], env=node_env,
                               timeout=600)
            rt.check(r.returncode == 0, "the browser's crash terminal test failed (output above)")
    finally:
        env.cleanup()
    rt.check(os.path.getsize(os.path.join(artifacts, "terminal-crash.png")) > 1000, "no screenshot terminal-crash.png")


if __name__ == "__main__":
    main()
