#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""retrace-sandbox keeps its promises (sandbox/README.md), checked from inside by sandbox-probe over a
root made of testos packages: host files, processes and network invisible; every denied syscall
fails with EPERM (clone3 with ENOSYS), also through the 32-bit and x32 entries; no capabilities; a
read-only root with a size-limited /tmp; setuid does not elevate; no inherited fds. From outside:
exit statuses, --status-fd, the timeout and the death of the helper kill every process inside, a fork
bomb is contained, the output cap holds. And gdb from a testos root prints the expected backtrace
of each testos core, bound read-only into the sandbox.

Runs as an ordinary user and as root (then the sandbox runs as uid 65534)."""

import fcntl
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import retrace_test as rt

rt.require_tool("rpm2cpio", "cpio", "rpm")
rt.require_userns()
BUILD = os.environ["RETRACE_BUILD_DIR"]
HELPER = os.path.join(BUILD, "sandbox", "retrace-sandbox")
PROBE = os.path.join(BUILD, "tests", "sandbox-probe")
MANIFEST = rt.testos_manifest()
EXIT_TIMEOUT, EXIT_SETUP, EXIT_NOT_FOUND = 124, 125, 127


def sandbox(command, options=(), *, timeout=120, pass_fds=()):
    """Runs command in retrace-sandbox; returns (CompletedProcess, status object from --status-fd)."""
    r_fd, w_fd = os.pipe()
    try:
        argv = [HELPER, "--status-fd", str(w_fd), *options, "--", *command]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=timeout, pass_fds=(w_fd, *pass_fds))
    finally:
        os.close(w_fd)
    with os.fdopen(r_fd) as f:
        text = f.read()
    rt.check(text.endswith("\n") and text.count("\n") == 1, f"--status-fd gave {text!r}")
    return p, json.loads(text)


def text(p):
    return f"exit {p.returncode}\n--- stdout\n{p.stdout.decode(errors='replace')[-6000:]}\n" \
           f"--- stderr\n{p.stderr.decode(errors='replace')[-6000:]}"


def processes_with(token):
    """Host pids whose command line contains token (processes of the sandbox are visible from here)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def probe_root():
    """filesystem + glibc of the first testos release: a root the static probe does not need, but
    real enough to show that the sandbox works over what the daemon will give it."""
    if not hasattr(probe_root, "path"):
        crash = MANIFEST["crashes"][0]
        packages = [n for n in crash["packages"] if n.startswith(("filesystem-", "glibc-"))]
        probe_root.path = os.path.join(roots.tmp, "probe-root")
        rt.extract_rpms(probe_root.path, [rt.testos_package_path(n) for n in packages])
    return probe_root.path


def probe_options(*extra):
    return ["--root", probe_root(), "--ro-bind", PROBE, "/probe", *extra]


def test_isolation_from_inside():
    marker_dir = os.path.join(work, "host-secret")
    os.makedirs(marker_dir)
    with open(os.path.join(marker_dir, "secret"), "w") as f:
        f.write("secret\n")
    # A setuid copy of the probe: owned by root when the test runs as root, so that an elevation
    # would be visible as euid 0.
    suid_dir = os.path.join(work, "suid")
    os.makedirs(suid_dir)
    shutil.copy(PROBE, os.path.join(suid_dir, "probe"))
    os.chmod(os.path.join(suid_dir, "probe"), 0o4755)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    abstract = f"retrace-probe-{os.getpid()}"
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind("\0" + abstract)
    unix.listen()
    leaked = os.open("/dev/null", os.O_RDONLY)  # inheritable, passed to the helper: must not get in
    tmpsize = 1 << 20
    try:
        p, status = sandbox(["/probe", "isolation", "absent=/etc/shadow", f"absent={marker_dir}",
                             f"absent={os.environ['RETRACE_SOURCE_DIR']}", f"port={tcp.getsockname()[1]}",
                             f"abstract={abstract}", f"tmpsize={tmpsize}", "setuid=/suid/probe"],
                            probe_options("--tmpfs", f"/tmp:{tmpsize}", "--ro-bind", suid_dir, "/suid"),
                            pass_fds=(leaked,))
    finally:
        os.close(leaked)
        tcp.close()
        unix.close()
    out = p.stdout.decode(errors="replace")
    rt.check(p.returncode == 0 and "\n0 failures\n" in "\n" + out, text(p))
    checks = [line for line in out.splitlines() if line.startswith("ok ")]
    rt.check(len(checks) >= 60, f"only {len(checks)} checks ran:\n{out}")
    rt.check(status["exit_code"] == 0 and status["signal"] is None and not status["timed_out"], status)
    print(f"   {len(checks)} properties hold inside the sandbox")


def test_exit_status_and_status_fd():
    p, status = sandbox(["/probe", "exit", "3"], probe_options())
    rt.check(p.returncode == 3 and status["exit_code"] == 3 and status["exit_status"] == 3, (text(p), status))
    for key in ("wall_time_us", "cpu_time_us", "peak_memory_bytes", "output_dropped"):
        rt.check(isinstance(status[key], int), f"{key} missing in {status}")
    rt.check(status["peak_memory_bytes"] > 0 and status["wall_time_us"] > 0, status)

    p, status = sandbox(["/probe", "kill", str(int(signal.SIGSEGV))], probe_options())
    rt.check(p.returncode == 128 + signal.SIGSEGV and status["signal"] == "SIGSEGV"
             and status["exit_code"] is None, (text(p), status))

    p, status = sandbox(["/no/such/program"], probe_options())
    rt.check(p.returncode == EXIT_NOT_FOUND and status["exec_error"], (text(p), status))

    missing = os.path.join(work, "no-such-root")
    p, status = sandbox(["/probe", "exit", "0"], ["--root", missing])
    rt.check(p.returncode == EXIT_SETUP and missing in p.stderr.decode() and status["setup_error"]
             and missing in status["setup_error"], (text(p), status))

    # A mount point that would have to be created inside the read-only root: refused, host untouched.
    p, status = sandbox(["/probe", "exit", "0"], probe_options("--ro-bind", PROBE, "/usr/new-dir/probe"))
    rt.check(p.returncode == EXIT_SETUP and "read-only" in p.stderr.decode(), text(p))
    rt.check(not os.path.exists(os.path.join(probe_root(), "usr", "new-dir")), "the root directory was modified")

    p = subprocess.run([HELPER, "--tmpfs", "relative:1M", "--root", "/", "--", "true"], capture_output=True)
    rt.check(p.returncode == EXIT_SETUP and b"--tmpfs" in p.stderr, text(p))
    p = subprocess.run([HELPER, "--rlimit", "bogus=1", "--root", "/", "--", "true"], capture_output=True)
    rt.check(p.returncode == EXIT_SETUP and b"--rlimit" in p.stderr, text(p))


def test_timeout_kills_everything():
    token = f"retrace-timeout-{os.getpid()}"
    start = time.monotonic()
    p, status = sandbox(["/probe", "sleep-tree", token], probe_options("--timeout", "1"), timeout=60)
    left = processes_with(token)
    kill_all(left)
    rt.check(p.returncode == EXIT_TIMEOUT and status["timed_out"], (text(p), status))
    rt.check(b"ready" in p.stdout, f"the process tree never started:\n{text(p)}")
    rt.check(not left, f"processes survived the timeout: {left}")
    rt.check(time.monotonic() - start < 10, "the timeout took too long")


def test_killing_the_helper_kills_everything():
    token = f"retrace-caller-{os.getpid()}"
    helper = subprocess.Popen([HELPER, *probe_options(), "--", "/probe", "sleep-tree", token],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        line = helper.stdout.readline()
        if line != b"ready\n":
            helper.kill()
            rt.fail(f"probe did not start: {line!r} {helper.stderr.read()!r}")
        inside = [pid for pid in processes_with(token) if pid != helper.pid]
        rt.check(len(inside) >= 3, f"expected init, probe, child and grandchild, found {inside}")
        helper.kill()
        helper.wait(timeout=10)
        deadline = time.monotonic() + 10
        while processes_with(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = processes_with(token)
        kill_all(left)
        rt.check(not left, f"processes survived the death of retrace-sandbox: {left}")
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait()


# A daemon-like parent: starts the helper (with --parent-pid and --lock, as the daemon does), passes
# "ready" on with the helper's pid, then idles until it is killed.
PARENT_SCRIPT = """
import os, subprocess, sys, time
helper, lock, token = sys.argv[1], sys.argv[2], sys.argv[3]
options = sys.argv[4:]
p = subprocess.Popen([helper, "--parent-pid", str(os.getpid()), "--lock", lock, *options, "--",
                      "/probe", "sleep-tree", token], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
line = p.stdout.readline()
print(line.decode().strip(), p.pid, flush=True)
while True:
    time.sleep(60)
"""


def alive(pid):
    """pid exists and is not a zombie (an orphan is reaped by whoever adopted it, maybe late)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def lock_is_free(path):
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def test_parent_death_kills_everything():
    """kill -9 of the daemon-like parent: the helper (PR_SET_PDEATHSIG) and with it everything in the
    sandbox are gone within 2 s, and the task's lock is free again."""
    token = f"retrace-parent-{os.getpid()}"
    lock = os.path.join(work, "parent-death.lock")
    parent = subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT, HELPER, lock, token, *probe_options()],
                              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        line = parent.stdout.readline().split()
        rt.check(len(line) == 2 and line[0] == b"ready", f"the sandbox did not start: {line!r}")
        helper_pid = int(line[1])
        inside = [pid for pid in processes_with(token) if pid != helper_pid]
        rt.check(len(inside) >= 3, f"expected init, probe, child and grandchild, found {inside}")
        rt.check(not lock_is_free(lock), "the running sandbox does not hold its --lock")
        parent.kill()
        parent.wait(timeout=10)
        start = time.monotonic()
        while (processes_with(token) or alive(helper_pid)) and time.monotonic() - start < 2:
            time.sleep(0.02)
        took = time.monotonic() - start
        left = processes_with(token)
        kill_all(left)
        rt.check(not left and not alive(helper_pid),
                 f"processes survived kill -9 of the parent for 2 s: {left}, helper {helper_pid}")
        rt.check(lock_is_free(lock), "the lock is still held after the sandbox died")
        print(f"   sandbox gone {took:.3f} s after kill -9 of its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_parent_pid_and_lock():
    # A parent that is not ours (as after the caller died before the signal was armed): refused.
    p = subprocess.run([HELPER, "--parent-pid", "1", *probe_options(), "--", "/probe", "exit", "0"],
                       capture_output=True)
    rt.check(p.returncode == EXIT_SETUP and b"--parent-pid 1" in p.stderr, text(p))

    # While an older sandbox of the task holds the lock, the new one waits; at its timeout nothing ran.
    lock = os.path.join(work, "task.lock")
    holder = open(lock, "a")
    fcntl.flock(holder, fcntl.LOCK_EX)
    p, status = sandbox(["/probe", "exit", "0"], probe_options("--lock", lock, "--timeout", "1"))
    rt.check(p.returncode == EXIT_TIMEOUT and status["timed_out"] and status["exit_code"] is None
             and b"waiting for --lock" in p.stderr and status["lock_wait_us"] >= 900000, (text(p), status))
    # The caller's own lock, passed with --lock-fd: kept, not waited for.
    p, status = sandbox(["/probe", "exit", "0"], probe_options("--lock-fd", str(holder.fileno()), "--timeout", "5"),
                        pass_fds=(holder.fileno(),))
    rt.check(p.returncode == 0 and status["lock_wait_us"] < 500000, (text(p), status))
    # Released while the next one waits: it then runs.
    r_fd, w_fd = os.pipe()
    helper = subprocess.Popen([HELPER, "--status-fd", str(w_fd), *probe_options("--lock", lock, "--timeout", "20"),
                               "--", "/probe", "exit", "0"], pass_fds=(w_fd,), stdout=subprocess.DEVNULL)
    os.close(w_fd)
    time.sleep(0.5)
    rt.check(helper.poll() is None, "the sandbox did not wait for the lock")
    holder.close()
    rt.check(helper.wait(timeout=20) == 0, "the sandbox did not run after the lock was released")
    with os.fdopen(r_fd) as f:
        status = json.loads(f.read())
    rt.check(status["exit_code"] == 0 and status["lock_wait_us"] >= 400000, status)
    rt.check(lock_is_free(lock), "the lock is held after the sandbox ended")


def test_fork_bomb_is_contained():
    token = f"retrace-forkbomb-{os.getpid()}"
    p, status = sandbox(["/probe", "forkbomb", token], probe_options("--rlimit", "nproc=40"), timeout=120)
    left = processes_with(token)
    kill_all(left)
    out = p.stdout.decode()
    rt.check(p.returncode == 0 and out.startswith("forks "), text(p))
    forks = int(out.split()[1])
    rt.check(0 < forks < 40, f"the fork bomb made {forks} processes with nproc=40")
    rt.check(not left, f"fork bomb processes survived: {len(left)}")
    print(f"   fork bomb stopped after {forks} forks")


def test_fork_bomb_stops_at_the_default_ceiling():
    """Without a cgroup and without --rlimit nproc: the pids ceiling (default 64 tasks) holds."""
    token = f"retrace-forkbomb-default-{os.getpid()}"
    p, status = sandbox(["/probe", "forkbomb", token, "hold"], probe_options("--cgroup", "no", "--timeout", "3"),
                        timeout=60)
    left = processes_with(token)
    kill_all(left)
    out = p.stdout.decode()
    rt.check(out.startswith("forks "), text(p))
    forks = int(out.split()[1])
    rt.check(0 < forks < 64 and status["pids_limit_hit"] and status["peak_tasks"] <= 65, (forks, status))
    rt.check(b"--pids-max 64" in p.stderr, text(p))
    rt.check(not left, f"fork bomb processes survived: {len(left)}")
    print(f"   fork bomb stopped after {forks} forks, {status['peak_tasks']} tasks at most")


def test_memory_ceiling_holds_for_the_whole_tree():
    """Four processes, each far under its own address-space limit, together over --memory-max: init
    sees the sum pass the ceiling and kills everything; the status says so and has the real peak."""
    p, status = sandbox(["/probe", "memhog-split", "4", "80"],
                        probe_options("--cgroup", "no", "--rlimit", "as=1G", "--memory-max", "200M", "--timeout", "60"),
                        timeout=120)
    rt.check(p.returncode == 128 + signal.SIGKILL and status["signal"] == "SIGKILL" and status["memory_limit_hit"]
             and not status["timed_out"], (text(p), status))
    rt.check(status["peak_memory_bytes"] > 200 << 20, status)
    rt.check(b"--memory-max" in p.stderr and b"everything inside was killed" in p.stderr, text(p))
    print(f"   killed at {status['peak_memory_bytes'] >> 20} MiB (ceiling 200 MiB)")

    # Under the ceiling nothing happens, and the peak is the command's, not the helper's.
    p, status = sandbox(["/probe", "memhog", "100"], probe_options("--cgroup", "no", "--memory-max", "200M"))
    rt.check(p.returncode == 0 and not status["memory_limit_hit"] and status["peak_memory_bytes"] >= 100 << 20,
             (text(p), status))


def makedumpfile():
    for path in ("/usr/sbin/makedumpfile", "/usr/bin/makedumpfile"):
        if os.access(path, os.X_OK):
            return path
    return None


def ldd_files(program):
    """The files the host's dynamic linker loads for program, by ldd: the interpreter and libraries."""
    out = subprocess.run(["ldd", program], capture_output=True, text=True, check=True).stdout
    files = set()
    for line in out.splitlines():
        words = line.split()
        path = words[2] if len(words) >= 3 and words[1] == "=>" else words[0]
        if path.startswith("/"):
            files.add(os.path.normpath(path))
    return files


def test_program_root_holds_only_the_program():
    """The root the flattened-vmcore converter gets (--empty-root --ro-bind-program makedumpfile, its
    output directory, a /tmp): listed from inside, it holds makedumpfile, the files ldd names for it,
    /etc/ld.so.cache, and nothing else; makedumpfile converts a flattened dump there."""
    program = makedumpfile() or "/bin/sh"  # the listing needs a dynamic program; makedumpfile if present
    out_dir = os.path.join(work, "converted")
    os.makedirs(out_dir)
    os.chmod(out_dir, 0o777)  # written by uid 65534 when the test runs as root
    options = ["--empty-root", "--ro-bind-program", program, "--bind", out_dir, "/out", "--tmpfs", "/tmp"]
    p, status = sandbox(["/probe", "tree"], [*options, "--ro-bind", PROBE, "/probe"])
    rt.check(p.returncode == 0, text(p))
    listed = {line[2:]: line[0] for line in p.stdout.decode().splitlines()}
    files = {path for path, kind in listed.items() if kind == "f"}
    # ldd names libraries by the path it found them under; inside they are at the same paths (a
    # library that ldd reaches through a symlinked directory is bound at the path the cache names).
    expected = {program, "/probe", "/etc/ld.so.cache"} | ldd_files(program)
    # (the same file may appear under two names: libc needs ld.so by soname, found through the cache)
    real_expected = {os.path.realpath(f) for f in expected}
    beyond = sorted(f for f in files if f != "/probe" and os.path.realpath(f) not in real_expected)
    rt.check(not beyond, f"files beyond the program's own: {beyond}")
    missing = [f for f in ldd_files(program) if f not in files and os.path.realpath(f) not in
               {os.path.realpath(x) for x in files}]
    rt.check(not missing, f"libraries of {program} missing inside: {missing}\n{sorted(listed)}")
    parents = {os.path.dirname(f) for f in files}
    while any(os.path.dirname(d) not in parents for d in parents if d != "/"):
        parents |= {os.path.dirname(d) for d in parents}
    dirs = {path for path, kind in listed.items() if kind == "d"}
    rt.check(dirs <= parents | {"/out", "/tmp"}, f"directories beyond the binds: {sorted(dirs - parents)}")
    rt.check(not os.listdir(out_dir) and "/out" in dirs and "/tmp" in dirs, sorted(listed))
    print(f"   the root of {program} holds {len(files)} files: {' '.join(sorted(files))}")

    if program == "/bin/sh":
        print("   makedumpfile is not installed: the conversion itself is not tried")
        return
    # A flattened stream (makedumpfile -F's format, big-endian) of one 16-byte block, as QEMU writes.
    data = b"hello flattened\n"
    flat = (b"makedumpfile".ljust(16, b"\0") + struct.pack(">qq", 1, 1)).ljust(4096, b"\0")
    flat += struct.pack(">qq", 0, len(data)) + data + struct.pack(">qq", -1, -1)
    dump = os.path.join(work, "vmcore.flat")
    with open(dump, "wb") as f:
        f.write(flat)
    with open(dump, "rb") as stdin:
        p = subprocess.run([HELPER, *options, "--", program, "-R", "/out/vmcore"], stdin=stdin,
                           capture_output=True, timeout=60)
    rt.check(p.returncode == 0, text(p))
    with open(os.path.join(out_dir, "vmcore"), "rb") as f:
        rt.check(f.read() == data, "makedumpfile -R wrote something else")

    # A program or library that cannot be found is a setup failure naming it.
    p = subprocess.run([HELPER, "--empty-root", "--ro-bind-program", "/no/such/program", "--", "/x"],
                       capture_output=True)
    rt.check(p.returncode == EXIT_SETUP and b"/no/such/program" in p.stderr, text(p))
    p = subprocess.run([HELPER, "--empty-root", "--root", "/", "--", "/x"], capture_output=True)
    rt.check(p.returncode == EXIT_SETUP and b"--empty-root" in p.stderr, text(p))


def test_tty_and_no_exec():
    """--tty: the command runs on the caller's pseudo-terminal as its controlling terminal (^C typed on
    it reaches the command as SIGINT). --no-exec: nothing inside executes another program, even one
    the root holds (Landlock); without it the same program runs."""
    import pty
    import select
    bash, true = os.path.realpath("/bin/bash"), os.path.realpath("/usr/bin/true")
    script = ('[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo ON-A-TTY; '
              f'{true} && echo EXEC-RAN || echo EXEC-REFUSED; '
              'trap "echo GOT-SIGINT; exit 3" INT; echo READY; while :; do read -t 1 x; done')

    def run(*extra):
        master, slave = pty.openpty()
        p = subprocess.Popen([HELPER, "--empty-root", "--ro-bind-program", bash, "--ro-bind-program", true,
                              "--tty", *extra, "--timeout", "60", "--", bash, "-c", script],
                             stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(slave)
        out = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and b"GOT-SIGINT" not in out:
            r, _, _ = select.select([master], [], [], 1)
            if not r:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if b"READY" in out and b"\x03" not in out:
                os.write(master, b"\x03")  # ^C on the terminal
                out += b"\x03"
        rc = p.wait(timeout=60)
        os.close(master)
        return rc, out.decode(errors="replace"), p.stderr.read().decode(errors="replace")

    rc, out, err = run()
    rt.check("ON-A-TTY" in out and "EXEC-RAN" in out and "GOT-SIGINT" in out and rc == 3, f"{rc} {out!r} {err}")
    rc, out, err = run("--no-exec")
    rt.check("ON-A-TTY" in out and "EXEC-REFUSED" in out and "Permission denied" in out and "GOT-SIGINT" in out
             and rc == 3, f"--no-exec: {rc} {out!r} {err}")
    p = subprocess.run([HELPER, "--empty-root", "--tty", "--", "/x"], stdin=subprocess.DEVNULL, capture_output=True)
    rt.check(p.returncode == EXIT_SETUP and b"--tty needs a terminal" in p.stderr, text(p))


def test_output_limit():
    p, status = sandbox(["/probe", "spew", "100000"], probe_options("--output-limit", "1000"))
    rt.check(p.returncode == 0 and len(p.stdout) == 1000, f"{len(p.stdout)} bytes passed\n{text(p)[:2000]}")
    rt.check(status["output_limit_hit"] and status["output_dropped"] == 99000 and status["output_bytes"] == 1000,
             status)
    rt.check(b"99000 bytes dropped" in p.stderr, p.stderr)
    p, status = sandbox(["/probe", "spew", "1000"], probe_options("--output-limit", "1000"))
    rt.check(len(p.stdout) == 1000 and not status["output_limit_hit"] and status["output_dropped"] == 0, status)


def test_gdb_backtraces_in_sandbox():
    for crash in MANIFEST["crashes"]:
        root = roots.make(crash, crash["name"], crash["packages"])
        core = os.path.join(rt.testos_crash_dir(crash), "coredump")
        p, status = sandbox(["/usr/bin/gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "info threads",
                             "-ex", "bt 200", crash["executable"], "/coredump"],
                            ["--root", root, "--ro-bind", core, "/coredump", "--tmpfs", "/tmp",
                             "--setenv", "HOME", "/tmp", "--setenv", "LANG", "C", "--timeout", "300"],
                            timeout=400)
        out = p.stdout.decode(errors="replace")
        rt.check(p.returncode == 0, f"{crash['name']}: gdb failed\n{text(p)}")
        rt.check(f"Core was generated by `{crash['executable']}" in out, text(p))
        rt.check("Python not initialized" not in out + p.stderr.decode(errors="replace"), text(p))
        frames = rt.parse_gdb_frames(out)
        rt.check(rt.frames_match(frames, crash["frames"]),
                 f"{crash['name']}: backtrace lacks the expected frames\nexpected:\n"
                 f"{rt.describe_frames(crash['frames'])}\ngot:\n{text(p)}")
        print(f"   {crash['name']}: {len(frames)} frames, expected frames present "
              f"({status['wall_time_us'] / 1e6:.2f} s)")
        rt.rmtree(root)


roots = rt.TestosRoots()
work = tempfile.mkdtemp(prefix="retrace-test-sandbox-")
try:
    rt.run_tests([test_isolation_from_inside, test_exit_status_and_status_fd, test_timeout_kills_everything,
                  test_killing_the_helper_kills_everything, test_parent_death_kills_everything,
                  test_parent_pid_and_lock, test_fork_bomb_is_contained,
                  test_fork_bomb_stops_at_the_default_ceiling, test_memory_ceiling_holds_for_the_whole_tree,
                  test_program_root_holds_only_the_program, test_tty_and_no_exec, test_output_limit,
                  test_gdb_backtraces_in_sandbox])
finally:
    roots.cleanup()
    rt.rmtree(work)
