#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tasks from a URL or DropDir against a real daemon: the task manager's POST /manager/remote (behind
its password, off unless AllowRemoteTasks) creates a coredump task from a TestOS crash archive served
by a real HTTP server (with Range) and a real FTP server (pyftpdlib) on loopback, compressed with xz,
gzip or zstd or plain, and from a file of DropDir; the task downloads ("Downloading remote
resources"), checks its digest ("Calculating md5sum") and unpacks ("Post-processing downloaded
file"), then retraces as an upload does. A wrong digest fails naming both digests; a connection cut
in the middle is resumed with a Range request (and started over where the server ignores ranges), a
download interrupted by a restart of the daemon too;
redirects to other schemes are refused; a path leaving DropDir (.., absolute, a symlink pointing
out) is refused; the progress shows in /<id>/status and the manager's list; the size limit holds.
A vmcore task from the vmcore fixture: bare xz over HTTP, plain over FTP."""

import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import retrace_test as rt
from daemon_helpers import DaemonEnv, raw_request, wait_finished

TOS = rt.testos_dir()
CRASH = os.path.join(TOS, "crashes", "r1-null")
PASSWORD = "manager-secret"
WORK = tempfile.mkdtemp(prefix="test-remote-")
SERVED = os.path.join(WORK, "served")
DROP = os.path.join(WORK, "drop")
OUTSIDE = os.path.join(WORK, "outside")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def prepare_files():
    if os.path.isdir(SERVED):
        return
    for d in (SERVED, DROP, OUTSIDE):
        os.makedirs(d)
    for ext in ("tar", "tar.gz", "tar.xz"):
        shutil.copy(f"{CRASH}.{ext}", os.path.join(SERVED, f"crash.{ext}"))
    rt.require_tool("zstd")
    subprocess.run(["zstd", "-q", "-f", "-3", f"{CRASH}.tar", "-o", os.path.join(SERVED, "crash.tar.zst")],
                   check=True)
    shutil.copy(f"{CRASH}.tar.gz", os.path.join(DROP, "crash.tar.gz"))
    os.makedirs(os.path.join(DROP, "case-1"), exist_ok=True)
    os.symlink("../crash.tar.gz", os.path.join(DROP, "case-1", "inside-link"))
    shutil.copy(f"{CRASH}.tar", os.path.join(OUTSIDE, "secret.tar"))
    os.symlink(os.path.join(OUTSIDE, "secret.tar"), os.path.join(DROP, "abs-link"))
    os.symlink("../outside/secret.tar", os.path.join(DROP, "rel-link"))
    os.symlink(OUTSIDE, os.path.join(DROP, "dir-link"))


class Files(http.server.BaseHTTPRequestHandler):
    """GET /<name>: a file of SERVED, with single byte ranges. Prefixes change the behaviour:
    /cut/ sends half the body on the first request and closes; /norange/ also ignores Range;
    /slow/ sends 32 KiB every 0.2 s; /redirect-ftp/ and /redirect-file/ answer 302."""
    protocol_version = "HTTP/1.1"
    requests = []  # (path, Range header or None)
    cut_done = set()
    ftp_port = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        Files.requests.append((self.path, self.headers.get("Range")))
        parts = self.path.lstrip("/").split("/")
        mode, name = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
        if mode == "redirect-ftp":
            return self.redirect(f"ftp://127.0.0.1:{Files.ftp_port}/{name}")
        if mode == "redirect-file":
            return self.redirect(f"file://{OUTSIDE}/secret.tar")
        path = os.path.join(SERVED, name)
        if not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = read(path)
        start = 0
        rng = self.headers.get("Range")
        if rng and mode != "norange":
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
            self.send_header("Accept-Ranges", "none" if mode == "norange" else "bytes")
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        key = (mode, name)
        if mode in ("cut", "norange") and key not in Files.cut_done:
            Files.cut_done.add(key)
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode == "slow":
            for i in range(0, len(body), 32768):
                self.wfile.write(body[i:i + 32768])
                self.wfile.flush()
                time.sleep(0.2)
            return
        self.wfile.write(body)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class QuietHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the daemon closes connections it gave up on (size limit, cut): not the test's concern


class Servers:
    """The HTTP server (in a thread) and pyftpdlib (anonymous, read-only over SERVED) on loopback."""

    def __enter__(self):
        if subprocess.run(["/usr/bin/python3", "-c", "import pyftpdlib"], capture_output=True).returncode != 0:
            rt.skip("pyftpdlib is missing (Debian package python3-pyftpdlib; tools/install-deps installs it)")
        self.http = QuietHTTPServer(("127.0.0.1", 0), Files)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.http_url = f"http://127.0.0.1:{self.http.server_address[1]}/"
        self.ftp_port = rt.free_port()
        Files.ftp_port = self.ftp_port
        self.ftpd = subprocess.Popen(["/usr/bin/python3", "-m", "pyftpdlib", "-i", "127.0.0.1", "-p",
                                      str(self.ftp_port), "-d", SERVED], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:  # readiness: the control connection's 220 greeting
            try:
                with socket.create_connection(("127.0.0.1", self.ftp_port), timeout=2) as sock:
                    if sock.recv(64).startswith(b"220"):
                        break
            except OSError:
                pass
            rt.check(time.monotonic() < deadline and self.ftpd.poll() is None, "the FTP server did not start")
            time.sleep(0.1)
        self.ftp_url = f"ftp://127.0.0.1:{self.ftp_port}/"
        return self

    def __exit__(self, *exc):
        self.http.shutdown()
        self.http.server_close()
        os.killpg(self.ftpd.pid, signal.SIGTERM)
        self.ftpd.wait()


def remote(srv, source, task_type=0, digest=None, password=PASSWORD):
    head = "POST /manager/remote HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n"
    if password is not None:
        head += f"X-Manager-Password: {password}\r\n"
    head += f"X-Remote-Source: {source}\r\nX-Task-Type: {task_type}\r\n"
    if digest:
        head += f"X-Remote-Digest: {digest}\r\n"
    return raw_request(srv.port, head + "\r\n")


def create(srv, source, **kw):
    st, h, body = remote(srv, source, **kw)
    rt.check(st == 201, f"{source}: {st} {body!r}")
    return h["X-Task-Id"], h["X-Task-Password"]


def result(srv, tid, pw, what):
    st, _, body = rt.http_get(f"{srv.base_url}{tid}/{what}", {"X-Task-Password": pw})
    return body.decode(errors="replace") if st == 200 else ""


def run(srv, source, want="FINISHED_SUCCESS", **kw):
    tid, pw = create(srv, source, **kw)
    status, seen = wait_finished(srv.base_url, tid, pw, timeout=300)
    log = result(srv, tid, pw, "log")
    rt.check(status == want, f"{source}: {status}, statuses {seen}\n{log}")
    return tid, pw, seen, log


def check_retraced(srv, tid, pw, name):
    bt = result(srv, tid, pw, "backtrace")
    func = read(os.path.join(CRASH, "crash_function")).decode().strip()
    rt.check(func in bt, f"{name}: the backtrace lacks {func}:\n{bt[:2000]}")


ENV = None


def env():
    global ENV
    if ENV is None:
        prepare_files()
        ENV = DaemonEnv(releases=("1",))
    ENV.set_keys(AllowTaskManager="yes", TaskManagerPassword=PASSWORD, AllowRemoteTasks="yes", DropDir=DROP,
                 DownloadRetries="3")
    return ENV


def test_refusals():
    e = env()
    with Servers() as s, e.server() as srv:
        srv.start(ready_path="settings")
        url = s.http_url + "crash.tar.xz"
        for password, why in ((None, "missing"), ("wrong", "Wrong")):
            st, _, body = remote(srv, url, password=password)
            rt.check(st == 403 and why.encode() in body, f"password {password}: {st} {body!r}")
        st, _, body = remote(srv, url, password=PASSWORD, task_type=7)
        rt.check(st == 400, f"type 7: {st} {body!r}")
        for source in ("file:///etc/passwd", "gopher://127.0.0.1/x", "scp://h/x"):
            st, _, body = remote(srv, source)
            rt.check(st == 400 and b"http://, https:// and ftp://" in body, f"{source}: {st} {body!r}")
        st, _, body = remote(srv, url, digest="sha1:" + "0" * 40)
        rt.check(st == 400 and b"digest" in body, f"bad digest: {st} {body!r}")
        # DropDir: nothing outside it, however spelled.
        for source in ("../outside/secret.tar", "/etc/passwd", "case-1/../../outside/secret.tar"):
            st, _, body = remote(srv, source)
            rt.check(st == 400 and b"relative path without '..'" in body, f"{source}: {st} {body!r}")
        for source in ("abs-link", "rel-link", "dir-link/secret.tar"):
            st, _, body = remote(srv, source)
            rt.check(st == 403 and b"leads outside DropDir" in body, f"{source}: {st} {body!r}")
        st, _, body = remote(srv, "no-such-file")
        rt.check(st == 404, f"missing drop file: {st} {body!r}")
        st, _, body = remote(srv, "case-1")
        rt.check(st == 400 and b"not a regular file" in body, f"directory: {st} {body!r}")
        # GET is not a way to create tasks.
        st, _, _ = raw_request(srv.port, "GET /manager/remote HTTP/1.1\r\nHost: x\r\nX-Manager-Password: "
                               f"{PASSWORD}\r\nConnection: close\r\n\r\n")
        rt.check(st == 405, f"GET: {st}")
    # Off unless AllowRemoteTasks.
    e.set_keys(AllowTaskManager="yes", TaskManagerPassword=PASSWORD)
    with Servers() as s, e.server() as srv:
        srv.start(ready_path="settings")
        st, _, body = remote(srv, s.http_url + "crash.tar.xz")
        rt.check(st == 403 and b"AllowRemoteTasks" in body, f"not enabled: {st} {body!r}")


def test_http_ftp_and_drop():
    e = env()
    with Servers() as s, e.server() as srv:
        srv.start(ready_path="settings")
        sha = hashlib.sha256(read(os.path.join(SERVED, "crash.tar.xz"))).hexdigest()
        md5 = hashlib.md5(read(os.path.join(SERVED, "crash.tar.gz"))).hexdigest()
        tid, pw, seen, log = run(srv, s.http_url + "crash.tar.xz", digest="sha256:" + sha)
        for stage in ("Downloading remote resources", "Calculating md5sum", "Post-processing downloaded file"):
            rt.check(stage in log, f"stage {stage!r} not in the log:\n{log}")
        rt.check(f"The sha256 digest {sha} matches" in log, log)
        check_retraced(srv, tid, pw, "http tar.xz")
        # The download is gone once unpacked; the crash files are the archive's.
        tdir = os.path.join(e.dir, "tasks", tid)
        rt.check(sorted(os.listdir(os.path.join(tdir, "remote"))) == ["done", "request"],
                 f"remote/: {os.listdir(os.path.join(tdir, 'remote'))}")
        rt.check(read(os.path.join(tdir, "crash", "coredump")) == read(os.path.join(CRASH, "coredump")),
                 "the coredump differs from the archive's")
        for source, digest in ((s.ftp_url + "crash.tar.gz", md5), (s.ftp_url + "crash.tar.zst", None),
                               (s.http_url + "crash.tar", None), ("crash.tar.gz", "md5:" + md5),
                               ("case-1/inside-link", None)):
            tid, pw, _, log = run(srv, source, digest=digest)
            check_retraced(srv, tid, pw, source)
        # A wrong digest fails and says both.
        wrong = "0" * 64
        tid, pw, _, log = run(srv, s.ftp_url + "crash.tar.xz", want="FINISHED_FAILURE", digest=wrong)
        rt.check(f"is {sha}, expected {wrong}" in log, f"wrong digest:\n{log}")
        rt.check(not os.path.exists(os.path.join(e.dir, "tasks", tid, "remote", "download")),
                 "the download of a failed task stays (KeepFailedCrashFiles = no)")
        # Redirects: to ftp followed, to file refused.
        tid, pw, _, log = run(srv, s.http_url + "redirect-ftp/crash.tar.xz")
        check_retraced(srv, tid, pw, "redirect to ftp")
        tid, pw, _, log = run(srv, s.http_url + "redirect-file/x", want="FINISHED_FAILURE")
        rt.check('Protocol "file" not supported or disabled' in log, f"redirect to file:\n{log}")
        # A file that is no crash archive, and a missing URL, fail with their reason.
        tid, pw, _, log = run(srv, s.http_url + "nothing-here", want="FINISHED_FAILURE")
        rt.check("404" in log, f"404:\n{log}")


def test_resume():
    e = env()
    with Servers() as s, e.server() as srv:
        srv.start(ready_path="settings")
        Files.requests.clear()
        tid, pw, _, log = run(srv, s.http_url + "cut/crash.tar.gz")
        rt.check("stopped after" in log and "resuming" in log, f"no resumption in the log:\n{log}")
        ranges = [r for p, r in Files.requests if p == "/cut/crash.tar.gz"]
        half = os.path.getsize(os.path.join(SERVED, "crash.tar.gz")) // 2
        rt.check(ranges == [None, f"bytes={half}-"], f"requests seen: {ranges}")
        check_retraced(srv, tid, pw, "resumed download")
        # A server without ranges: the download starts over.
        tid, pw, _, log = run(srv, s.http_url + "norange/crash.tar.xz")
        rt.check("cannot be resumed" in log, f"no restart in the log:\n{log}")
        check_retraced(srv, tid, pw, "restarted download")
    # A daemon stopped in the middle of a download resumes it at its next start.
    Files.requests.clear()
    with Servers() as s:
        with e.server() as srv:
            srv.start(ready_path="settings")
            tid, pw = create(srv, s.http_url + "slow/crash.tar")
            deadline = time.monotonic() + 60
            while True:
                st, _, body = rt.http_get(f"{srv.base_url}{tid}/status", {"X-Task-Password": pw})
                p = json.loads(body).get("progress")
                if p and p["phase"] == "download" and p["done"] >= 65536:
                    break
                rt.check(time.monotonic() < deadline, f"the download did not start: {body!r}")
                time.sleep(0.1)
        with e.server() as srv:
            srv.start(ready_path="settings")
            status, seen = wait_finished(srv.base_url, tid, pw)
            log = result(srv, tid, pw, "log")
            rt.check(status == "FINISHED_SUCCESS", f"after the restart: {status}\n{log}")
            rt.check("Resuming the download" in log, f"not resumed after the restart:\n{log}")
            ranges = [r for p, r in Files.requests if p == "/slow/crash.tar"]
            rt.check(len(ranges) == 2 and ranges[0] is None and ranges[1] and ranges[1] != "bytes=0-",
                     f"requests seen: {ranges}")
            check_retraced(srv, tid, pw, "resumed after a restart")


def test_progress_and_limits():
    e = env()
    with Servers() as s, e.server() as srv:
        srv.start(ready_path="settings")
        size = os.path.getsize(os.path.join(SERVED, "crash.tar"))
        tid, pw = create(srv, s.http_url + "slow/crash.tar")
        seen_status = seen_list = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (seen_status and seen_list):
            st, _, body = rt.http_get(f"{srv.base_url}{tid}/status", {"X-Task-Password": pw})
            doc = json.loads(body)
            p = doc.get("progress")
            if p and p["phase"] == "download" and 0 < p["done"] < size and p["total"] == size:
                seen_status = p
            st, _, body = rt.http_get(f"{srv.base_url}manager/tasks", {"X-Manager-Password": PASSWORD})
            for t in json.loads(body)["tasks"]:
                if str(t["id"]) == tid and t["progress"] and t["progress"]["phase"] == "download" and \
                        0 < t["progress"]["done"] < size:
                    seen_list = t["progress"]
            if doc["status"] != "PENDING":
                break
            time.sleep(0.1)
        rt.check(seen_status and "%" in seen_status["text"], f"no download progress in /status: {seen_status}")
        rt.check(seen_list, "no download progress in the manager's list")
        status, _ = wait_finished(srv.base_url, tid, pw)
        rt.check(status == "FINISHED_SUCCESS", status)
        st, _, body = rt.http_get(f"{srv.base_url}{tid}/status", {"X-Task-Password": pw})
        rt.check(json.loads(body)["progress"] is None, "progress of a finished task")
    # MaxDownloadSize holds for URLs and DropDir.
    e.set_keys(AllowTaskManager="yes", TaskManagerPassword=PASSWORD, AllowRemoteTasks="yes", DropDir=DROP,
               MaxDownloadSize="200K")
    with Servers() as s, e.server() as srv:
        srv.start(ready_path="settings")
        for source in (s.http_url + "crash.tar", s.ftp_url + "crash.tar", "rel-link-none"):
            if source == "rel-link-none":
                shutil.copy(f"{CRASH}.tar", os.path.join(DROP, "big.tar"))
                source = "big.tar"
            tid, pw, _, log = run(srv, source, want="FINISHED_FAILURE")
            rt.check("MaxDownloadSize" in log, f"{source}: no size refusal:\n{log}")


def test_vmcore():
    import vmcore_fixture
    fx = vmcore_fixture.ensure()
    prepare_files()
    with open(os.path.join(SERVED, "vmcore.xz"), "wb") as f:
        subprocess.run(["xz", "-1", "-T2", "-c", fx["kdump"]], stdout=f, check=True)
    # pyftpdlib follows no symlink out of its root: a copy
    shutil.copy(fx["elf"], os.path.join(SERVED, "vmcore.elf"))
    e = vmcore_fixture.daemon_env(fx, MaxPackedSize="1G", MaxUnpackedSize="2G")
    e.set_keys(MaxPackedSize="1G", MaxUnpackedSize="2G", AllowTaskManager="yes", TaskManagerPassword=PASSWORD,
               AllowRemoteTasks="yes")
    try:
        with Servers() as s, e.server() as srv:
            srv.start(ready_path="settings")
            for source in (s.http_url + "vmcore.xz", s.ftp_url + "vmcore.elf"):
                tid, pw, _, log = run(srv, source, task_type=2)
                bt = result(srv, tid, pw, "backtrace")
                rt.check(bt.startswith("Panic: ") and "sysrq" in bt.splitlines()[0], f"{source}:\n{bt[:500]}")
                rt.check(f"kernel release {fx['kernel_release']}" in log, f"{source}:\n{log}")
    finally:
        e.cleanup()


if __name__ == "__main__":
    try:
        rt.run_tests([test_refusals, test_http_ftp_and_drop, test_resume, test_progress_and_limits, test_vmcore])
    finally:
        if ENV:
            ENV.cleanup()
        rt.rmtree(WORK)
