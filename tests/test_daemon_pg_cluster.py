#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Several daemons sharing one PostgreSQL task queue (TaskStore), against a real PostgreSQL cluster in a
temporary directory: one api and three workers over one SaveDir (each worker with its own package
cache) retrace 100 uploads, each run by exactly one worker once (the workers' logs and the store
agree); a worker killed with SIGKILL while its gdb runs loses its task to another worker once its lease
expires; PostgreSQL stopped under load makes the API answer 503 with Retry-After, and once it is back
every task finishes; two api daemons answer the same /stats. Also: api and worker roles refuse the
sqlite store, and --migrate only migrates."""

import os
import re
import shutil
import signal
import subprocess
import time

import pg_helpers
import retrace_test as rt
from daemon_helpers import SERVER, DaemonEnv, post

TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
RELEASE = MANIFEST["crashes"][0]["release"]
# Every crash of that release: small cores, several packages.
CRASHES = [c["name"] for c in MANIFEST["crashes"] if c["release"] == RELEASE and c["kind"] != "python"] or \
    [MANIFEST["crashes"][0]["name"]]
LEASE = 3  # TaskLeaseTime of these tests: a dead worker's task moves on within seconds

pg_helpers.require_postgresql()
PG = pg_helpers.PgCluster()
ENV = DaemonEnv(releases=(RELEASE,), CachePrefetch="none")
with open(ENV.config) as f:
    BASE_CONFIG = f.read()


def archive(name):
    with open(os.path.join(TOS, "crashes", name + ".tar.xz"), "rb") as f:
        return f.read()


ARCHIVES = {name: archive(name) for name in CRASHES}


class Daemon(rt.Server):
    """retrace-server with a role, its own configuration file (and, for a worker, its own CacheDir: the
    package cache is never shared). A worker serves no HTTP: ready when its log says so."""

    def __init__(self, role, name, reuse="yes", **keys):
        self.role = role
        conf = os.path.join(ENV.dir, f"{name}.conf")
        cache = "cache"
        if role != "api":
            cache = f"cache-{name}"
            if not os.path.exists(os.path.join(ENV.dir, cache)):
                shutil.copytree(ENV.cache_dir, os.path.join(ENV.dir, cache), symlinks=True)
        text = BASE_CONFIG.replace("CacheDir = cache\n", f"CacheDir = {cache}\n")
        keys = {"TaskStore": PG.uri, "TaskLeaseTime": str(LEASE), "TaskMaxAttempts": "3",
                "MaxParallelTasks": "1", "MaxQueuedTasks": "500", "ReuseIdenticalUploads": reuse,
                "DeleteTaskAfter": "0", "DeleteFailedTaskAfter": "0", **keys}
        for k, v in keys.items():
            text = re.sub(rf"^{k} = .*\n", "", text, flags=re.M) + f"{k} = {v}\n"
        with open(conf, "w") as f:
            f.write(text)
        env = ENV.env()
        env["RETRACE_SERVER_CONFIG_PATH"] = conf
        super().__init__(lambda port, tmp: [SERVER, "--config", conf, "--listen", f"127.0.0.1:{port}",
                                            "--role", role], name=name, env=env)

    def wait_ready(self, path, timeout):
        if self.role != "worker":
            return super().wait_ready(path, timeout)
        deadline = time.monotonic() + timeout
        while "claiming tasks from the shared queue" not in self.log():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            rt.check(time.monotonic() < deadline, f"{self.name} not ready:\n{self.log()}")
            time.sleep(0.05)


def upload(api, name):
    st, h, body = post(api.port, ARCHIVES[name])
    rt.check(st == 201, f"upload of {name}: {st} {body!r}")
    return h["X-Task-Id"]


def store_rows(sql):
    return PG.psql(sql)


def wait_all_finished(ids, timeout):
    deadline = time.monotonic() + timeout
    quoted = ",".join(ids)
    while True:
        rows = store_rows(f"SELECT id, status FROM tasks WHERE id IN ({quoted}) AND status = 'PENDING'")
        if not rows:
            return
        rt.check(time.monotonic() < deadline, f"{len(rows)} task(s) still PENDING after {timeout}s: {rows[:10]}")
        time.sleep(0.5)


def claims(daemons):
    """task id → the daemons whose log says they claimed it (once per claim)."""
    seen = {}
    for d in daemons:
        for m in re.finditer(r"Task (\d+) claimed by (\S+) \(attempt (\d+)\)", d.log()):
            seen.setdefault(m.group(1), []).append(d.name)
    return seen


def clear_store():
    if store_rows("SELECT to_regclass('tasks') IS NULL") == [["t"]]:
        return  # no daemon has created the schema yet
    store_rows("DELETE FROM tasks; DELETE FROM stats; DELETE FROM task_stages; DELETE FROM task_waits; "
               "DELETE FROM daemons")


def test_roles_need_a_shared_store():
    """--role api and --role worker refuse the sqlite store with a sentence saying what to set."""
    for role in ("api", "worker"):
        r = subprocess.run([SERVER, "--config", ENV.config, "--role", role, "--listen", "127.0.0.1:1"],
                           env=ENV.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        rt.check(r.returncode != 0 and "TaskStore = postgresql://" in r.stdout, f"--role {role}: {r.stdout}")
    r = subprocess.run([SERVER, "--config", ENV.config, "--role", "boss"], env=ENV.env(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    rt.check(r.returncode != 0 and "all, api or worker" in r.stdout, r.stdout)


def test_migrate_only():
    """--migrate brings the schema up to date and exits; a second run finds nothing to do; the password
    of the connection string never reaches the log."""
    conf = os.path.join(ENV.dir, "migrate.conf")
    with open(conf, "w") as f:
        f.write(BASE_CONFIG + f"TaskStore = {PG.uri}&password=s3cr3t-in-uri\n")
    env = ENV.env()
    env["RETRACE_SERVER_CONFIG_PATH"] = conf
    for _ in range(2):
        r = subprocess.run([SERVER, "--migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        rt.check(r.returncode == 0 and "up to date" in r.stdout, r.stdout)
        rt.check("s3cr3t" not in r.stdout, f"the password was logged: {r.stdout}")
    # The schema's version: the number of migrations in daemon-store-pg.c (v2: the manager's notes).
    rt.check(store_rows("SELECT version FROM retrace_schema") == [["2"]], "schema version")
    r = subprocess.run([SERVER, "--dump-config"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    rt.check("s3cr3t" not in r.stdout and "TaskStore = (set)" in r.stdout, r.stdout)


def test_password_file():
    """A role that needs a password: refused without one (a clear error), accepted with
    TaskStorePasswordFile or libpq's PGPASSWORD; the password is never printed."""
    PG.add_password_role("retrace_pw", "Pw-only-in-a-file-42")
    pwfile = os.path.join(ENV.dir, "pgpass-file")
    with open(pwfile, "w") as f:
        f.write("Pw-only-in-a-file-42\n")
    os.chmod(pwfile, 0o600)
    uri = PG.uri.replace("user=postgres", "user=retrace_pw")

    def migrate(extra_conf="", extra_env=None):
        conf = os.path.join(ENV.dir, "pw.conf")
        with open(conf, "w") as f:
            f.write(BASE_CONFIG + f"TaskStore = {uri}\n" + extra_conf)
        env = dict(ENV.env(), RETRACE_SERVER_CONFIG_PATH=conf, HOME=ENV.dir, **(extra_env or {}))
        env.pop("PGPASSWORD", None) if not extra_env else None
        r = subprocess.run([SERVER, "--migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        rt.check("Pw-only-in-a-file-42" not in r.stdout, f"the password was printed: {r.stdout}")
        return r

    r = migrate()
    rt.check(r.returncode != 0 and "password" in r.stdout and "TaskStore" in r.stdout, r.stdout)
    r = migrate(f"TaskStorePasswordFile = {pwfile}\n")
    rt.check(r.returncode == 0 and "up to date" in r.stdout, r.stdout)
    r = migrate(extra_env={"PGPASSWORD": "Pw-only-in-a-file-42"})
    rt.check(r.returncode == 0, r.stdout)
    r = migrate(f"TaskStorePasswordFile = {pwfile}-missing\n")
    rt.check(r.returncode != 0 and "TaskStorePasswordFile" in r.stdout, r.stdout)


def test_hundred_uploads_each_run_once():
    """1 api + 3 workers: 100 uploads all finish, each claimed once by one worker, which finished it."""
    clear_store()
    api = Daemon("api", "api")
    workers = [Daemon("worker", f"worker{i}") for i in range(3)]
    with api, workers[0], workers[1], workers[2]:
        api.start(ready_path="settings")
        for w in workers:
            w.start()
        ids = [upload(api, CRASHES[i % len(CRASHES)]) for i in range(100)]
        rt.check(len(set(ids)) == 100, "task ids repeat")
        wait_all_finished(ids, 600)
        rows = store_rows(f"SELECT id, status, attempts, lease_owner FROM tasks WHERE id IN ({','.join(ids)})")
        rt.check(len(rows) == 100, f"{len(rows)} tasks in the store")
        bad = [r for r in rows if r[1] != "FINISHED_SUCCESS" or r[2] != "1"]
        rt.check(not bad, f"tasks not finished once successfully: {bad}")
        seen = claims(workers)
        twice = {k: v for k, v in seen.items() if len(v) != 1}
        rt.check(not twice and set(seen) == set(ids), f"claims in the logs: {len(seen)} ids, repeated {twice}")
        finished = {}
        for w in workers:
            for m in re.finditer(r"Task (\d+) finished successfully", w.log()):
                finished.setdefault(m.group(1), []).append(w.name)
        rt.check(all(finished.get(i) == [seen[i][0]] for i in ids),
                 "a task was not finished exactly once, by the worker that claimed it")
        owners = {r[3] for r in rows}
        rt.check(len(owners) == 3, f"not every worker ran tasks: {owners}")
        rt.check("claimed" not in api.log(), "the api daemon claimed tasks")
        code, _, body = rt.http_get(api.base_url + "metrics")
        text = body.decode()
        rt.check(code == 200 and len(re.findall(r"^retrace_worker_claimed_total\{worker=", text, re.M)) == 3 and
                 re.search(r'^retrace_shared_queue_tasks\{state="unclaimed"\} 0$', text, re.M), text)


def running_gdb(root_pid):
    """A gdb process below root_pid, or None."""
    parents = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        parents[int(p)] = (int(stat[stat.rindex(")") + 2:].split()[1]), comm)
    for pid, (_, comm) in parents.items():
        if not comm.startswith("gdb"):
            continue
        up = pid
        while up in parents and up > 1:
            up = parents[up][0]
            if up == root_pid:
                return pid
    return None


def descendants(root_pid):
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], stdout=subprocess.PIPE, text=True).stdout
    children = {}
    for line in out.splitlines():
        pid, ppid = map(int, line.split())
        children.setdefault(ppid, []).append(pid)
    todo, found = [root_pid], []
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def test_killed_worker_task_finished_by_another():
    """SIGKILL to a worker while its gdb runs: after its lease (TaskLeaseTime) another worker's reaper
    requeues the task, a worker claims it again and finishes it."""
    clear_store()
    api = Daemon("api", "api")
    victim = Daemon("worker", "victim", reuse="no")
    rescuer = Daemon("worker", "rescuer", reuse="no")
    with api, victim, rescuer:
        api.start(ready_path="settings")
        victim.start()
        task = None
        for attempt in range(5):
            task = upload(api, CRASHES[attempt % len(CRASHES)])
            gdb = None
            deadline = time.monotonic() + 120
            while gdb is None and time.monotonic() < deadline:
                if store_rows(f"SELECT 1 FROM tasks WHERE id = {task} AND status != 'PENDING'"):
                    break  # finished before gdb was seen: try another upload
                gdb = running_gdb(victim.proc.pid)
                time.sleep(0.01)
            if gdb:
                break
        rt.check(gdb is not None, "gdb of the victim worker never seen running")
        doomed = descendants(victim.proc.pid)
        os.killpg(victim.proc.pid, signal.SIGKILL)
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        victim.proc.wait()
        killed_at = time.monotonic()
        rows = store_rows(f"SELECT status, lease_owner, attempts FROM tasks WHERE id = {task}")
        rt.check(rows and rows[0][0] == "PENDING" and rows[0][2] == "1", f"after the kill: {rows}")
        rescuer.start()
        wait_all_finished([task], 300)
        rows = store_rows(f"SELECT status, lease_owner, attempts FROM tasks WHERE id = {task}")
        rt.check(rows[0][0] == "FINISHED_SUCCESS" and rows[0][2] == "2" and rows[0][1].endswith(
            f":{rescuer.proc.pid}"), f"after the rescue: {rows}\n{rescuer.log()}")
        rt.check(re.search(rf"Task {task}: the lease of \S+:{victim.proc.pid} expired \(attempt 1 of 3\)",
                           rescuer.log() + api.log()), rescuer.log())
        rt.check(re.search(rf"Task {task} claimed by \S+ \(attempt 2\)", rescuer.log()), rescuer.log())
        rt.check(time.monotonic() - killed_at < 300, "took too long")
        code, _, body = rt.http_get(f"{api.base_url}{task}/log", {"X-Task-Password": "x"})
        rt.check(code in (403, 404), f"log without password: {code}")


def test_postgresql_restart_under_load():
    """PostgreSQL stopped while tasks run: the API answers 503 with Retry-After (and does not hang), the
    workers wait; once it is back every task finishes, none lost, none run twice to completion."""
    clear_store()
    # leases longer than the outage: the running tasks keep theirs and each finishes once
    api = Daemon("api", "api", TaskLeaseTime="30")
    workers = [Daemon("worker", f"worker{i}", reuse="no", TaskLeaseTime="30") for i in range(3)]
    with api, workers[0], workers[1], workers[2]:
        api.start(ready_path="settings")
        for w in workers:
            w.start()
        ids = [upload(api, CRASHES[i % len(CRASHES)]) for i in range(12)]
        # under load: wait until some ran and some wait
        deadline = time.monotonic() + 120
        while not store_rows("SELECT 1 FROM tasks WHERE status != 'PENDING'"):
            rt.check(time.monotonic() < deadline, "no task finished")
            time.sleep(0.2)
        PG.stop("fast")
        try:
            saw_503 = False
            deadline = time.monotonic() + 30
            while not saw_503 and time.monotonic() < deadline:
                t0 = time.monotonic()
                code, headers, _ = rt.http_get(f"{api.base_url}{ids[0]}", {"X-Task-Password": "x"}, timeout=10)
                rt.check(time.monotonic() - t0 < 9, "the API hung while PostgreSQL was down")
                saw_503 = code == 503 and headers.get("Retry-After") == "5"
                rt.check(code in (503, 403), f"GET /<id> while PostgreSQL is down: {code}")
                time.sleep(0.2)
            rt.check(saw_503, "no 503 with Retry-After while PostgreSQL was down")
            for path in ("stats", "metrics", "settings"):
                code, headers, _ = rt.http_get(api.base_url + path, timeout=10)
                rt.check(code == 503 and headers.get("Retry-After") == "5", f"/{path} while PostgreSQL is down: {code}")
            st, h, body = post(api.port, ARCHIVES[CRASHES[0]])
            rt.check(st == 503 and h.get("Retry-After"), f"upload while PostgreSQL is down: {st} {body!r}")
            time.sleep(2)
        finally:
            PG.start()
        ids.append(upload(api, CRASHES[0]))
        wait_all_finished(ids, 600)
        rows = store_rows(f"SELECT id, status FROM tasks WHERE id IN ({','.join(ids)})")
        rt.check(len(rows) == len(ids) and all(r[1] == "FINISHED_SUCCESS" for r in rows), f"{rows}")
        finished = {}
        for w in workers:
            for m in re.finditer(r"Task (\d+) finished successfully", w.log()):
                finished.setdefault(m.group(1), []).append(w.name)
        rt.check(all(len(finished.get(i, [])) == 1 for i in ids), f"finished: {finished}")
        for w in workers:
            rt.check(w.proc.poll() is None, f"{w.name} died:\n{w.log()}")
        code, _, _ = rt.http_get(api.base_url + "settings")
        rt.check(code == 200, f"/settings after the restart: {code}")


def test_two_apis_same_stats():
    """Two api daemons read the same store: /stats and the task list are the same from either."""
    api1, api2 = Daemon("api", "api1"), Daemon("api", "api2")
    with api1, api2:
        api1.start(ready_path="settings")
        api2.start(ready_path="settings")
        a = rt.http_get(api1.base_url + "stats", {"Accept": "application/json"})
        b = rt.http_get(api2.base_url + "stats", {"Accept": "application/json"})
        rt.check(a[0] == 200 and a[2] == b[2], f"/stats differ:\n{a[2][:500]!r}\n{b[2][:500]!r}")
        rt.check(b'"count": 0' not in a[2].split(b"totals")[1][:200], f"empty statistics: {a[2][:300]!r}")


try:
    rt.run_tests([test_roles_need_a_shared_store, test_migrate_only, test_password_file,
                  test_hundred_uploads_each_run_once,
                  test_killed_worker_task_finished_by_another, test_postgresql_restart_under_load,
                  test_two_apis_same_stats])
except BaseException:
    PG.print_log()
    raise
finally:
    PG.close()
    ENV.cleanup()
