#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Interactive sessions on a real daemon with TestOS: gdb on a finished type-3 task's core over the
WebSocket (the crashing frames, a local variable's value, resize), the refusals of shell, pipe,
python, make and run, one session per task, the idle timeout, the session log, and the handshake by
hand: bad, reused and expired tokens, a foreign Origin, a wrong password, missing upgrade headers,
a task that is not interactive."""

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request

import retrace_test as rt
import ws_client
from daemon_helpers import DaemonEnv, post, tar_of, wait_finished

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
IDLE = 6
ENV = DaemonEnv(releases=tuple(MANIFEST["releases"]), AllowInteractive="yes",
                InteractiveIdleTimeout=str(IDLE), ReuseIdenticalUploads="no")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def crash(kind):
    return next(c for c in MANIFEST["crashes"] if c["kind"] == kind and c["release"] == sorted(MANIFEST["releases"])[0])


def upload(srv, c, task_type):
    d = os.path.join(TOS, "crashes", c["name"])
    members = [(f, open(os.path.join(d, f), "rb").read())
               for f in ("coredump", "executable", "package", "os_release") if os.path.exists(os.path.join(d, f))]
    st, h, body = post(srv.port, tar_of(members), task_type=task_type)
    rt.check(st == 201, f"upload: {st} {body!r}")
    status, seen = wait_finished(srv.base_url, h["X-Task-Id"], h["X-Task-Password"])
    rt.check(status == "FINISHED_SUCCESS", f"{status} {seen}")
    return h["X-Task-Id"], h["X-Task-Password"]


def token(srv, tid, password):
    """(status, body) of POST /<id>/interact."""
    req = urllib.request.Request(f"{srv.base_url}{tid}/interact", method="POST", data=b"",
                                 headers={"X-Task-Password": password})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def open_session(srv, tid, password, headers=None):
    st, body = token(srv, tid, password)
    rt.check(st == 201, f"POST /{tid}/interact: {st} {body}")
    rt.check(isinstance(body["token"], str) and len(body["token"]) >= 32, body)
    rt.check(abs(body["expires"] - (time.time() + 60)) < 30, f"expires {body['expires']} is not in 60 s")
    return ws_client.WebSocket.connect(srv.port, f"/{tid}/interact?token={body['token']}", headers)


def command(ws, text, timeout=60):
    """Types text and a newline; the output up to the next prompt, colours removed."""
    ws.send_keys(text + "\n")
    out = ws.read_until("(gdb) ", timeout)
    return ANSI.sub(b"", out).decode(errors="replace").replace("\r", "")


def refused(ws, srv, url_token):
    try:
        ws_client.WebSocket.connect(srv.port, url_token)
    except ws_client.HandshakeRefused as e:
        return e.status, e.body
    rt.fail(f"{url_token} was not refused")


def test_gdb_session_and_handshake():
    c = crash("null")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        tid, password = upload(srv, c, 3)
        host = f"127.0.0.1:{srv.port}"

        st, _, body = rt.http_get(f"{srv.base_url}{tid}/interact/status", {"X-Task-Password": password})
        info = json.loads(body)
        rt.check(st == 200 and info["available"] is True and info["kind"] == "gdb" and info["busy"] is False,
                 f"status: {st} {body!r}")

        # a token asked for now expires while the rest runs; checked at the end
        st, early = token(srv, tid, password)
        rt.check(st == 201, f"{st} {early}")
        early_at = time.monotonic()

        # wrong password: no token; no token or a made-up one: no upgrade; no upgrade headers: 400
        st, body = token(srv, tid, "wrong")
        rt.check(st == 403, f"wrong password gave {st} {body}")
        st, body = refused(None, srv, f"/{tid}/interact")
        rt.check(st == 403 and "token" in body, f"{st} {body}")
        st, body = refused(None, srv, f"/{tid}/interact?token={'0' * 64}")
        rt.check(st == 403, f"made-up token: {st} {body}")
        st, _, body = rt.http_get(f"{srv.base_url}{tid}/interact?token={'0' * 64}")
        rt.check(st == 400 and b"upgrade" in body, f"no upgrade headers: {st} {body!r}")

        # a foreign origin is refused (and the token is not used up by that)
        st, tok = token(srv, tid, password)
        rt.check(st == 201, f"{st} {tok}")
        try:
            ws_client.WebSocket.connect(srv.port, f"/{tid}/interact?token={tok['token']}",
                                        {"Origin": "http://evil.example"})
            rt.fail("a foreign Origin was let in")
        except ws_client.HandshakeRefused as e:
            rt.check(e.status == 403 and "Origin" in e.body, f"{e.status} {e.body}")

        # the session, from a page of this server
        ws = ws_client.WebSocket.connect(srv.port, f"/{tid}/interact?token={tok['token']}",
                                         {"Origin": f"http://{host}"})
        banner = ANSI.sub(b"", ws.read_until("(gdb) ")).decode(errors="replace")
        rt.check("Program terminated with signal SIGSEGV" in banner, banner)

        # the token was used once: a second use is refused; one session per task
        st, body = refused(None, srv, f"/{tid}/interact?token={tok['token']}")
        rt.check(st == 403, f"reused token: {st} {body}")
        st, body = token(srv, tid, password)
        rt.check(st == 409 and "one at a time" in body, f"second session: {st} {body}")
        st, _, body = rt.http_get(f"{srv.base_url}{tid}/interact/status", {"X-Task-Password": password})
        rt.check(st == 200 and json.loads(body)["busy"] is True, f"status while open: {st} {body!r}")

        command(ws, "set pagination off")  # a terminal of 24 lines would page a long backtrace
        bt = command(ws, "bt")
        frames = [m.group(1) for m in re.finditer(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(", bt, re.M)]
        want = [f["function"] for f in c["frames"]]
        rt.check(frames[:len(want)] == want, f"bt frames {frames}, want {want}:\n{bt}")

        # frame 1: its locals, and one printed on its own shows the same value
        out = command(ws, "frame 1")
        rt.check(f" in {want[1]} (" in out or f"{want[1]} (" in out, out)
        args = command(ws, "info args")
        locals_ = command(ws, "info locals")
        pairs = re.findall(r"^(\w+) = (.+)$", locals_ + args, re.M)
        rt.check(pairs, f"frame 1 has no variables:\n{args}{locals_}")
        name, value = pairs[0]
        out = command(ws, f"print {name}")
        rt.check(re.search(r"\$\d+ = (\([^)]*\) )?" + re.escape(value.strip()), out), f"print {name}: {out!r}, want {value}")

        # no shell, no interpreter, no programs
        for cmd in ("shell id", "!id", "pipe bt | cat", "| bt | cat", "python print(1)", "pi print(2)",
                    "make", "run", "guile 1"):
            out = command(ws, cmd)
            rt.check("Refused" in out and "uid=" not in out and "\n1\n" not in out and "\n2\n" not in out,
                     f"{cmd!r} was not refused: {out!r}")

        # resize: gdb follows the terminal's size (readline keeps the last column free)
        ws.resize(123, 41)
        ws.send_keys("show height\n")
        out = ws.read_until("in a page is") + ws.read_until("(gdb) ")
        rt.check(b"in a page is 41." in ANSI.sub(b"", out), f"after resize: {out!r}")
        out = command(ws, "show width")
        rt.check(re.search(r"in a line is 12[23]\.", out), f"after resize: {out!r}")

        # the idle timeout ends it, with the reason in the close frame
        start = time.monotonic()
        closed, _ = ws.wait_closed(IDLE + 30)
        rt.check(closed is not None and "InteractiveIdleTimeout" in closed[1], f"close: {closed}")
        rt.check(time.monotonic() - start >= IDLE - 1, "closed before the idle timeout")
        ws.close()

        # the transcript: what was typed (as the terminal echoed it) and printed
        log = ""
        for _ in range(50):
            st, _, body = rt.http_get(f"{srv.base_url}{tid}/interact/log", {"X-Task-Password": password})
            log = body.decode(errors="replace")
            if "session ended" in log:
                break
            time.sleep(0.1)
        rt.check(st == 200 and "session started" in log and "session ended" in log and "idle" in log, log[-2000:])
        rt.check("bt" in log and want[0] in log and "Refused" in log, log[-2000:])
        st, _, _ = rt.http_get(f"{srv.base_url}{tid}/interact/log", {"X-Task-Password": "wrong"})
        rt.check(st == 403, f"log with a wrong password: {st}")

        # a new session after the first ended
        ws = open_session(srv, tid, password)
        ws.read_until("(gdb) ")
        ws.send_keys("quit\n")
        closed, _ = ws.wait_closed(30)
        rt.check(closed is not None and "exited" in closed[1], f"after quit: {closed}")
        ws.close()

        # the token from the start has expired
        time.sleep(max(0.0, 61 - (time.monotonic() - early_at)))
        st, body = refused(None, srv, f"/{tid}/interact?token={early['token']}")
        rt.check(st == 403, f"expired token: {st} {body}")


def test_not_interactive_task():
    c = crash("abort")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        tid, password = upload(srv, c, 0)
        st, body = token(srv, tid, password)
        rt.check(st == 409 and "InteractiveAnyTask" in body, f"type 0: {st} {body}")
        st, _, body = rt.http_get(f"{srv.base_url}{tid}/interact/status", {"X-Task-Password": password})
        rt.check(st == 200 and json.loads(body)["available"] is False, f"status of type 0: {st} {body!r}")
        st, _, body = rt.http_get(f"{srv.base_url}{tid}/interact/status", {"X-Task-Password": "wrong"})
        rt.check(st == 403, f"status with a wrong password: {st} {body!r}")
    ENV.set_keys(AllowInteractive="yes", InteractiveAnyTask="yes", ReuseIdenticalUploads="no",
                 InteractiveIdleTimeout="300", InteractiveMaxTime="8")
    try:
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            tid, password = upload(srv, c, 0)
            ws = open_session(srv, tid, password)
            start = time.monotonic()
            ws.read_until("(gdb) ")
            command(ws, "set pagination off")  # a terminal of 24 lines would page the backtrace
            out = command(ws, "bt")
            rt.check(c["frames"][0]["function"] in out, out)
            # busy typing, yet the session ends at InteractiveMaxTime
            while ws.closed is None and time.monotonic() - start < 60:
                try:
                    ws.send_keys("print 1\n")
                except OSError:
                    break
                ws.wait_closed(1)
            rt.check(ws.closed is not None and "InteractiveMaxTime" in ws.closed[1], f"close: {ws.closed}")
            rt.check(time.monotonic() - start >= 7, "ended before InteractiveMaxTime")
            ws.close()
    finally:
        ENV.set_keys(AllowInteractive="yes", InteractiveIdleTimeout=str(IDLE), ReuseIdenticalUploads="no")
    ENV.set_keys(ReuseIdenticalUploads="no")  # AllowInteractive = no
    try:
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            tid, password = upload(srv, c, 0)
            st, body = token(srv, tid, password)
            rt.check(st == 403 and "AllowInteractive" in body, f"sessions while disabled: {st} {body}")
            st, _, body = rt.http_get(f"{srv.base_url}{tid}/interact/log", {"X-Task-Password": password})
            rt.check(st == 404, f"{st} {body!r}")
    finally:
        ENV.set_keys(AllowInteractive="yes", InteractiveIdleTimeout=str(IDLE), ReuseIdenticalUploads="no")

def pty_read_until(fd, needle, timeout=60):
    import select
    out = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in ANSI.sub(b"", out):
        left = deadline - time.monotonic()
        if left <= 0:
            rt.fail(f"{needle!r} not seen on the client's terminal within {timeout} s:\n"
                    f"{out.decode(errors='replace')}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the client exited
                chunk = b""
            if not chunk:
                rt.fail(f"the client ended before {needle!r}:\n{out.decode(errors='replace')}")
            out += chunk
    return ANSI.sub(b"", out).decode(errors="replace")


def test_client_interact_on_a_pty():
    """retrace-client interact ID attaches a terminal: raw mode (keys go through as typed), the window
    size follows the terminal (SIGWINCH), the end of the session restores the terminal."""
    import fcntl
    import pty
    import struct
    import subprocess
    import termios
    client = os.path.join(os.environ["RETRACE_BUILD_DIR"], "client", "retrace-client")
    c = crash("null")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        tid, password = upload(srv, c, 3)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        before = termios.tcgetattr(slave)
        p = subprocess.Popen([client, "--url", srv.base_url, "interact", tid, "--password", password],
                             stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        try:
            pty_read_until(master, "(gdb) ")
            os.write(master, b"show height\r")
            pty_read_until(master, "in a page is 30.")
            # a new window size reaches gdb
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 90, 0, 0))
            os.kill(p.pid, signal.SIGWINCH)
            time.sleep(0.5)
            os.write(master, b"show height\r")
            pty_read_until(master, "in a page is 33.")
            os.write(master, b"set pagination off\r")
            os.write(master, b"bt\r")
            out = pty_read_until(master, c["frames"][-1]["function"] + " (")
            rt.check(c["frames"][0]["function"] in out, out)
            os.write(master, b"shell id\r")
            out = pty_read_until(master, "Refused")
            rt.check("uid=" not in out, out)
            os.write(master, b"quit\r")
            pty_read_until(master, "the session ended: the debugger exited")
            rt.check(p.wait(timeout=30) == 0, f"the client exited with {p.returncode}")
            rt.check(termios.tcgetattr(slave) == before, "the terminal was not restored")
        finally:
            if p.poll() is None:
                p.kill()
            os.close(master)
            os.close(slave)
        # a wrong password: no session, a clear refusal
        r = subprocess.run([client, "--url", srv.base_url, "interact", tid, "--password", "wrong"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        rt.check(r.returncode == 1 and "403" in r.stderr, f"{r.returncode} {r.stderr}")


def test_client_interact_over_tls():
    """The daemon's own TLS: the upgrade and the frames go through libmicrohttpd's TLS, the client's
    through curl's (--insecure for the self-signed certificate); a browser Origin from
    InteractiveOrigins is let in."""
    import pty
    import shutil
    import subprocess
    import tempfile
    rt.require_tool("openssl")
    client = os.path.join(os.environ["RETRACE_BUILD_DIR"], "client", "retrace-client")
    tmp = tempfile.mkdtemp(prefix="test-interact-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    import ssl
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(cert)
    ctx.check_hostname = False
    ENV.set_keys(AllowInteractive="yes", InteractiveAnyTask="yes", ReuseIdenticalUploads="no",
                 TLSCertificate=cert, TLSKey=key)
    try:
        with ENV.server(ssl_context=ctx) as srv:
            srv.start(ready_path="settings")
            env = dict(os.environ, RETRACE_SERVER_URI=srv.base_url)
            r = subprocess.run([client, "--insecure", "--status-delay", "0", "batch", "--dir",
                                os.path.join(TOS, "crashes", crash("null")["name"])],
                               capture_output=True, text=True, timeout=300, env=env)
            rt.check(r.returncode == 0, f"batch over TLS: {r.stdout}{r.stderr}")
            tid = r.stdout.split("Task Id: ")[1].split()[0]
            password = r.stdout.split("Task Password: ")[1].split()[0]
            master, slave = pty.openpty()
            p = subprocess.Popen([client, "--insecure", "interact", tid, "--password", password], env=env,
                                 stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
            try:
                pty_read_until(master, "(gdb) ")
                os.write(master, b"print 6*7\r")
                pty_read_until(master, "= 42")
                os.write(master, b"quit\r")
                pty_read_until(master, "the session ended: the debugger exited")
                rt.check(p.wait(timeout=30) == 0, f"the client exited with {p.returncode}")
            finally:
                if p.poll() is None:
                    p.kill()
                os.close(master)
                os.close(slave)
    finally:
        ENV.set_keys(AllowInteractive="yes", InteractiveIdleTimeout=str(IDLE), ReuseIdenticalUploads="no")
        shutil.rmtree(tmp)


def test_origin_allow_list():
    """InteractiveOrigins lets a page of another origin in; others stay out."""
    c = crash("null")
    ENV.set_keys(AllowInteractive="yes", ReuseIdenticalUploads="no",
                 InteractiveOrigins="https://ui.example.org, https://other.example.org:8443")
    try:
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            tid, password = upload(srv, c, 3)
            ws = open_session(srv, tid, password, {"Origin": "https://other.example.org:8443"})
            ws.read_until("(gdb) ")
            ws.close()
            time.sleep(0.5)
            for origin in ("https://ui.example.org.evil", "http://ui.example.org", "null"):
                st, tok = token(srv, tid, password)
                rt.check(st == 201, f"{st} {tok}")
                try:
                    ws_client.WebSocket.connect(srv.port, f"/{tid}/interact?token={tok['token']}", {"Origin": origin})
                    rt.fail(f"Origin {origin} was let in")
                except ws_client.HandshakeRefused as e:
                    rt.check(e.status == 403, f"{origin}: {e.status} {e.body}")
            # those three tokens are still waiting: a fourth, then no more for this task
            st, _ = token(srv, tid, password)
            rt.check(st == 201, f"fourth token: {st}")
            st, body = token(srv, tid, password)
            rt.check(st == 429, f"fifth waiting token: {st} {body}")
    finally:
        ENV.set_keys(AllowInteractive="yes", InteractiveIdleTimeout=str(IDLE), ReuseIdenticalUploads="no")


def test_crash_session_on_a_vmcore():
    """A type-4 task: crash on the vmcore with vmlinux, over the same WebSocket; `bt` shows the panicking
    task's stack, `log` the kernel's panic; crash's shell escape finds no program to run."""
    import vmcore_fixture
    fx = vmcore_fixture.ensure()
    env = vmcore_fixture.daemon_env(fx, MaxPackedSize="1G", MaxUnpackedSize="2G", AllowInteractive="yes",
                                    InteractiveIdleTimeout="60")
    try:
        with env.server() as srv:
            srv.start(ready_path="settings")
            with open(fx["kdump"], "rb") as f:
                data = f.read()
            st, h, body = post(srv.port, tar_of([("vmcore", data)], mode="w"), "application/x-tar", task_type=4)
            rt.check(st == 201, f"create: {st} {body!r}")
            tid, password = h["X-Task-Id"], h["X-Task-Password"]
            status, seen = wait_finished(srv.base_url, tid, password, timeout=600)
            rt.check(status == "FINISHED_SUCCESS", f"{status} {seen}")
            ws = open_session(srv, tid, password)
            ws.read_until("crash> ", 120)

            def crash_cmd(text):
                ws.send_keys(text + "\n")
                return ANSI.sub(b"", ws.read_until("crash> ", 120)).decode(errors="replace").replace("\r", "")

            out = crash_cmd("bt")
            rt.check("sysrq_handle_crash" in out, f"crash bt:\n{out}")
            out = crash_cmd("log")
            rt.check("sysrq: Trigger a crash" in out, f"crash log:\n{out[-3000:]}")
            out = crash_cmd("!id")
            rt.check("uid=" not in out and "cannot" in out, f"crash ran a shell command:\n{out}")
            out = crash_cmd("sys | cat")
            rt.check("RELEASE" not in out and "cannot" in out, f"crash piped through a program:\n{out}")
            ws.send_keys("quit\n")
            closed, _ = ws.wait_closed(30)
            rt.check(closed is not None and "exited" in closed[1], f"after quit: {closed}")
            ws.close()
    finally:
        env.cleanup()


if __name__ == "__main__":
    rt.require_userns()
    rt.run_tests([test_gdb_session_and_handshake, test_not_interactive_task, test_client_interact_on_a_pty,
                  test_client_interact_over_tls, test_origin_allow_list, test_crash_session_on_a_vmcore])
