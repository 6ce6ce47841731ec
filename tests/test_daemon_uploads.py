#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Uploads that attack the disk, the memory and other tasks, against a real retrace-server on loopback:
parallel xz/gzip bombs, an xz stream that needs a huge dictionary, low disk (new uploads get 507, other
users' finished tasks stay), a failed task's crash files, a task store that cannot be written, and
crash files that do not belong to the task's type."""

import concurrent.futures
import io
import os
import sqlite3
import subprocess
import tarfile
import time
import zlib

import retrace_test as rt
from daemon_helpers import SERVER, DaemonEnv, tar_of
from daemon_helpers import post as daemon_post

TOS = rt.testos_dir()
CRASH = os.path.join(TOS, "crashes", "r1-null")
ENV = DaemonEnv()
FINISHED = ("FINISHED_SUCCESS", "FINISHED_FAILURE")


def post(srv, body, ctype="application/x-xz-compressed-tar", task_type=None):
    return daemon_post(srv.port, body, ctype, task_type)


def crash_members(skip=(), **replace):
    out = []
    for f in ("coredump", "executable", "package", "os_release"):
        if f in skip:
            continue
        if f in replace:
            out.append((f, replace[f]))
            continue
        with open(os.path.join(CRASH, f), "rb") as fh:
            out.append((f, fh.read()))
    return out


def tasks_dir():
    return os.path.join(ENV.dir, "tasks")


class Zeros(io.RawIOBase):
    """n zero bytes, read in pieces: a bomb's member without holding it in memory."""

    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


def bomb(size, mode, preset=None):
    """A tar with a coredump of size zero bytes plus the small members, compressed by mode."""
    buf = io.BytesIO()
    kwargs = {"preset": preset} if preset is not None else {}
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT, **kwargs) as tar:
        for name, data in crash_members(skip=("coredump",)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("coredump")
        info.size = size
        tar.addfile(info, io.BufferedReader(Zeros(size)))
    return buf.getvalue()


def xz_claiming_dictionary(data, props):
    """The xz file data with its first block header claiming the LZMA2 dictionary size props (36: 1 GiB),
    CRC32 fixed: valid, but a decoder must reserve that much memory."""
    h = bytearray(data)
    size = (h[12] + 1) * 4
    i = 14
    for flag in (0x40, 0x80):  # compressed and uncompressed sizes, varints, when present
        if h[13] & flag:
            while h[i] & 0x80:
                i += 1
            i += 1
    rt.check(h[i] == 0x21 and h[i + 1] == 1, f"no LZMA2 filter in the block header: {bytes(h[12:12 + size])!r}")
    h[i + 2] = props
    h[12 + size - 4:12 + size] = zlib.crc32(bytes(h[12:12 + size - 4])).to_bytes(4, "little")
    return bytes(h)


def leftovers(save_dir, before):
    """Task directories and spool entries that appeared since before."""
    left = [e for e in os.listdir(save_dir) if not e.startswith("tasks.db") and e != ".incoming" and e not in before]
    incoming = os.path.join(save_dir, ".incoming")
    if os.path.isdir(incoming):
        left += [".incoming/" + e for e in os.listdir(incoming)]
    return left


def wait_status(srv, tid, password, want, timeout=120):
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        st, h, body = rt.http_get(f"{srv.base_url}{tid}", {"X-Task-Password": password})
        rt.check(st == 200, f"GET /{tid}: {st} {body!r}")
        status = h["X-Task-Status"]
        if status in want:
            return status
        time.sleep(0.2)
    rt.fail(f"task {tid} is still {status} after {timeout} s")


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_parallel_bombs():
    """20 bombs at once (xz at presets 6 and 9, gzip), each a few KiB that unpacks far beyond
    MaxUnpackedSize: every one is refused (413, or 507 when the shared disk budget runs out first), the
    xz presets whose dictionary exceeds MaxDecompressMemory already at their header, the daemon's memory
    stays bounded, and nothing is left in SaveDir."""
    os.makedirs(tasks_dir(), exist_ok=True)
    st = os.statvfs(tasks_dir())
    free = st.f_bavail * st.f_frsize
    # Room for about 256 MiB of unpacked data in all: the bombs compete for it (some may get 507).
    ENV.set_keys(MaxUnpackedSize="32M", MinStorageLeft=f"{max(free - (256 << 20), 1 << 20) >> 20}M")
    xz6 = bomb(48 << 20, "w:xz", 6)
    # xz -9's 64 MiB dictionary (props 28), without making the test run xz -9's 674 MiB encoder.
    bombs = [("xz6", xz6)] * 10 + [("xz9", xz_claiming_dictionary(xz6, 28))] * 5 + [("gz", bomb(48 << 20, "w:gz"))] * 5
    rt.check(all(len(b) < 256 << 10 for _, b in bombs), [len(b) for _, b in bombs])
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        before = set(os.listdir(tasks_dir()))
        base_rss = peak_rss_kib(srv.proc.pid)

        def send(item):
            kind, body = item
            ctype = "application/x-gzip" if kind == "gz" else "application/x-xz-compressed-tar"
            return kind, post(srv, body, ctype)

        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(send, bombs))
        counts = {}
        for kind, (status, _, body) in answers:
            counts[(kind, status)] = counts.get((kind, status), 0) + 1
            rt.check(status in (413, 507), f"{kind} bomb: {status} {body!r}")
            if kind == "xz9":
                rt.check(status == 413 and b"MaxDecompressMemory" in body, f"xz -9 bomb: {status} {body!r}")
            elif status == 413:
                rt.check(b"more than the limit" in body, f"{kind} bomb: {body!r}")
            else:
                rt.check(b"disk space" in body, f"{kind} bomb: {body!r}")
        print(f"answers: {counts}")
        peak = peak_rss_kib(srv.proc.pid)
        print(f"daemon peak RSS {peak >> 10} MiB (at start {base_rss >> 10} MiB)")
        # 20 decoders of xz -6 need about 9 MiB each; the 20 unbounded ones reached 1.3 GB. The
        # address sanitizer's quarantine and shadow memory add their own share.
        with open(f"/proc/{srv.proc.pid}/maps") as f:
            sanitized = "libasan" in f.read()
        bound = (1024 if sanitized else 400) << 10
        rt.check(peak - base_rss < bound, f"daemon peak RSS grew by {(peak - base_rss) >> 10} MiB")
        left = leftovers(tasks_dir(), before)
        rt.check(left == [], f"bombs left files in SaveDir: {left}")
        st, _, body = post(srv, tar_of(crash_members()))
        rt.check(st == 201, f"a normal upload after the bombs: {st} {body!r}")
    ENV.set_keys()


def test_xz_dictionary_limit():
    """An xz stream whose header asks for a 1 GiB dictionary is refused with 413 by MaxDecompressMemory
    before anything is decoded; the same data with its real small dictionary is accepted."""
    ENV.set_keys(MaxDecompressMemory="16M")
    good = tar_of(crash_members())
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        before = set(os.listdir(tasks_dir()))
        st, _, body = post(srv, xz_claiming_dictionary(good, 36))
        rt.check(st == 413 and b"MaxDecompressMemory" in body and b"limit of 16 MiB" in body, f"{st} {body!r}")
        rt.check(leftovers(tasks_dir(), before) == [], "the refused upload left files")
        st, _, body = post(srv, good)
        rt.check(st == 201, f"the same crash with its own dictionary: {st} {body!r}")
    ENV.set_keys()


def test_failed_task_drops_crash_files():
    """A task that fails keeps its log (readable over HTTP) and loses its crash files at once."""
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        st, h, body = post(srv, tar_of(crash_members()))
        rt.check(st == 201, f"{st} {body!r}")
        tid, pw = h["X-Task-Id"], h["X-Task-Password"]
        # No release is synced in this environment: the task fails in its analysis.
        rt.check(wait_status(srv, tid, pw, FINISHED) == "FINISHED_FAILURE", "the task did not fail")
        st, _, log = rt.http_get(f"{srv.base_url}{tid}/log", {"X-Task-Password": pw})
        rt.check(st == 200 and b"Crash files removed" in log, f"log: {st} {log!r}")
        crash = os.path.join(tasks_dir(), tid, "crash")
        rt.check(os.listdir(crash) == [], f"crash files of the failed task: {os.listdir(crash)}")


def test_type_restricted_files():
    """A coredump task may not carry a vmcore, a vmcore task no coredump; 'executable' must be a plain
    absolute path that is no sandbox mount (never /crash/…): 400 at /create, nothing left."""
    with ENV.server() as srv:
        srv.start(ready_path="settings")
        before = set(os.listdir(tasks_dir()))
        cases = [
            (crash_members() + [("vmcore", b"x" * 4096)], None, b"may not carry the file 'vmcore'"),
            (crash_members() + [("vmcore.vmem", b"x")], "1", b"may not carry the file 'vmcore.vmem'"),
            ([("vmcore", b"x" * 4096), ("coredump", b"\x7fELF")], "2", b"may not carry the file 'coredump'"),
            (crash_members(executable=b"/crash/vmcore"), None, b"sandbox adds"),
            (crash_members(executable=b"/crash/coredump\n"), None, b"sandbox adds"),
            (crash_members(executable=b"/usr/bin/../../crash/coredump"), None, b"'..'"),
            (crash_members(executable=b"/proc/self/root/etc/passwd"), None, b"sandbox adds"),
            (crash_members(executable=b"usr/bin/crashy"), None, b"absolute path"),
        ]
        for members, task_type, want in cases:
            st, _, body = post(srv, tar_of(members), task_type=task_type)
            rt.check(st == 400 and want in body, f"{[m[0] for m in members]} type {task_type}: {st} {body!r}")
        rt.check(leftovers(tasks_dir(), before) == [], "refused uploads left files")


def mount_namespace_holder(save_dir, size):
    """A process holding a mount namespace (with a user namespace when not root) in which save_dir is a
    tmpfs of size bytes; daemons enter it with nsenter. Returns (Popen, nsenter argv prefix)."""
    rt.require_tool("unshare", "nsenter")
    if os.geteuid() != 0:
        rt.require_userns()
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    holder = subprocess.Popen(unshare + ["sh", "-c", f"mount -t tmpfs -o size={size} tmpfs '{save_dir}' && "
                                         "echo mounted && exec sleep 600"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = holder.stdout.readline()
    if line.strip() != "mounted":
        holder.kill()
        rt.skip(f"cannot mount a small tmpfs in a mount namespace: {holder.stderr.read().strip()}")
    enter = ["nsenter", "-t", str(holder.pid), "-m"]
    if os.geteuid() != 0:
        enter += ["-U", "--preserve-credentials"]
    return holder, enter


def fill_to(path, filler, free_left):
    """Grows or shrinks the file filler so that about free_left bytes stay free on path's file system."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    have = os.path.getsize(filler) if os.path.exists(filler) else 0
    want = max(have + free - free_left, 0)
    with open(filler, "ab") as f:
        if want < have:
            f.truncate(want)
        else:
            chunk = bytes(1 << 20)
            while have < want:
                n = min(len(chunk), want - have)
                f.write(chunk[:n])
                have += n


def test_disk_pressure():
    """On a small file system below MinStorageLeft new uploads get 507 with what to do, uploads that
    would unpack below it stop with 507 and leave nothing, and the garbage collection deletes no other
    user's task before its time: the finished task stays readable."""
    save_dir = tasks_dir()
    os.makedirs(save_dir, exist_ok=True)
    holder, enter = mount_namespace_holder(save_dir, "24m")
    try:
        ENV.set_keys(MinStorageLeft="6M")
        view = f"/proc/{holder.pid}/root{save_dir}"

        def server(name):
            return rt.Server(lambda port, tmp: enter + [SERVER, "--config", ENV.config, "--listen",
                                                        f"127.0.0.1:{port}"], name=name, env=ENV.env())

        with server("retrace-server-1") as srv:
            srv.start(ready_path="settings")
            st, h, body = post(srv, tar_of(crash_members()))
            rt.check(st == 201, f"first upload: {st} {body!r}")
            tid, pw = h["X-Task-Id"], h["X-Task-Password"]
            status = wait_status(srv, tid, pw, FINISHED)
        filler = os.path.join(view, "filler")
        fill_to(view, filler, 2 << 20)
        # The garbage collection runs at startup: the old rule deleted finished tasks right here.
        with server("retrace-server-2") as srv:
            srv.start(ready_path="settings")
            st, _, body = post(srv, tar_of(crash_members()))
            rt.check(st == 507 and b"try again later" in body, f"upload on a full disk: {st} {body!r}")
            st, h, _ = rt.http_get(f"{srv.base_url}{tid}", {"X-Task-Password": pw})
            rt.check(st == 200 and h["X-Task-Status"] == status, f"the finished task after GC: {st} {h}")
            st, _, log = rt.http_get(f"{srv.base_url}{tid}/log", {"X-Task-Password": pw})
            rt.check(st == 200 and b"Retrace took" in log, f"its log after GC: {st} {log!r}")
            rt.check("below MinStorageLeft" in srv.log() and "no task is deleted early" in srv.log(), srv.log())
            rt.check(f"Task {tid} deleted" not in srv.log(), srv.log())
            # Room for the packed upload but not for what it unpacks to: stopped mid-way by the budget.
            fill_to(view, filler, 9 << 20)
            before = set(os.listdir(view))
            big = tar_of(crash_members(coredump=bytes(6 << 20)))
            st, _, body = post(srv, big)
            rt.check(st == 507 and b"would leave less than 6 MiB" in body, f"unpacking below the floor: {st} {body!r}")
            rt.check(leftovers(view, before) == [], f"left behind: {leftovers(view, before)}")
            os.unlink(filler)
            st, _, body = post(srv, big)
            rt.check(st == 201, f"the same upload with room: {st} {body!r}")
    finally:
        holder.kill()
        holder.wait()
        ENV.set_keys()


def test_store_failure_ends_task():
    """A task whose end cannot be written to the task store (here: another process holds the database's
    write lock) is not run again in a loop: its end is retried with a growing delay and saved as
    FINISHED_FAILURE once the store can be written."""
    ENV.set_keys(KeepFailedCrashFiles="yes")
    with ENV.server("retrace-server-1") as srv:
        srv.start(ready_path="settings")
        st, h, body = post(srv, tar_of(crash_members()))
        rt.check(st == 201, f"{st} {body!r}")
        tid, pw = h["X-Task-Id"], h["X-Task-Password"]
        wait_status(srv, tid, pw, FINISHED)
    # As after a crash mid-task: the task is PENDING again and runs at the next start.
    db = sqlite3.connect(os.path.join(tasks_dir(), "tasks.db"), timeout=30, isolation_level=None)
    db.execute("UPDATE tasks SET status = 'PENDING' WHERE id = ?", (int(tid),))
    db.execute("BEGIN IMMEDIATE")  # the write lock: every write of the daemon fails (SQLITE_BUSY)
    try:
        with ENV.server("retrace-server-2") as srv:
            srv.start(ready_path="settings")
            deadline = time.monotonic() + 60
            while "cannot save its end" not in srv.log():
                rt.check(time.monotonic() < deadline, f"the task's end was never given up on:\n{srv.log()}")
                time.sleep(0.2)
            time.sleep(6)  # three maintenance passes: a loop would queue and run the task again
            log = srv.log()
            rt.check(log.count(f"Task {tid} queued again") == 1, f"the task was queued again and again:\n{log}")
            rt.check(log.count(f"Task {tid} failed") == 1, f"the task ran more than once:\n{log}")
            st, h, _ = rt.http_get(f"{srv.base_url}{tid}", {"X-Task-Password": pw})
            rt.check(st == 200 and h["X-Task-Status"] == "PENDING", f"{st} {h}")
            db.execute("ROLLBACK")
            rt.check(wait_status(srv, tid, pw, FINISHED, timeout=90) == "FINISHED_FAILURE", "not failed")
            rt.check("its end is saved at last" in srv.log(), srv.log())
            st, _, tlog = rt.http_get(f"{srv.base_url}{tid}/log", {"X-Task-Password": pw})
            rt.check(st == 200 and b"The task store cannot be written" in tlog, f"{st} {tlog!r}")
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
        ENV.set_keys()


try:
    rt.run_tests([test_xz_dictionary_limit, test_type_restricted_files, test_failed_task_drops_crash_files,
                  test_parallel_bombs, test_store_failure_ends_task, test_disk_pressure])
finally:
    ENV.cleanup()
