#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The sandbox's cgroup v2 limits, on a real kernel with a pure cgroup v2 hierarchy: a guest booted
under QEMU (qemu_guest.py) runs retrace-sandbox as root and as an ordinary user with a delegated
subtree. pids.max contains a fork bomb that no rlimit stops, memory.max ends a memory hog that no
RLIMIT_AS stops, the status says which limit was hit and where the cgroup was, the cgroups are
removed afterwards, a subtree that was not delegated is never touched (--cgroup require fails with
the reason, auto falls back), and the daemon's layout (a supervisor leaf, sandboxes beside it) is
used when present.

And on this host: --cgroup auto reports why it fell back, --cgroup require fails cleanly."""

import json
import os
import subprocess

import qemu_guest
import retrace_test as rt

BUILD = os.environ["RETRACE_BUILD_DIR"]
HELPER = os.path.join(BUILD, "sandbox", "retrace-sandbox")
PROBE = os.path.join(BUILD, "tests", "sandbox-probe")

missing = qemu_guest.missing_tools()
if missing:
    rt.skip(f"missing {', '.join(missing)} (tools/install-deps installs them)")

# In the guest: /cg is the cgroup2 mount with pids and memory for the root's children; "deleg" is a
# subtree delegated to uid 1000 (owner of the directory and of its procs/subtree_control files), as
# systemd's Delegate= makes one; "other" is one that was not delegated.
SCRIPT = r"""
set -u
SB=/usr/libexec/retrace-sandbox
export SB
COMMON="--root /sbroot --status-fd 3"
mkdir -p /cg && mount -t cgroup2 none /cg || exit 10
echo "+pids +memory" > /cg/cgroup.subtree_control || exit 11
echo 1 > /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null
echo "controllers: $(cat /cg/cgroup.subtree_control)"
mkdir /cg/deleg /cg/other
chown 1000:1000 /cg/deleg /cg/deleg/cgroup.procs /cg/deleg/cgroup.subtree_control /cg/deleg/cgroup.threads
chmod 777 /tmp
ulimit -u unlimited
step() { echo "@@step $1"; }
# as_tester CGROUP ARGS...: retrace-sandbox ARGS as uid 1000, the only process started in CGROUP
as_tester() {
  cg=$1; shift
  sh -c 'echo $$ > "$0/cgroup.procs" && exec su tester -s /bin/sh -c "exec $1"' "$cg" "$SB $COMMON $*"
}
status() { echo "@@status $(cat /tmp/status)"; }

step root-forkbomb
$SB $COMMON --cgroup require --rlimit nproc=infinity --pids-max 24 -- /probe forkbomb x 3>/tmp/status
echo "@@exit $?"; status

step root-memhog
$SB $COMMON --cgroup require --rlimit as=infinity --memory-max 24M -- /probe memhog 160 3>/tmp/status
echo "@@exit $?"; status

step root-left
echo "@@ls $(ls /cg | grep sandbox- | tr '\n' ' ')"

step user-delegated-forkbomb
as_tester /cg/deleg --cgroup require --rlimit nproc=infinity --pids-max 24 -- /probe forkbomb x 3>/tmp/status
echo "@@exit $?"; status

step user-supervisor-layout
as_tester /cg/deleg/retrace-supervisor --cgroup require --rlimit as=infinity --memory-max 24M -- /probe memhog 160 3>/tmp/status
echo "@@exit $?"; status

step user-left
echo "@@ls $(ls /cg/deleg | grep -E 'sandbox-|supervisor' | tr '\n' ' ')"

step user-not-delegated-require
as_tester /cg/other --cgroup require -- /probe exit 0 3>/tmp/status
echo "@@exit $?"; status

step user-not-delegated-auto
as_tester /cg/other -- /probe exit 0 3>/tmp/status
echo "@@exit $?"; status
echo "@@ls $(ls /cg/other | grep -E 'sandbox-|supervisor' | tr '\n' ' ')"
exit 0
"""


def parse_steps(console):
    """{step: {"exit": int, "status": dict, "ls": [names], "text": str}} from the guest's console."""
    steps, cur = {}, None
    for line in console.splitlines():
        if line.startswith("@@step "):
            cur = steps.setdefault(line.split()[1], {"text": ""})
        elif cur is None:
            continue
        elif line.startswith("@@exit "):
            cur["exit"] = int(line.split()[1])
        elif line.startswith("@@status "):
            try:
                cur["status"] = json.loads(line[len("@@status "):])
            except ValueError:
                cur["status"] = None
        elif line.startswith("@@ls"):
            cur["ls"] = line[len("@@ls"):].split()
        else:
            cur["text"] += line + "\n"
    return steps


def test_cgroup_limits_in_guest():
    kernel = qemu_guest.cloud_kernel()
    g = qemu_guest.Initramfs()
    try:
        g.add_program(HELPER, "/usr/libexec/retrace-sandbox")
        g.add_file(PROBE, "/sbroot/probe", 0o755)  # statically linked: a root of its own
        g.write_file("/etc/passwd", "root:x:0:0::/root:/bin/sh\ntester:x:1000:1000::/tmp:/bin/sh\n")
        g.write_file("/etc/group", "root:x:0:\ntester:x:1000:\n")
        console, rc = qemu_guest.run(kernel, g, SCRIPT)
    finally:
        g.cleanup()
    steps = parse_steps(console)
    print(console[-3000:])
    rt.check(rc == 0, f"the guest's script failed with {rc}:\n{console}")

    def step(name):
        s = steps.get(name)
        rt.check(s is not None and "exit" in s and s.get("status"), f"step {name} did not run:\n{console}")
        return s

    for name in ("root-forkbomb", "user-delegated-forkbomb"):
        s = step(name)
        st = s["status"]
        rt.check(s["exit"] == 0 and st["pids_limit_hit"] and st["cgroup"], f"{name}: {s}")
        forks = int(s["text"].split("forks ")[1].split()[0])
        # 24 tasks in all: init, the probe and its children.
        rt.check(0 < forks <= 24, f"{name}: {forks} forks under pids.max 24: {s}")
        print(f"   {name}: contained after {forks} forks in {st['cgroup']}")

    for name in ("root-memhog", "user-supervisor-layout"):
        s = step(name)
        st = s["status"]
        rt.check(st["memory_limit_hit"] and st["signal"] == "SIGKILL" and s["exit"] == 128 + 9,
                 f"{name}: memory hog not killed by memory.max: {s}")
        rt.check("done 160" not in s["text"], f"{name}: the hog got all it asked for: {s}")
        rt.check(24 << 20 >= st["peak_memory_bytes"] > 8 << 20,
                 f"{name}: peak memory {st['peak_memory_bytes']} not from memory.peak under 24M: {s}")
        print(f"   {name}: killed at {st['peak_memory_bytes'] >> 20} MiB in {st['cgroup']}")

    rt.check(step("root-forkbomb")["status"]["cgroup"].startswith("/cg/sandbox-"), str(steps))
    deleg = step("user-delegated-forkbomb")["status"]["cgroup"]
    rt.check(deleg.startswith("/cg/deleg/sandbox-"), f"delegated sandbox cgroup at {deleg}")
    rt.check(step("user-supervisor-layout")["status"]["cgroup"].startswith("/cg/deleg/sandbox-"), str(steps))
    rt.check(steps["root-left"].get("ls") == [], f"sandbox cgroups left behind: {steps['root-left']}")
    rt.check(steps["user-left"].get("ls") == ["retrace-supervisor"],
             f"the delegated subtree should hold only the supervisor leaf: {steps['user-left']}")

    s = step("user-not-delegated-require")
    rt.check(s["exit"] == 125 and "not delegated" in s["text"] and "Delegate=yes" in s["text"],
             f"--cgroup require without delegation: {s}")
    s = step("user-not-delegated-auto")
    st = s["status"]
    rt.check(s["exit"] == 0 and st["cgroup"] is None and "not delegated" in st["cgroup_problem"],
             f"--cgroup auto without delegation: {s}")
    rt.check(s.get("ls") == [], f"a cgroup that was not delegated was changed: {s}")


def test_fallback_on_this_host():
    own = open("/proc/self/cgroup").read()
    r_fd, w_fd = os.pipe()
    p = subprocess.run([HELPER, "--root", "/", "--status-fd", str(w_fd), "--", "/bin/true"],
                       capture_output=True, text=True, pass_fds=(w_fd,), timeout=60)
    os.close(w_fd)
    st = json.loads(os.fdopen(r_fd).read())
    if st["cgroup"]:
        print(f"   this host delegated {st['cgroup']} to us")
        rt.check(p.returncode == 0, p.stderr)
        return
    rt.check(p.returncode == 0 and st["cgroup_problem"], f"{p}\n{st}")
    print(f"   fallback here: {st['cgroup_problem']}")
    p = subprocess.run([HELPER, "--root", "/", "--cgroup", "require", "--", "/bin/true"], capture_output=True,
                       text=True, timeout=60)
    rt.check(p.returncode == 125 and "--cgroup require" in p.stderr and "Delegate=yes" in p.stderr,
             f"{p}\n/proc/self/cgroup:\n{own}")


rt.run_tests([test_fallback_on_this_host, test_cgroup_limits_in_guest])
