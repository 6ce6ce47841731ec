#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The HTTP API of PROTOCOL.md against a real retrace-server on loopback: uploads in every accepted
format, the refusals in PROTOCOL.md's order, per-task password checks, /settings and /metrics.
With RETRACE_TEST_STORE=postgresql (the test_daemon_api_pg variant) the same suite runs against a
PostgreSQL task store (TaskStore) in a cluster of its own instead of the sqlite file in SaveDir."""

import os
import time

import retrace_test as rt
from daemon_helpers import DaemonEnv, tar_of
from daemon_helpers import post as daemon_post
from daemon_helpers import raw_request as daemon_raw_request

TOS = rt.testos_dir()
CRASH = os.path.join(TOS, "crashes", "r1-null")


PG_STORE = os.environ.get("RETRACE_TEST_STORE") == "postgresql"
if PG_STORE:
    import pg_helpers
    PG = pg_helpers.PgCluster()
    ENV = DaemonEnv(always={"TaskStore": PG.uri})
else:
    ENV = DaemonEnv()
STATUS_TEXTS = ("Analyzing crash data", "Preparing environment for backtrace generation", "Generating backtrace",
                "Cleaning environment after backtrace generation", "Saving crash statistics", "Finishing task",
                "Retrace job finished successfully", "Retrace job failed")


def start():
    return ENV.server()


def post(srv, body, ctype="application/x-xz-compressed-tar", task_type=None):
    return daemon_post(srv.port, body, ctype, task_type)


def raw_request(srv, head, body=b""):
    return daemon_raw_request(srv.port, head, body)


def crash_members(skip=()):
    out = []
    for f in ("coredump", "executable", "package", "os_release"):
        if f not in skip:
            with open(os.path.join(CRASH, f), "rb") as fh:
                out.append((f, fh.read()))
    return out


def tasks_dir():
    return os.path.join(ENV.dir, "tasks")


def test_upload_formats():
    ENV.set_keys(KeepFailedCrashFiles="yes")  # the uploaded files are compared after their task failed
    with start() as srv:
        srv.start(ready_path="settings")
        uploads = [("tar.xz", "application/x-xz-compressed-tar"), ("tar.gz", "application/x-gzip"),
                   ("tar", "application/x-tar"), ("tar.gz", "application/x-tar")]  # gzip sent as x-tar
        for ext, ctype in uploads:
            with open(f"{CRASH}.{ext}", "rb") as f:
                st, h, body = post(srv, f.read(), ctype)
            rt.check(st == 201, f"{ext} as {ctype}: {st} {body!r}")
            rt.check(body == b"", f"201 with a body: {body!r}")
            rt.check(h["X-Task-Id"].isdigit() and len(h["X-Task-Id"]) == 9, h)
            rt.check(len(h["X-Task-Password"]) >= 22, h)  # >= 128 bits in [A-Za-z0-9]
            url = f"{srv.base_url}{h['X-Task-Id']}"
            st, hh, body = rt.http_get(url, {"X-Task-Password": h["X-Task-Password"]})
            rt.check(st == 200 and hh["X-Task-Status"] in ("PENDING", "FINISHED_SUCCESS", "FINISHED_FAILURE"),
                     f"{st} {hh}")
            rt.check(body.decode().strip() in STATUS_TEXTS, body)
            with open(os.path.join(tasks_dir(), h["X-Task-Id"], "crash", "package")) as f:
                rt.check(f.read() == open(os.path.join(CRASH, "package")).read(), "package differs")
    ENV.set_keys()


def test_refusals_in_protocol_order():
    with start() as srv:
        srv.start(ready_path="settings")
        created = set(os.listdir(tasks_dir()))
        good = tar_of(crash_members())
        st, _, _ = rt.http_get(srv.base_url + "create")
        rt.check(st == 405, f"GET /create: {st}")
        st, _, body = post(srv, good, "application/zip")
        rt.check(st == 415, f"bad content type: {st} {body!r}")
        st, _, body = raw_request(srv, "POST /create HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
                                       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", b"0\r\n\r\n")
        rt.check(st == 411, f"no Content-Length: {st} {body!r}")
        st, _, body = raw_request(srv, "POST /create HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
                                       f"Content-Length: {31 * 1024 * 1024}\r\nConnection: close\r\n\r\n")
        rt.check(st == 413, f"over MaxPackedSize: {st} {body!r}")
        # Method is checked before the content type, the content type before the length.
        st, _, _ = raw_request(srv, "PUT /create HTTP/1.1\r\nHost: x\r\nContent-Type: application/zip\r\n"
                                    "Connection: close\r\n\r\n")
        rt.check(st == 405, f"PUT with a bad type: {st}")

        bad = [
            ([("../coredump", b"x")] + crash_members(), 403),
            ([("/etc/passwd", b"x")] + crash_members(), 403),
            ([("dir/package", b"x")] + crash_members(), 403),
            (crash_members() + [("evil.sh", b"x")], 403),
            (crash_members(skip=("package",)) + [("package", b"p" * 129)], 413),
        ]
        for members, want in bad:
            st, _, body = post(srv, tar_of(members))
            rt.check(st == want, f"{[m[0] for m in members]}: {st} {body!r}, expected {want}")
            rt.check(body.strip() and b"\n" not in body.strip(), f"error body must be one line: {body!r}")
        st, _, body = post(srv, good[: len(good) // 2])
        rt.check(st == 400, f"truncated archive: {st} {body!r}")
        st, _, body = post(srv, good, task_type="3")
        rt.check(st == 409, f"interactive type: {st} {body!r}")
        st, _, body = post(srv, good, task_type="7")
        rt.check(st == 400, f"unknown type: {st} {body!r}")
        st, _, body = post(srv, tar_of(crash_members(skip=("package",))))
        rt.check(st == 403 and body.strip() == b"Required file 'package' is missing", f"{st} {body!r}")
        st, _, body = post(srv, good, task_type="2")
        rt.check(st == 403 and body.strip() == b"Required file 'vmcore' is missing", f"{st} {body!r}")
        # Nothing of the refused uploads is left on disk.
        d = tasks_dir()
        left = [e for e in os.listdir(d) if not e.startswith("tasks.db") and e != ".incoming"
                and e not in created]
        rt.check(left == [], f"refused uploads left task directories: {left}")
        rt.check(os.listdir(os.path.join(d, ".incoming")) == [], "refused uploads left spool files")
        st, _, body = rt.http_get(srv.base_url + "metrics")
        text = body.decode()
        for reason, n in (("method", 2), ("content_type", 1), ("no_content_length", 1), ("packed_size", 1),
                          ("malicious", 4), ("unpacked_size", 1), ("bad_archive", 1), ("task_type", 2),
                          ("missing_file", 2)):
            rt.check(f'retrace_uploads_refused_total{{reason="{reason}"}} {n}\n' in text,
                     f"metrics lack {reason}={n}:\n{text}")


def test_task_access():
    with start() as srv:
        srv.start(ready_path="settings")
        with open(f"{CRASH}.tar.xz", "rb") as f:
            _, h, _ = post(srv, f.read())
        with open(f"{CRASH}.tar.xz", "rb") as f:
            _, other, _ = post(srv, f.read())
        tid, pw = h["X-Task-Id"], h["X-Task-Password"]
        for path in ("", "/backtrace", "/log", "/exploitable"):
            st, _, _ = rt.http_get(f"{srv.base_url}{tid}{path}")
            rt.check(st == 403, f"{path} without password: {st}")
            st, _, _ = rt.http_get(f"{srv.base_url}{tid}{path}", {"X-Task-Password": "wrong"})
            rt.check(st == 403, f"{path} with a wrong password: {st}")
            st, _, _ = rt.http_get(f"{srv.base_url}{tid}{path}", {"X-Task-Password": other["X-Task-Password"]})
            rt.check(st == 403, f"{path} with another task's password: {st}")
            st, _, _ = rt.http_get(f"{srv.base_url}100000000{path}", {"X-Task-Password": pw})
            rt.check(st == 404, f"{path} of an unknown task: {st}")
        st, _, _ = rt.http_get(f"{srv.base_url}{tid}/backtrace", {"X-Task-Password": pw})
        rt.check(st == 404, f"backtrace before there is one: {st}")
        st, _, body = rt.http_get(f"{srv.base_url}{tid}/delete", {"X-Task-Password": pw})
        rt.check(st == 403, f"delete while AllowAPIDelete is off: {st}")
        # A base URL with a path prefix works too.
        st, hh, _ = rt.http_get(f"{srv.base_url}retrace/{tid}", {"X-Task-Password": pw})
        rt.check(st == 200 and "X-Task-Status" in hh, f"prefixed URL: {st}")


def test_settings():
    with start() as srv:
        srv.start(ready_path="settings")
        st, headers, body = rt.http_get(srv.base_url + "settings")
        rt.check(st == 200, st)
        rt.check("Strict-Transport-Security" not in headers, "HSTS over plain HTTP")
        kv = dict(line.split(" ", 1) if " " in line else (line, "") for line in body.decode().splitlines())
        for key in ("running_tasks", "max_running_tasks", "max_packed_size", "max_unpacked_size",
                    "supported_formats", "supported_releases"):
            rt.check(key in kv, f"/settings lacks {key}: {body!r}")
        rt.check(int(kv["running_tasks"]) < int(kv["max_running_tasks"]), kv)
        rt.check(set(kv["supported_formats"].split()) == {"application/x-xz-compressed-tar", "application/x-gzip",
                                                          "application/x-tar"}, kv)
        rt.check(kv["max_packed_size"] == "30" and kv["max_unpacked_size"] == "600", kv)


def test_configured_paths():
    """The refusals and permissions that depend on configuration keys."""
    good = tar_of(crash_members())
    ENV.set_keys(RequireHTTPS="yes", TrustedProxy="127.0.0.1")
    with start() as srv:
        srv.start(ready_path="settings")
        st, _, body = post(srv, good)
        rt.check(st == 403 and b"HTTPS is required" in body, f"plain HTTP with RequireHTTPS: {st} {body!r}")
        head = (f"POST /create HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-xz-compressed-tar\r\n"
                f"Content-Length: {len(good)}\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n")
        st, _, body = raw_request(srv, head, good)
        rt.check(st == 201, f"HTTPS through the trusted proxy: {st} {body!r}")
    ENV.set_keys(RequireHTTPS="yes", TrustedProxy="192.0.2.1")
    with start() as srv:
        srv.start(ready_path="settings")
        st, _, _ = raw_request(srv, head, good)
        rt.check(st == 403, f"X-Forwarded-Proto from an untrusted peer counted: {st}")
    ENV.set_keys(MinStorageLeft="1000000G")
    with start() as srv:
        srv.start(ready_path="settings")
        st, _, body = post(srv, good)
        rt.check(st == 507, f"MinStorageLeft: {st} {body!r}")
    ENV.set_keys(MaxUnpackedSize="1")
    with start() as srv:
        srv.start(ready_path="settings")
        st, _, body = post(srv, tar_of(crash_members(skip=("coredump",)) + [("coredump", b"\0" * (2 << 20))]))
        rt.check(st == 413 and b"more than the limit" in body, f"MaxUnpackedSize: {st} {body!r}")
    ENV.set_keys(AllowAPIDelete="yes", AllowInteractive="yes")
    with start() as srv:
        srv.start(ready_path="settings")
        st, h, body = post(srv, good, task_type="3")
        rt.check(st == 201, f"interactive type allowed: {st} {body!r}")
        url = f"{srv.base_url}{h['X-Task-Id']}"
        st, _, _ = rt.http_get(url + "/delete", {"X-Task-Password": h["X-Task-Password"]})
        rt.check(st == 200, f"delete allowed: {st}")
        st, _, _ = rt.http_get(url, {"X-Task-Password": h["X-Task-Password"]})
        rt.check(st == 404, f"deleted task: {st}")
        rt.check(not os.path.exists(os.path.join(tasks_dir(), h["X-Task-Id"])), "deleted task left its directory")
    ENV.set_keys()


def test_tls():
    import ssl
    import subprocess
    import urllib.request
    rt.require_tool("openssl")
    cert, key = os.path.join(ENV.dir, "cert.pem"), os.path.join(ENV.dir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(cert)
    ctx.check_hostname = False
    ENV.set_keys(TLSCertificate=cert, TLSKey=key, RequireHTTPS="yes")
    with ENV.server(ssl_context=ctx) as srv:
        srv.start(ready_path="settings")
        with urllib.request.urlopen(srv.base_url + "settings", context=ctx, timeout=10) as r:
            rt.check(b"max_packed_size" in r.read(), "settings over HTTPS")
            rt.check(r.headers["Strict-Transport-Security"] == "max-age=31536000", f"no HSTS: {dict(r.headers)}")
        req = urllib.request.Request(srv.base_url + "create", data=tar_of(crash_members()), method="POST",
                                     headers={"Content-Type": "application/x-xz-compressed-tar"})
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            rt.check(r.status == 201 and r.headers["X-Task-Id"], f"upload over HTTPS: {r.status}")
    ENV.set_keys()


def test_ambiguous_framing():
    """A body framed two ways (Transfer-Encoding and Content-Length, two Content-Lengths) is refused with
    400 on every path, and the connection is closed."""
    chunked = b"5\r\nhello\r\n0\r\n\r\n"
    base = "Host: x\r\nContent-Type: application/x-tar\r\n"
    cases = [("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", chunked),
             ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", chunked),
             ("Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"),
             ("Content-Length: 5\r\nContent-Length: 7\r\n", b"hello"),
             ("Content-Length: 5\r\ncontent-length: 7\r\n", b"hello")]
    with start() as srv:
        srv.start(ready_path="settings")
        for path in ("create", "settings", "123456789"):
            for headers, body in cases:
                st, h, text = raw_request(srv, f"POST /{path} HTTP/1.1\r\n{base}{headers}\r\n", body)
                rt.check(st == 400, f"/{path} with {headers!r}: {st} {text!r}")
                rt.check(h.get("Connection") == "close", f"/{path} with {headers!r}: kept open: {h}")
        st, _, text = raw_request(srv, f"POST /create HTTP/1.1\r\n{base}Transfer-Encoding: chunked\r\n"
                                  "Connection: close\r\n\r\n", chunked)
        rt.check(st == 411, f"chunked alone: {st} {text!r}")
        st, _, _ = post(srv, tar_of(crash_members()))
        rt.check(st == 201, f"a plain upload afterwards: {st}")


def test_state_file_modes():
    """tasks.db, its -wal and -shm, the spool directory and results are the daemon's alone, whatever
    the umask it was started with."""
    old = os.umask(0)
    try:
        srv = start()
        with srv:
            srv.start(ready_path="settings")
            os.umask(old)
            st, h, body = post(srv, tar_of(crash_members()))
            rt.check(st == 201, f"upload: {st} {body!r}")
            task = os.path.join(tasks_dir(), h["X-Task-Id"])
            for name in ("tasks.db", "tasks.db-wal", "tasks.db-shm"):
                path = os.path.join(tasks_dir(), name)
                if os.path.exists(path):
                    mode = os.stat(path).st_mode & 0o777
                    rt.check(mode == 0o600, f"{name} is {mode:o}, not 600")
            # the PostgreSQL store keeps nothing in SaveDir
            rt.check(os.path.exists(os.path.join(tasks_dir(), "tasks.db")) != PG_STORE, "tasks.db")
            for name in (".incoming", h["X-Task-Id"]):
                mode = os.stat(os.path.join(tasks_dir(), name)).st_mode & 0o777
                rt.check(mode == 0o700, f"{name} is {mode:o}, not 700")
            results = os.path.join(task, "results")
            for _ in range(100):
                if os.path.exists(os.path.join(results, "log")):
                    break
                time.sleep(0.1)
            if os.path.isdir(results):
                rt.check(os.stat(results).st_mode & 0o777 == 0o700, f"results is {os.stat(results).st_mode:o}")
                for name in os.listdir(results):
                    mode = os.stat(os.path.join(results, name)).st_mode & 0o777
                    rt.check(mode & 0o077 == 0, f"results/{name} is {mode:o}")
    finally:
        os.umask(old)


def test_stale_spools_removed():
    """Upload spools an earlier process left in SaveDir/.incoming (it was killed mid-upload) are removed
    at startup, and the removal is logged; uploads of the running process are not touched."""
    incoming = os.path.join(tasks_dir(), ".incoming")
    stale = [os.path.join(incoming, "abc123"), os.path.join(incoming, "p0123456789abcdef-xyz")]
    for path in stale:
        os.makedirs(os.path.join(path, "crash"), exist_ok=True)
        with open(os.path.join(path, "upload"), "wb") as f:
            f.write(b"\0" * 4096)
        # untouched for two hours: stale also in a SaveDir that other daemons share (TaskStore)
        old = time.time() - 7200
        for p in (os.path.join(path, "crash"), os.path.join(path, "upload"), path):
            os.utime(p, (old, old))
    with start() as srv:
        srv.start(ready_path="settings")
        left = [p for p in stale if os.path.exists(p)]
        rt.check(left == [], f"stale spools left after startup: {left}")
        rt.check("stale upload spool" in srv.log(), srv.log())
        st, _, body = post(srv, tar_of(crash_members()))
        rt.check(st == 201, f"upload after the cleanup: {st} {body!r}")


def test_slow_clients_from_one_address():
    """300 connections from 127.0.0.2 that trickle a request head (a header line every 5 s) hold at most
    MaxConnectionsPerAddress slots and no thread: meanwhile /settings from 127.0.0.1 answers within 1 s."""
    import select
    import socket
    import urllib.request
    with start() as srv:
        srv.start(ready_path="settings")
        slow, refused = [], 0
        for _ in range(300):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(3)
            try:
                sock.bind(("127.0.0.2", 0))
                sock.connect(("127.0.0.1", srv.port))
                sock.sendall(b"GET /settings HTTP/1.1\r\nHost: x\r\n")
                slow.append(sock)
            except OSError:
                refused += 1
                sock.close()

        def alive():
            """The slow connections the server has not closed."""
            n = 0
            for sock in slow:
                if sock.fileno() < 0:
                    continue
                readable, _, _ = select.select([sock], [], [], 0)
                try:
                    if readable and sock.recv(4096, socket.MSG_DONTWAIT) == b"":
                        sock.close()
                        continue
                except OSError:
                    sock.close()
                    continue
                n += 1
            return n

        def settings_time():
            t0 = time.monotonic()
            with urllib.request.urlopen(srv.base_url + "settings", timeout=10) as r:
                rt.check(r.status == 200 and b"max_packed_size" in r.read(), "settings")
            return time.monotonic() - t0

        worst = 0.0
        for round_ in range(3):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                worst = max(worst, settings_time())
                time.sleep(0.5)
            for i, sock in enumerate(slow):
                if sock.fileno() >= 0:
                    try:
                        sock.sendall(f"X-Slow-{round_}: {i}\r\n".encode())
                    except OSError:
                        sock.close()
            n = alive()
            rt.check(n <= 32, f"{n} slow connections from one address held open (limit 32)")
        rt.check(worst < 1.0, f"/settings took {worst:.2f} s while one address held its connections")
        rt.check("HTTP: Server reached connection limit" in srv.log(), "refused connections are not logged")
        print(f"   {len(slow)} slow connections made ({refused} refused), {alive()} held; "
              f"/settings answered within {worst:.3f} s")
        for sock in slow:
            sock.close()


def test_unpack_out_of_space():
    """Running out of disk while unpacking answers 507 (the upload fits, its members do not), and the
    spool is removed."""
    import subprocess
    rt.require_tool("unshare")
    if os.geteuid() != 0:
        rt.require_userns()
    incoming = os.path.join(tasks_dir(), ".incoming")
    os.makedirs(incoming, exist_ok=True)
    from daemon_helpers import SERVER
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    if subprocess.run(unshare + ["true"], capture_output=True).returncode != 0:
        rt.skip("cannot make a mount namespace for a small tmpfs")
    srv = rt.Server(lambda port, tmp: unshare + [
        "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs '{incoming}' && exec '{SERVER}' --config '{ENV.config}' "
        f"--listen 127.0.0.1:{port}"], name="retrace-server", env=ENV.env())
    members = crash_members(skip=("coredump",)) + [("coredump", b"\0" * (4 << 20))]
    with srv:
        srv.start(ready_path="settings")
        st, _, body = post(srv, tar_of(members))
        rt.check(st == 507, f"unpacking into a full disk: {st} {body!r}")
        left = os.listdir(f"/proc/{srv.proc.pid}/root{incoming}")
        rt.check(left == [], f"spools left behind: {left}")


try:
    rt.run_tests([test_upload_formats, test_refusals_in_protocol_order, test_task_access, test_settings,
                  test_configured_paths, test_ambiguous_framing, test_state_file_modes, test_stale_spools_removed,
                  test_slow_clients_from_one_address,
                  test_unpack_out_of_space,
                  test_tls])
finally:
    ENV.cleanup()
    if PG_STORE:
        PG.close()
