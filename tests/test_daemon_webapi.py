#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon's additions for the Web UI against a real daemon: static pages with strict security
headers (and nothing outside WebUIDir), /stats as a page for browsers and JSON for the rest,
/<id>/status with per-stage times, and the task manager's API (off by default; a wrong, missing or
unset credential refused; list, filter and limits; restart; delete) — while the PROTOCOL.md answers
stay as they were. With RETRACE_TEST_STORE=postgresql (the test_daemon_webapi_pg variant) the same
suite runs against a PostgreSQL store (the task manager's list, filters and notes through its backend)."""

import hashlib
import json
import os

import retrace_test as rt
from daemon_helpers import DaemonEnv, post, raw_request, wait_finished

TOS = rt.testos_dir()
CRASH = os.path.join(TOS, "crashes", "r1-null")
PASSWORD = "manager-secret"
if os.environ.get("RETRACE_TEST_STORE") == "postgresql":
    import pg_helpers
    PG = pg_helpers.PgCluster()
    ENV = DaemonEnv(releases=("1",), always={"TaskStore": PG.uri})
else:
    PG = None
    ENV = DaemonEnv(releases=("1",))


def get(srv, path, headers=None):
    return rt.http_get(srv.base_url + path, headers or {})


def post_path(srv, path, headers):
    head = f"POST /{path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n"
    for k, v in headers.items():
        head += f"{k}: {v}\r\n"
    return raw_request(srv.port, head + "\r\n")


def create(srv):
    with open(CRASH + ".tar.xz", "rb") as f:
        st, h, body = post(srv.port, f.read())
    rt.check(st == 201, f"create: {st} {body!r}")
    return h["X-Task-Id"], h["X-Task-Password"]


def test_static_and_headers():
    ENV.set_keys()
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        for path, ctype in (("", "text/html"), ("index.html", "text/html"), ("app.js", "text/javascript"),
                            ("style.css", "text/css"), ("retrace/submit.html", "text/html")):
            st, h, body = get(srv, path)
            rt.check(st == 200 and h["Content-Type"].startswith(ctype), f"/{path}: {st} {h}")
            csp = h.get("Content-Security-Policy", "")
            rt.check("default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp, csp)
            rt.check(h.get("X-Content-Type-Options") == "nosniff" and h.get("X-Frame-Options") == "DENY", h)
        # Security headers on the API's answers too, and nothing private cached.
        st, h, _ = get(srv, "settings")
        rt.check(st == 200 and "Content-Security-Policy" in h and h.get("Cache-Control") == "no-store", h)
        # No inline script or style in any page (the CSP would block it).
        for page in ("index", "submit", "task", "stats", "manager"):
            st, _, body = get(srv, page + ".html")
            text = body.decode()
            rt.check(st == 200 and "<script>" not in text and "style=" not in text and "<style" not in text,
                     f"{page}.html has inline script or style")
        # Only bare names with a known extension inside WebUIDir.
        for path in ("..%2Fretrace-server.conf", "%2e%2e/tasks.db", "meson.build", "README.md", "x.html.bak",
                     ".hidden.js", "tasks.db", "nothere.html"):
            st, _, _ = get(srv, path)
            rt.check(st == 404, f"/{path}: {st}")
        st, _, _ = raw_request(srv.port, "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        rt.check(st == 404, f"/../../etc/passwd: {st}")
        st, _, _ = get(srv, "a" * 2000 + ".html")
        rt.check(st in (404, 414), f"long path: {st}")
        # /stats: a page for a browser, JSON for everyone else (as before).
        st, h, _ = get(srv, "stats", {"Accept": "text/html,application/xhtml+xml"})
        rt.check(st == 200 and h["Content-Type"].startswith("text/html"), f"/stats as a page: {h}")
        st, h, body = get(srv, "stats")
        rt.check(st == 200 and h["Content-Type"] == "application/json", f"/stats: {h}")
        stats = json.loads(body)
        rt.check("arches" in stats and "durations" in stats, stats)


def test_status_json_and_stages():
    ENV.set_keys()
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        tid, pw = create(srv)
        st, h, body = get(srv, f"{tid}/status", {"X-Task-Password": pw})
        rt.check(st == 200 and h["Content-Type"] == "application/json", f"status: {st} {h}")
        first = json.loads(body)
        rt.check(first["id"] == int(tid) and first["type"] == 0 and first["created"] > 0, first)
        status, _ = wait_finished(srv.base_url, tid, pw)
        rt.check(status == "FINISHED_SUCCESS", status)
        st, _, body = get(srv, f"{tid}/status", {"X-Task-Password": pw})
        s = json.loads(body)
        names = [x["stage"] for x in s["stages"]]
        rt.check(names[:3] == ["Analyzing crash data", "Preparing environment for backtrace generation",
                               "Generating backtrace"] and names[-1] == "Retrace job finished successfully", names)
        times = [x["started"] for x in s["stages"]]
        rt.check(times == sorted(times) and times[0] >= s["created"] and s["finished"] >= times[-1], s)
        rt.check(s["status"] == "FINISHED_SUCCESS" and s["results"] == {"backtrace": True, "log": True,
                                                                        "exploitable": True}, s)
        # The password is checked as for every per-task request; the old answers did not change.
        st, _, _ = get(srv, f"{tid}/status", {"X-Task-Password": "wrong"})
        rt.check(st == 403, f"wrong password: {st}")
        st, _, _ = get(srv, f"{tid}/status")
        rt.check(st == 403, f"no password: {st}")
        st, _, _ = get(srv, "123456789/status", {"X-Task-Password": pw})
        rt.check(st == 404, f"unknown id: {st}")
        st, h, body = get(srv, tid, {"X-Task-Password": pw})
        rt.check(st == 200 and h["X-Task-Status"] == "FINISHED_SUCCESS" and
                 body == b"Retrace job finished successfully", f"{st} {h} {body!r}")
        # Restarting is for the task manager only.
        st, _, _ = post_path(srv, f"{tid}/restart", {"X-Task-Password": pw})
        rt.check(st == 404, f"restart with the task password: {st}")


def test_manager_off_and_unset():
    ENV.set_keys()
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        st, _, body = get(srv, "manager/tasks", {"X-Manager-Password": PASSWORD})
        rt.check(st == 403 and b"not enabled" in body, f"manager off: {st} {body!r}")
    ENV.set_keys(AllowTaskManager="yes")
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        st, _, body = get(srv, "manager/tasks", {"X-Manager-Password": ""})
        rt.check(st == 403 and b"TaskManagerPassword" in body, f"manager without a password: {st} {body!r}")


def test_manager():
    for configured in (PASSWORD, "sha256:" + hashlib.sha256(PASSWORD.encode()).hexdigest().upper()):
        ENV.set_keys(AllowTaskManager="yes", TaskManagerPassword=configured)
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            auth = {"X-Manager-Password": PASSWORD}
            for bad in ({}, {"X-Manager-Password": "wrong"}, {"X-Manager-Password": PASSWORD + "x"},
                        {"X-Manager-Password": "y" * 300}):
                st, _, _ = get(srv, "manager/tasks", bad)
                rt.check(st == 403, f"manager with {bad}: {st}")
            st, _, body = get(srv, "manager/tasks", auth)
            rt.check(st == 200, f"manager list: {st} {body!r}")
        if configured == PASSWORD:
            continue
        with ENV.server() as srv:
            srv.start(ready_path="settings")
            a, pa = create(srv)
            b, pb = create(srv)
            wait_finished(srv.base_url, a, pa)
            wait_finished(srv.base_url, b, pb)
            st, _, body = get(srv, "manager/tasks", auth)
            tasks = json.loads(body)["tasks"]
            ids = [str(t["id"]) for t in tasks]
            rt.check(a in ids and b in ids, ids)
            row = next(t for t in tasks if str(t["id"]) == a)
            rt.check(row["status"] == "FINISHED_SUCCESS" and row["package"] == "crashy-1.0-1.tos1" and
                     row["release"] == "testos-1-x86_64", row)
            st, _, body = get(srv, f"manager/tasks?q={a}", auth)
            rt.check([str(t["id"]) for t in json.loads(body)["tasks"]] == [a], body)
            st, _, body = get(srv, "manager/tasks?q=crashy&status=FINISHED_SUCCESS&limit=1", auth)
            rt.check(st == 200 and len(json.loads(body)["tasks"]) == 1, body)
            st, _, body = get(srv, "manager/tasks?status=PENDING", auth)
            rt.check(json.loads(body)["tasks"] == [], body)
            st, _, body = get(srv, "manager/tasks?q=%25", auth)  # no LIKE wildcards from outside
            rt.check(st == 400, f"q=%: {st}")
            for bad in ("status=DONE", "limit=0", "limit=501", "limit=x", "q=" + "a" * 65):
                st, _, _ = get(srv, "manager/tasks?" + bad, auth)
                rt.check(st == 400, f"{bad}: {st}")
            # Any task opens with the manager's credential, never with a task password alone.
            st, _, body = get(srv, f"manager/{a}/backtrace", auth)
            rt.check(st == 200 and b"token_measure" in body, f"manager backtrace: {st}")
            st, _, _ = get(srv, f"manager/{a}/backtrace", {"X-Task-Password": pa})
            rt.check(st == 403, f"manager path with a task password: {st}")
            st, _, body = get(srv, f"manager/{a}/status", auth)
            rt.check(json.loads(body)["status"] == "FINISHED_SUCCESS", body)
            # Changes are POSTs.
            st, _, _ = get(srv, f"manager/{a}/restart", auth)
            rt.check(st == 405, f"GET restart: {st}")
            st, _, _ = get(srv, f"manager/{b}/delete", auth)
            rt.check(st == 405, f"GET delete: {st}")
            st, _, _ = post_path(srv, f"manager/{a}/restart", {"X-Manager-Password": "wrong"})
            rt.check(st == 403, f"restart with a wrong password: {st}")
            # Restart: runs again to success; the old results went first.
            st, _, body = post_path(srv, f"manager/{a}/restart", auth)
            rt.check(st == 200, f"restart: {st} {body!r}")
            st, _, body = post_path(srv, f"manager/{a}/restart", auth)
            rt.check(st in (200, 409), f"restart again: {st} {body!r}")
            status, _ = wait_finished(srv.base_url, a, pa)
            rt.check(status == "FINISHED_SUCCESS", f"restarted task: {status}")
            st, _, body = get(srv, f"{a}/status", {"X-Task-Password": pa})
            names = [x["stage"] for x in json.loads(body)["stages"]]
            rt.check(names.count("Analyzing crash data") == 1, f"stage history not reset: {names}")
            st, _, _ = post_path(srv, "manager/123456789/restart", auth)
            rt.check(st == 404, f"restart of an unknown task: {st}")
            # Delete, even with AllowAPIDelete off.
            st, _, _ = post_path(srv, f"{b}/delete", {"X-Task-Password": pb})
            rt.check(st == 403, f"API delete while off: {st}")
            st, _, _ = post_path(srv, f"manager/{b}/delete", auth)
            rt.check(st == 200, f"manager delete: {st}")
            st, _, _ = get(srv, b, {"X-Task-Password": pb})
            rt.check(st == 404, f"deleted task: {st}")
            rt.check(not os.path.exists(os.path.join(ENV.dir, "tasks", b)), "the task directory stayed")


def post_body(srv, path, headers, body):
    head = f"POST /{path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    for k, v in headers.items():
        head += f"{k}: {v}\r\n"
    return raw_request(srv.port, head + "\r\n", body)


def test_manager_notes():
    """Notes and a case reference per task: set through the task manager only (its password), bounded,
    shown in /<id>/status to whoever may see the task and in the manager's list, which filters by them."""
    ENV.set_keys(AllowTaskManager="yes", TaskManagerPassword=PASSWORD)
    auth = {"X-Manager-Password": PASSWORD}
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        a, pa = create(srv)
        b, pb = create(srv)
        notes = "Customer ACME sees it weekly.\nAsked for the config — ünïcödé kept."
        doc = json.dumps({"notes": notes, "case": "RHBZ#2024-17"}).encode()
        for bad in ({}, {"X-Manager-Password": "wrong"}):
            st, _, _ = post_body(srv, f"manager/{a}/notes", bad, doc)
            rt.check(st == 403, f"notes with {bad}: {st}")
        st, _, _ = post_body(srv, f"{a}/notes", {"X-Task-Password": pa}, doc)
        rt.check(st == 404, f"notes with the task's password: {st}")
        st, _, _ = get(srv, f"manager/{a}/notes", auth)
        rt.check(st == 405, f"GET notes: {st}")
        st, h, body = post_body(srv, f"manager/{a}/notes", auth, doc)
        rt.check(st == 200 and json.loads(body) == {"id": int(a), "notes": notes, "case": "RHBZ#2024-17"},
                 f"notes: {st} {body!r}")
        for bad_doc, why in ((b"not json", b"JSON object"), (b"[1]", b"JSON object"),
                             (json.dumps({"notes": "x" * 4097}).encode(), b"longer than 4096"),
                             (json.dumps({"case": "y" * 65}).encode(), b"longer than 64"),
                             (json.dumps({"case": "two\nlines"}).encode(), b"one line"),
                             (json.dumps({"notes": "bell\u0007"}).encode(), b"control characters"),
                             (json.dumps({"notes": "nul\u0000"}).encode(), b"NUL"),
                             (json.dumps({"notes": 5}).encode(), b"string")):
            st, _, body = post_body(srv, f"manager/{a}/notes", auth, bad_doc)
            rt.check(st == 400 and why in body, f"{bad_doc[:40]!r}: {st} {body!r}")
        st, _, body = post_body(srv, f"manager/{a}/notes", auth, b"{" + b" " * 20000 + b"}")
        rt.check(st == 413, f"a huge body: {st} {body!r}")
        st, _, _ = post_body(srv, "manager/123456789/notes", auth, doc)
        rt.check(st == 404, f"notes of an unknown task: {st}")
        # Exactly at the limits.
        st, _, _ = post_body(srv, f"manager/{b}/notes", auth, json.dumps({"notes": "n" * 4096, "case": "c" * 64}).encode())
        rt.check(st == 200, f"notes at the limits: {st}")
        # The owner sees them; the list shows and filters by them.
        st, _, body = get(srv, f"{a}/status", {"X-Task-Password": pa})
        doc_a = json.loads(body)
        rt.check(doc_a["notes"] == notes and doc_a["case"] == "RHBZ#2024-17", doc_a)
        st, _, body = get(srv, f"{b}/status", {"X-Task-Password": pa})
        rt.check(st == 403, f"another task's notes with a's password: {st}")
        for q in ("RHBZ%232024", "ACME", "sees+it"):
            st, _, body = get(srv, f"manager/tasks?q={q}", auth)
            rows = json.loads(body)["tasks"]
            rt.check(st == 200 and [str(t["id"]) for t in rows] == [a] and rows[0]["case"] == "RHBZ#2024-17"
                     and rows[0]["notes"] == notes, f"q={q}: {st} {body!r}")
        # A key left out stays; an empty one clears.
        st, _, body = post_body(srv, f"manager/{a}/notes", auth, json.dumps({"case": ""}).encode())
        rt.check(st == 200 and json.loads(body)["notes"] == notes and json.loads(body)["case"] == "", body)
        st, _, body = get(srv, "manager/tasks?q=RHBZ", auth)
        rt.check(json.loads(body)["tasks"] == [], body)
        wait_finished(srv.base_url, a, pa)
        wait_finished(srv.base_url, b, pb)


def test_dump_config_hides_the_password():
    ENV.set_keys(TaskManagerPassword=PASSWORD)
    import subprocess
    from daemon_helpers import SERVER
    r = subprocess.run([SERVER, "--config", ENV.config, "--dump-config"], stdout=subprocess.PIPE, text=True,
                       env=ENV.env())
    rt.check(r.returncode == 0 and "TaskManagerPassword = (set)" in r.stdout and PASSWORD not in r.stdout,
             r.stdout)
    rt.check("WebUIDir = " in r.stdout, r.stdout)


if __name__ == "__main__":
    try:
        rt.run_tests([test_static_and_headers, test_status_json_and_stages, test_manager_off_and_unset,
                      test_manager, test_manager_notes, test_dump_config_hides_the_password])
    finally:
        if PG is not None:
            PG.close()
