#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Attacks on the HTTP layer of a real retrace-server, loopback only and bounded in count and time:
hundreds of slow connections from one address, a request head trickled line by line, an upload below
the minimum rate, parallel password guessing, and an upload whose finishing takes long while the server
has one event-loop thread. Each asserts that other clients are still served and the offender is cut."""

import json
import os
import select
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

import retrace_test as rt
from daemon_helpers import DaemonEnv, tar_of
from daemon_helpers import post as daemon_post

TOS = rt.testos_dir()
CRASH = os.path.join(TOS, "crashes", "r1-null")
GUESSER = sys.argv[1:2] == ["--guess"]  # run as the child of test_password_guessing
ENV = None if GUESSER else DaemonEnv()
MANAGER_PASSWORD = "manager-secret"


def crash_members():
    out = []
    for f in ("coredump", "executable", "package", "os_release"):
        with open(os.path.join(CRASH, f), "rb") as fh:
            out.append((f, fh.read()))
    return out


def connect_from(source, port, timeout=5):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def closed_by_server(sock):
    """Whether the server ended the connection (EOF or reset), without blocking."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def timed_settings(srv):
    t0 = time.monotonic()
    with urllib.request.urlopen(srv.base_url + "settings", timeout=10) as r:
        rt.check(r.status == 200 and b"max_packed_size" in r.read(), "settings")
    return time.monotonic() - t0


def request_from(source, port, head, timeout=20):
    """One request from a given loopback address; returns (status, headers) or (None, error)."""
    try:
        with connect_from(source, port, timeout) as s:
            s.sendall(head.encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as e:
        return None, str(e)
    if not data:
        return None, "closed"
    lines = data.partition(b"\r\n\r\n")[0].decode().split("\r\n")
    return int(lines[0].split()[1]), dict(line.split(": ", 1) for line in lines[1:] if ": " in line)


def test_500_slow_connections():
    """500 connections from 127.0.0.2 trickling request heads are held by the event loops (no thread
    each); meanwhile /settings from 127.0.0.1 answers within 1 s, every time."""
    ENV.set_keys(MaxConnections=1024, MaxConnectionsPerAddress=700, RequestHeadTimeout=120,
                 ConnectionTimeout=120)
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        slow = []
        for _ in range(500):
            try:
                sock = connect_from("127.0.0.2", srv.port)
                sock.sendall(b"GET /settings HTTP/1.1\r\nHost: x\r\n")
                slow.append(sock)
            except OSError:
                pass
        rt.check(len(slow) == 500, f"only {len(slow)} of 500 slow connections were made")
        worst = 0.0
        deadline = time.monotonic() + 6
        round_ = 0
        while time.monotonic() < deadline:
            worst = max(worst, timed_settings(srv))
            for i, sock in enumerate(slow):
                try:
                    sock.sendall(f"X-Slow-{round_}: {i}\r\n".encode())
                except OSError:
                    pass
            round_ += 1
            time.sleep(0.3)
        held = sum(1 for sock in slow if not closed_by_server(sock))
        rt.check(held == 500, f"{500 - held} slow connections were closed before any deadline")
        rt.check(worst < 1.0, f"/settings took {worst:.2f} s with 500 slow connections open")
        print(f"   500 slow connections held; /settings answered within {worst:.3f} s")
        for sock in slow:
            sock.close()


def test_trickled_head_closed_at_deadline():
    """A connection that sends a header line every 0.3 s (never silent, so ConnectionTimeout never
    fires) is closed once RequestHeadTimeout passes; a client that sends its head at once is served."""
    ENV.set_keys(RequestHeadTimeout=2, ConnectionTimeout=60)
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        sock = connect_from("127.0.0.2", srv.port)
        t0 = time.monotonic()
        sock.sendall(b"GET /settings HTTP/1.1\r\nHost: x\r\n")
        closed_after = None
        i = 0
        while time.monotonic() - t0 < 10:
            if closed_by_server(sock):
                closed_after = time.monotonic() - t0
                break
            try:
                sock.sendall(f"X-Trickle-{i}: {'a' * 8}\r\n".encode())
            except OSError:
                closed_after = time.monotonic() - t0
                break
            i += 1
            time.sleep(0.3)
        sock.close()
        rt.check(closed_after is not None, "a trickling request head was never closed")
        rt.check(1.9 <= closed_after <= 5, f"the trickling head was closed after {closed_after:.1f} s "
                 "(RequestHeadTimeout = 2)")
        rt.check("its request head took too long" in srv.log(), srv.log())
        rt.check(timed_settings(srv) < 1.0, "/settings")
        with urllib.request.urlopen(srv.base_url + "metrics", timeout=10) as r:
            metrics = r.read().decode()
        rt.check('retrace_http_connections_closed_total{reason="slow_head"} 1' in metrics, metrics)
        print(f"   trickled head closed after {closed_after:.1f} s")


def test_slow_upload_cut():
    """An upload sending 4 KiB/s against MinUploadRate = 64K over a 2 s window is cut and leaves no
    spool; an ordinary upload under the same settings becomes a task."""
    ENV.set_keys(MinUploadRate="64K", UploadRateWindow=2, RequestHeadTimeout=10, ConnectionTimeout=60)
    incoming = os.path.join(ENV.dir, "tasks", ".incoming")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        sock = connect_from("127.0.0.2", srv.port)
        sock.sendall(b"POST /create HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-xz-compressed-tar\r\n"
                     b"Content-Length: 8000000\r\n\r\n")
        t0 = time.monotonic()
        cut_after = None
        while time.monotonic() - t0 < 15:
            if closed_by_server(sock):
                cut_after = time.monotonic() - t0
                break
            try:
                sock.sendall(b"\0" * 1024)
            except OSError:
                cut_after = time.monotonic() - t0
                break
            time.sleep(0.25)
        sock.close()
        rt.check(cut_after is not None, "an upload at 4 KiB/s was never cut")
        rt.check(1.9 <= cut_after <= 6, f"the slow upload was cut after {cut_after:.1f} s (window 2 s)")
        rt.check("its upload was too slow" in srv.log(), srv.log())
        deadline = time.monotonic() + 5
        while os.listdir(incoming) and time.monotonic() < deadline:
            time.sleep(0.1)
        rt.check(os.listdir(incoming) == [], f"spools left: {os.listdir(incoming)}")
        st, _, body = daemon_post(srv.port, tar_of(crash_members()))
        rt.check(st == 201, f"an ordinary upload: {st} {body!r}")
        print(f"   slow upload cut after {cut_after:.1f} s")


def test_password_guessing():
    """300 parallel wrong task manager passwords from 127.0.0.2: at most the per-address budget are
    checked (403), the rest answer 429 with Retry-After at once; meanwhile 127.0.0.1 is served within
    1 s and its right password works. Guesses from 127.0.0.3 then exhaust the total budget: even a right
    password answers 429 until it refills. Task passwords count the same. The log has one line per
    address, then a summary with the counts."""
    ENV.set_keys(AllowTaskManager="yes", TaskManagerPassword=MANAGER_PASSWORD, PasswordFailuresPerAddress=20,
                 PasswordFailuresTotal=30, MaxConnections=1024, MaxConnectionsPerAddress=700)
    wrong = "GET /manager/tasks HTTP/1.1\r\nHost: x\r\nX-Manager-Password: guess{}\r\nConnection: close\r\n\r\n"
    right = (f"GET /manager/tasks HTTP/1.1\r\nHost: x\r\nX-Manager-Password: {MANAGER_PASSWORD}\r\n"
             "Connection: close\r\n\r\n")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        st, h, body = daemon_post(srv.port, tar_of(crash_members()))
        rt.check(st == 201, f"upload: {st} {body!r}")
        task_id, task_password = h["X-Task-Id"], h["X-Task-Password"]

        # The guesses come from a process of their own, so that its threads do not slow the client
        # measuring /settings here.
        t0 = time.monotonic()
        guesser = subprocess.Popen([sys.executable, __file__, "--guess", str(srv.port), "300"],
                                   stdout=subprocess.PIPE, text=True)
        worst = 0.0
        while guesser.poll() is None and time.monotonic() - t0 < 60:
            worst = max(worst, timed_settings(srv))
            time.sleep(0.05)
        out, _ = guesser.communicate(timeout=60)
        guessing = time.monotonic() - t0
        results = json.loads(out)
        print(f"   the guesses took {guessing:.1f} s; /settings answered within {worst:.3f} s meanwhile")
        statuses = [st for st, _ in results]
        checked, limited = statuses.count(403), statuses.count(429)
        rt.check(len(results) == 300, f"{len(results)} of 300 guesses ended")
        # 20 a minute: one more every 3 s of the test.
        allowed = 21 + int((time.monotonic() - t0) / 3)
        rt.check(checked <= allowed, f"{checked} wrong passwords from one address were checked (budget 20)")
        rt.check(checked + limited == 300, f"other answers to guesses: {sorted(set(map(str, statuses)))}")
        retry = [h.get("Retry-After", "") for st, h in results if st == 429]
        rt.check(all(r.isdigit() and 1 <= int(r) <= 3600 for r in retry), f"Retry-After: {set(retry)}")
        rt.check(worst < 1.0, f"/settings took {worst:.2f} s during the guessing")
        st, _ = request_from("127.0.0.1", srv.port, right)
        rt.check(st == 200, f"the right password from another address during the guessing: {st}")
        # A task password from the guessing address is refused without a check; from another it works.
        task_head = (f"GET /{task_id} HTTP/1.1\r\nHost: x\r\nX-Task-Password: {{}}\r\n"
                     "Connection: close\r\n\r\n")
        task_statuses = [request_from("127.0.0.2", srv.port, task_head.format("wrong"))[0] for _ in range(10)]
        rt.check(set(task_statuses) <= {403, 429} and 429 in task_statuses,
                 f"task passwords from the guessing address: {task_statuses}")
        allowed = 21 + int((time.monotonic() - t0) / 3)
        rt.check(checked + task_statuses.count(403) <= allowed, "the budget of 127.0.0.2 was exceeded")
        st, _ = request_from("127.0.0.1", srv.port, task_head.format(task_password))
        rt.check(st == 200, f"the task's own password from another address: {st}")

        # The total budget (30, about 10 left): a second address uses it up before its own 20.
        statuses3 = [request_from("127.0.0.3", srv.port, wrong.format(i))[0] for i in range(40)]
        rt.check(statuses3.count(403) < 18 and statuses3.count(429) >= 22,
                 f"guesses from a second address: {statuses3.count(403)} checked, {statuses3.count(429)} 429")
        st, _ = request_from("127.0.0.1", srv.port, right)
        rt.check(st == 429, f"the right password with the total budget used up: {st}")

        log = srv.log()
        first_lines = [line for line in log.splitlines() if "Wrong task manager password from" in line]
        rt.check(len(first_lines) == 2, f"{len(first_lines)} lines for the first failures:\n{log}")
        # The counts of the rest come as one line per address once the interval has passed.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "Password checks from 127.0.0.2" not in srv.log():
            time.sleep(0.5)
        log = srv.log()
        summary = [line for line in log.splitlines() if "Password checks from 127.0.0.2" in line]
        rt.check(len(summary) >= 1, f"no summary for 127.0.0.2:\n{log}")
        password_lines = [line for line in log.splitlines() if "assword" in line]
        rt.check(len(password_lines) <= 8, f"{len(password_lines)} log lines about passwords:\n{log}")
        rt.check("refused for too many failures" in summary[0], summary[0])
        print(f"   300 guesses: {checked} checked, {limited} answered 429; "
              f"{len(password_lines)} log lines")


def test_password_budget_behind_proxy():
    """From TrustedProxy the budget counts the last X-Forwarded-For address: two clients behind the proxy
    have a budget each, the proxy's own requests without the header count as the proxy, and the header
    from any other address is ignored."""
    ENV.set_keys(AllowTaskManager="yes", TaskManagerPassword=MANAGER_PASSWORD, PasswordFailuresPerAddress=3,
                 PasswordFailuresTotal=100, TrustedProxy="127.0.0.4")

    def guesses(source, forwarded, n):
        head = "GET /manager/tasks HTTP/1.1\r\nHost: x\r\nX-Manager-Password: guess\r\n"
        if forwarded:
            head += f"X-Forwarded-For: {forwarded}\r\n"
        return [request_from(source, srv.port, head + "Connection: close\r\n\r\n")[0] for _ in range(n)]

    with ENV.server() as srv:
        srv.start(ready_path="settings")
        a = guesses("127.0.0.4", "203.0.113.9, 192.0.2.1", 5)
        rt.check(a == [403, 403, 403, 429, 429], f"a client behind the proxy: {a}")
        b = guesses("127.0.0.4", "192.0.2.2", 1)
        rt.check(b == [403], f"a second client behind the proxy: {b}")
        c = guesses("127.0.0.4", None, 4)
        rt.check(c == [403, 403, 403, 429], f"the proxy itself: {c}")
        d = guesses("127.0.0.5", "192.0.2.2", 3)
        rt.check(d == [403, 403, 403], f"X-Forwarded-For from an untrusted address: {d}")
        log = srv.log()
        rt.check("from 192.0.2.1" in log and "from 192.0.2.2" in log and "from 127.0.0.5" in log, log)


def test_slow_finish_does_not_stall():
    """With one event-loop thread (HTTPThreads = 1), an upload whose finishing takes seconds (unpacking
    it, then recording the task while another process holds tasks.db locked) does not hold up /settings
    from another client: it answers within 1 s throughout, and the upload then becomes a task."""
    ENV.set_keys(HTTPThreads=1, HTTPWorkers=1, UnpackWorkers=1)
    members = [m for m in crash_members() if m[0] != "coredump"] + [("coredump", b"\0" * (32 << 20))]
    archive = tar_of(members)
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        db = sqlite3.connect(os.path.join(ENV.dir, "tasks", "tasks.db"), timeout=10, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        result = {}

        def upload():
            result["answer"] = daemon_post(srv.port, archive)
            result["at"] = time.monotonic()

        t = threading.Thread(target=upload)
        t.start()
        worst, answered = 0.0, 0
        while time.monotonic() - locked_at < 3:
            worst = max(worst, timed_settings(srv))
            answered += 1
            time.sleep(0.1)
        waiting = t.is_alive()
        db.execute("COMMIT")
        db.close()
        t.join(30)
        rt.check(worst < 1.0, f"/settings took {worst:.2f} s while an upload was being finished")
        rt.check(waiting, "the upload was answered while tasks.db was locked")
        st, _, body = result["answer"]
        rt.check(st == 201, f"the upload after the lock: {st} {body!r}")
        print(f"   /settings answered {answered} times within {worst:.3f} s while the upload waited "
              f"{result['at'] - locked_at:.1f} s")


def guess_main(port, n):
    """(In a child process) n wrong task manager passwords at once from 127.0.0.2, on non-blocking sockets
    in one thread (threads would compete for the CPU with the client measuring /settings); prints each
    answer's status and Retry-After."""
    import errno
    import selectors
    head = "GET /manager/tasks HTTP/1.1\r\nHost: x\r\nX-Manager-Password: guess{}\r\nConnection: close\r\n\r\n"
    sel = selectors.DefaultSelector()
    results = [(None, "no answer")] * n
    for i in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind(("127.0.0.2", 0))
        rc = sock.connect_ex(("127.0.0.1", port))
        if rc not in (0, errno.EINPROGRESS):
            results[i] = (None, os.strerror(rc))
            sock.close()
            continue
        sel.register(sock, selectors.EVENT_WRITE, [i, b"", False])
    deadline = time.monotonic() + 30
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            sock, state = key.fileobj, key.data
            i = state[0]
            try:
                if not state[2]:
                    sock.sendall(head.format(i).encode())
                    state[2] = True
                    sel.modify(sock, selectors.EVENT_READ, state)
                    continue
                chunk = sock.recv(65536)
            except OSError as e:
                results[i] = (None, str(e))
                chunk = b""
            state[1] += chunk
            if chunk and b"\r\n\r\n" not in state[1]:
                continue
            sel.unregister(sock)
            sock.close()
            if b"\r\n\r\n" in state[1]:
                lines = state[1].partition(b"\r\n\r\n")[0].decode().split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                st = int(lines[0].split()[1])
                results[i] = (st, {"Retry-After": headers["Retry-After"]} if "Retry-After" in headers else {})
            elif results[i][0] is None and results[i][1] == "no answer":
                results[i] = (None, "closed")
    print(json.dumps(results))


if GUESSER:
    guess_main(int(sys.argv[2]), int(sys.argv[3]))
    sys.exit(0)

try:
    rt.run_tests([test_500_slow_connections, test_trickled_head_closed_at_deadline, test_slow_upload_cut,
                  test_password_guessing, test_password_budget_behind_proxy, test_slow_finish_does_not_stall])
finally:
    ENV.cleanup()
