# SPDX-License-Identifier: GPL-2.0-or-later
"""A real retrace-server for tests: its own configuration, SaveDir and cache (testos synced into it
when asked), started on a free loopback port; plus an ABRT-like client."""

import io
import os
import socket
import tarfile
import time

import retrace_test as rt
from rpmcache_helpers import Env

BUILD = os.environ.get("RETRACE_BUILD_DIR", "")
SERVER = os.path.join(BUILD, "daemon", "retrace-server")
SANDBOX = os.path.join(BUILD, "sandbox", "retrace-sandbox")


class DaemonEnv(Env):
    """Env (config, plugins, RepoDir, CacheDir) plus SaveDir and the daemon's keys; the given testos
    releases are synced into the cache once."""

    def __init__(self, releases=(), always=None, **keys):
        super().__init__()
        with open(self.config) as f:
            self.base = f.read()
        self.always = dict(always or {})  # keys every set_keys() keeps unless told otherwise
        self.set_keys(**keys)
        for version in releases:
            self.sync(version)

    def set_keys(self, sandbox_path=True, **keys):
        """Rewrites the configuration: the base keys, SaveDir, SandboxPath (unless told not to), then
        keys (Name=value)."""
        text = self.base + "SaveDir = tasks\n" + (f"SandboxPath = {SANDBOX}\n" if sandbox_path else "")
        keys.setdefault("TaskTimeout", "300")
        for k, v in {**self.always, **keys}.items():
            text += f"{k} = {v}\n"
        with open(self.config, "w") as f:
            f.write(text)

    def server(self, name="retrace-server", ssl_context=None):
        return rt.Server(lambda port, tmp: [SERVER, "--config", self.config, "--listen", f"127.0.0.1:{port}"],
                         name=name, env=self.env(), ssl_context=ssl_context)


def raw_request(port, head, body=b""):
    """Sends bytes as they are (for requests urllib will not make); returns (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        try:
            s.sendall(head.encode() + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer before it has read everything
        data = b""
        while chunk := s.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and b"Content-Length: " in data:
                h, _, rest = data.partition(b"\r\n\r\n")
                n = int(h.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(rest) >= n:
                    break
    header, _, rest = data.partition(b"\r\n\r\n")
    lines = header.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, rest


def post(port, body, ctype="application/x-xz-compressed-tar", task_type=None, path="create"):
    head = f"POST /{path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
    if task_type is not None:
        head += f"X-Task-Type: {task_type}\r\n"
    return raw_request(port, head + "Connection: close\r\n\r\n", body)


def tar_of(members, mode="w:xz"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def wait_finished(base_url, task_id, password, timeout=300):
    """Polls GET /<id> like ABRT's client until X-Task-Status starts with FINISHED; returns
    (status, list of status texts seen)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, h, body = rt.http_get(f"{base_url}{task_id}", {"X-Task-Password": password})
        rt.check(st == 200, f"GET /{task_id}: {st} {body!r}")
        text = body.decode().strip()
        if not seen or seen[-1] != text:
            seen.append(text)
        if h["X-Task-Status"].startswith("FINISHED"):
            return h["X-Task-Status"], seen
        time.sleep(0.2)
    rt.fail(f"task {task_id} did not finish within {timeout}s; statuses seen: {seen}")
