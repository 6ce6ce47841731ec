#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The systemd units pass `systemd-analyze verify` (with ExecStart pointing at the built programs),
and the daemon tells the service manager when it is ready and when it stops (Type=notify)."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile

import retrace_test as rt
from daemon_helpers import DaemonEnv

BUILD = os.environ["RETRACE_BUILD_DIR"]
SOURCE = os.environ["RETRACE_SOURCE_DIR"]


def test_units_verify():
    rt.require_tool("systemd-analyze")
    tmp = tempfile.mkdtemp(prefix="test-units-")
    try:
        units = {
            "retrace-server.service": os.path.join(BUILD, "units", "retrace-server.service"),
            "retrace-server-user.service": os.path.join(BUILD, "units", "retrace-server-user.service"),
            "retrace-server-api.service": os.path.join(BUILD, "units", "retrace-server-api.service"),
            "retrace-server-worker.service": os.path.join(BUILD, "units", "retrace-server-worker.service"),
            "retrace-server-reposync@testos-1-x86_64.service":
                os.path.join(SOURCE, "units", "retrace-server-reposync@.service"),
            "retrace-server-reposync@testos-1-x86_64.timer":
                os.path.join(SOURCE, "units", "retrace-server-reposync@.timer"),
        }
        paths = []
        for name, src in units.items():
            with open(src) as f:
                text = f.read()
            # The installed paths do not exist here: point at the built program instead.
            text = text.replace("/usr/local/bin/retrace-server ", os.path.join(BUILD, "daemon", "retrace-server") + " ")
            dst = os.path.join(tmp, name)
            with open(dst, "w") as f:
                f.write(text)
            paths.append(dst)
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", *paths], capture_output=True, text=True,
                           env=dict(os.environ, SYSTEMD_LOG_LEVEL="warning"))
        problems = [line for line in (r.stdout + r.stderr).splitlines()
                    if "Failed to " in line or "Unknown" in line or "bad-setting" in line
                    or "is not executable" in line or "Invalid" in line]
        rt.check(r.returncode == 0 and not problems,
                 f"systemd-analyze verify ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        with open(units["retrace-server.service"]) as f:
            text = f.read()
        for setting in ("Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                        "PrivateTmp=yes", "RestrictAddressFamilies=", "SystemCallArchitectures=native",
                        "RestrictNamespaces=user mnt pid net"):
            rt.check(setting in text, f"retrace-server.service lacks {setting}")
        rt.check("ProtectKernelTunables=yes" not in text, "ProtectKernelTunables breaks the sandbox's /proc")
        for role in ("api", "worker"):
            with open(units[f"retrace-server-{role}.service"]) as f:
                text = f.read()
            rt.check(f"--role {role} " in text and "Type=notify" in text and "NoNewPrivileges=yes" in text,
                     f"retrace-server-{role}.service:\n{text}")
    finally:
        shutil.rmtree(tmp)


def test_ready_and_stopping_notifications():
    env = DaemonEnv()
    sock_dir = tempfile.mkdtemp(prefix="test-notify-")
    path = os.path.join(sock_dir, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(30)
    e = env.env()
    e["NOTIFY_SOCKET"] = path
    srv = env.server()
    srv.env = e
    try:
        with srv:
            srv.start(ready_path="settings")
            msg = s.recv(4096).decode()
            rt.check("READY=1" in msg.splitlines(), f"first notification: {msg!r}")
            srv.proc.send_signal(signal.SIGTERM)
            msg = s.recv(4096).decode()
            rt.check("STOPPING=1" in msg.splitlines(), f"notification at SIGTERM: {msg!r}")
            rt.check(srv.proc.wait(timeout=20) == 0, "exit status after SIGTERM")
    finally:
        s.close()
        shutil.rmtree(sock_dir)
        env.cleanup()


rt.run_tests([test_units_verify, test_ready_and_stopping_notifications])
