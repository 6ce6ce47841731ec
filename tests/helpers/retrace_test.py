# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers shared by the Python tests and the testos generator.

- skip()/require_*(): a missing capability skips (exit 77), or fails when RETRACE_TEST_STRICT=1.
- Rootfs helpers: extract RPMs without root (rpm2cpio | cpio) and run a command chrooted into the
  result inside an unprivileged user namespace (unshare), with /proc and a minimal /dev.
- Server helpers: free loopback port, start a program, wait until it answers HTTP, stop it, print
  its log when the test fails.
"""

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77


def strict():
    return os.environ.get("RETRACE_TEST_STRICT") == "1"


def skip(reason):
    """Skip the whole test program because something it needs is missing here."""
    if strict():
        print(f"FAIL (RETRACE_TEST_STRICT=1 forbids skipping): {reason}", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(SKIP)


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def require_tool(*names):
    for n in names:
        if shutil.which(n) is None:
            skip(f"'{n}' is not installed (run tools/install-deps)")


_userns_ok = None


def userns_available():
    """True when this process can create an unprivileged user namespace with a mount namespace."""
    global _userns_ok
    if _userns_ok is None:
        r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _userns_ok = r.returncode == 0
    return _userns_ok


def userns_problem():
    """A sentence saying why user namespaces do not work here, with the fix."""
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            if f.read().strip() == "0":
                return "user namespaces are disabled (sysctl user.max_user_namespaces=0); " \
                       "enable them with: sysctl -w user.max_user_namespaces=10000"
    except OSError:
        pass
    try:
        with open("/proc/sys/kernel/unprivileged_userns_clone") as f:
            if f.read().strip() == "0":
                return "unprivileged user namespaces are disabled " \
                       "(sysctl kernel.unprivileged_userns_clone=0); enable them with: " \
                       "sysctl -w kernel.unprivileged_userns_clone=1"
    except OSError:
        pass
    r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return f"cannot create a user namespace: {r.stderr.strip()}"


def require_userns():
    if not userns_available():
        skip(userns_problem())


# ---------------------------------------------------------------- root file systems

def extract_rpms(root, rpms):
    """Unpacks RPM payloads into root without root privileges and without scriptlets."""
    os.makedirs(root, exist_ok=True)
    for rpm in rpms:
        p1 = subprocess.Popen(["rpm2cpio", rpm], stdout=subprocess.PIPE)
        p2 = subprocess.run(["cpio", "-idmu", "--quiet", "--no-absolute-filenames"],
                            stdin=p1.stdout, cwd=root, stderr=subprocess.PIPE, text=True)
        p1.stdout.close()
        if p1.wait() != 0 or p2.returncode != 0:
            raise RuntimeError(f"cannot unpack {rpm} into {root}: {p2.stderr.strip()}")


def rmtree(path):
    """rm -rf that also empties read-only directories (as packages may contain)."""
    if not os.path.lexists(path):
        return

    def onerror(func, p, exc):
        parent = os.path.dirname(p)
        with contextlib.suppress(OSError):
            os.chmod(parent, 0o755)
        with contextlib.suppress(OSError):
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o755)
        func(p)

    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if not os.path.islink(full):
                with contextlib.suppress(OSError):
                    os.chmod(full, 0o755)
    shutil.rmtree(path, onerror=onerror)


def run_in_root(root, argv, *, timeout=120, stdin=subprocess.DEVNULL, binds=(), check_rc=False):
    """Runs argv chrooted into root, in new user/mount/pid namespaces (works without root).

    /proc is fresh for the new pid namespace; /dev has null, zero, urandom bound from the host.
    binds: (host_path, path_inside) pairs bound read-write. Returns CompletedProcess."""
    dev_nodes = ["null", "zero", "urandom"]
    script = ["set -e"]
    for node in dev_nodes:
        target = os.path.join(root, "dev", node)
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        script.append(f"mount --bind /dev/{node} {shlex.quote(target)}")
    for host, inside in binds:
        target = os.path.join(root, inside.lstrip("/"))
        os.makedirs(target, exist_ok=True)
        script.append(f"mount --bind {shlex.quote(host)} {shlex.quote(target)}")
    script.append("exec chroot " + shlex.quote(root) + " " + " ".join(shlex.quote(a) for a in argv))
    os.makedirs(os.path.join(root, "proc"), exist_ok=True)
    cmd = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork",
           "--mount-proc=" + os.path.join(root, "proc"), "sh", "-c", "\n".join(script)]
    r = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, errors="replace", timeout=timeout,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "HOME": "/root"})
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} in {root} failed ({r.returncode}):\n{r.stderr}")
    return r


# ---------------------------------------------------------------- fixtures

def testos_dir():
    """The generated test distribution (tests/testos/generate.py), shared by every test."""
    d = os.environ.get("RETRACE_TESTOS_DIR")
    if not d:
        fail("RETRACE_TESTOS_DIR is not set (run the tests through meson test)")
    if not os.path.exists(os.path.join(d, "manifest.json")):
        fail(f"{d}/manifest.json is missing: the testos generator did not run or failed")
    return d


_manifest = None


def testos_manifest():
    global _manifest
    if _manifest is None:
        with open(os.path.join(testos_dir(), "manifest.json")) as f:
            _manifest = json.load(f)
    return _manifest


def testos_package_path(nevra):
    """The RPM file of a TestOS package given as name-version-release.arch."""
    for p in testos_manifest()["packages"]:
        if f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}" == nevra:
            return os.path.join(testos_dir(), p["file"])
    fail(f"{nevra} is not in the TestOS manifest")


def testos_debuginfo_for(path):
    """The -debuginfo package built from the same source package as the RPM at path."""
    src = subprocess.run(["rpm", "-qp", "--qf", "%{SOURCERPM}", path], capture_output=True, text=True,
                         check=True).stdout
    m = re.fullmatch(r"(.+)-([^-]+)-([^-]+)\.src\.rpm", src)
    name, ver, rel = m.groups()
    dist = re.search(r"\.tos(\d+)$", rel).group(1)
    debug = os.path.join(testos_dir(), "repos", dist, "x86_64", "debug", "Packages",
                         f"{name}-debuginfo-{ver}-{rel}.x86_64.rpm")
    check(os.path.exists(debug), f"no debuginfo package {debug} for {path}")
    return debug


# Packages every testos root for a crash contains (system part, shared by all crashes of a release).
TESTOS_SYSTEM = ("filesystem-", "glibc-", "libstdc++-", "python3-libs-", "gdb-")


class TestosRoots:
    """Root file systems made of testos packages: the system packages (+ glibc debuginfo) are
    extracted once per release and hardlink-copied for each crash, which adds its own packages and
    their debuginfo. Everything lives in one temporary directory; cleanup() removes it."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="retrace-test-roots-")
        self.bases = {}

    def base(self, crash):
        dist = crash["release"]
        if dist not in self.bases:
            d = os.path.join(self.tmp, f"base-{dist}")
            system = [testos_package_path(n) for n in crash["packages"] if n.startswith(TESTOS_SYSTEM)]
            glibc = next(p for p in system if os.path.basename(p).startswith("glibc-"))
            extract_rpms(d, system + [testos_debuginfo_for(glibc)])
            self.bases[dist] = d
        return self.bases[dist]

    def make(self, crash, name, packages):
        root = os.path.join(self.tmp, name)
        subprocess.run(["cp", "-al", self.base(crash), root], check=True)
        paths = [testos_package_path(n) for n in packages if not n.startswith(TESTOS_SYSTEM)]
        debug = sorted({testos_debuginfo_for(p) for p in paths})
        extract_rpms(root, paths + debug)
        return root

    def cleanup(self):
        rmtree(self.tmp)


def testos_crash_dir(crash):
    return os.path.join(testos_dir(), "crashes", crash["name"])


# A gdb backtrace line: "#1  0x... in token_next (t=...) at token.c:30" or "... from /lib64/libc.so.6".
_FRAME = re.compile(r"^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S+?) \(.*?\)(?: at (\S+):(\d+)| from (\S+))?\s*$")


def parse_gdb_frames(text):
    """The frames of a gdb "bt" in text: [{"n", "function", "file", "line"}]."""
    frames = []
    for line in text.splitlines():
        m = _FRAME.match(line)
        if m:
            frames.append({"n": int(m.group(1)), "function": m.group(2),
                           "file": os.path.basename(m.group(3)) if m.group(3) else None,
                           "line": int(m.group(4)) if m.group(4) else None})
    return frames


def frames_match(frames, expected):
    """True when expected appears in frames in order (function, file and line all equal)."""
    if not expected:
        return True
    i = 0
    for f in frames:
        e = expected[i]
        if (f["function"], f["file"], f["line"]) == (e["function"], e["file"], e["line"]):
            i += 1
            if i == len(expected):
                return True
    return False


def describe_frames(frames):
    return "\n".join(f"#{f.get('n', '?')} {f['function']} at {f['file']}:{f['line']}" for f in frames)


# ---------------------------------------------------------------- servers

def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A program started for one test: it gets a port and a temporary directory, and its output
    goes to a log file that is printed when the test fails."""

    def __init__(self, argv_for_port, *, cwd=None, env=None, name=None, ssl_context=None):
        self.port = free_port()
        self.tmpdir = tempfile.mkdtemp(prefix="retrace-test-")
        self.argv = argv_for_port(self.port, self.tmpdir)
        self.name = name or os.path.basename(self.argv[0])
        self.log_path = os.path.join(self.tmpdir, f"{self.name}.log")
        self.cwd = cwd or self.tmpdir
        self.env = env
        self.proc = None
        self.ssl_context = ssl_context
        self.base_url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}/"

    def start(self, ready_path="", timeout=30):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.wait_ready(ready_path, timeout)
        return self

    def wait_ready(self, path, timeout):
        """Polls until the program answers HTTP on path (any status): no fixed sleeps."""
        deadline = time.monotonic() + timeout
        delay = 0.01
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it was ready")
            try:
                urllib.request.urlopen(self.base_url + path, timeout=2, context=self.ssl_context).close()
                return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        raise RuntimeError(f"{self.name} did not answer on port {self.port} within {timeout}s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self._log.close()

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if exc_type is not None:
            print(f"--- log of {self.name} ({self.log_path}) ---", file=sys.stderr)
            print(self.log(), file=sys.stderr)
            print(f"--- end of log of {self.name} ---", file=sys.stderr)
        else:
            rmtree(self.tmpdir)
        return False


def http_get(url, headers=None, timeout=10):
    """Returns (status, headers, body) without raising on HTTP error codes."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def run_tests(tests):
    """Runs test functions in order, printing each name; the first failing assertion ends the run
    with its traceback (exit 1)."""
    only = sys.argv[1] if len(sys.argv) > 1 else None
    for t in tests:
        if only and only not in t.__name__:
            continue
        print(f"== {t.__name__}", flush=True)
        t()
    return 0


def file_mode_is_readonly(path):
    return not (os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


# ---------------------------------------------------------------- backtrace layout (satyr's reading)

def crashing_thread_block(bt):
    """The frames of the crashing thread: the "Thread N (…)" block of "All threads:" whose number the
    "Crashing thread: N (…)" line names (the first block when there is no such line)."""
    m = re.search(r"^Crashing thread: (\d+) ", bt, re.M)
    blocks = re.split(r"^(?=Thread \d+ )", bt.split("\nAll threads:\n", 1)[-1], flags=re.M)
    blocks = [b for b in blocks if b.startswith("Thread ")]
    for b in blocks:
        if not m or b.startswith(f"Thread {m.group(1)} "):
            return re.split(r"\n\n(?=[A-Z][^\n]*:\n)", b, maxsplit=1)[0]
    return ""


def backtrace_layout_problems(bt):
    """Lines that break satyr's reading of a backtrace as plain gdb output: a "#N" line outside the
    "Thread N (…)" blocks of "All threads:" (except one "#0" in gdb's preamble), or a line starting
    with "Thread" outside them. [] when the layout is right."""
    problems, where, preamble_frames = [], "preamble", 0
    for line in bt.splitlines():
        if line == "All threads:":
            where = "threads"
            continue
        if where == "preamble" and line.startswith("Crashing thread:"):
            where = "outside"
        elif where == "threads" and not line.startswith("Thread ") and re.fullmatch(r"[A-Z][^=#]*:", line):
            where = "outside"  # the next section's title
        if line.startswith("#"):
            if where == "preamble" and line.startswith("#0 ") and preamble_frames == 0:
                preamble_frames += 1
                continue
            if where != "threads":
                problems.append(line)
        elif line.startswith("Thread") and where != "threads":
            problems.append(line)
    return problems


def backtrace_json_problems(doc):
    """What in /<id>/backtrace.json does not follow its schema (daemon/README.md); [] when it does."""
    problems = []

    def want(obj, key, types, where):
        if not isinstance(obj, dict) or key not in obj:
            problems.append(f"{where}: no {key}")
            return None
        if not isinstance(obj[key], types) or isinstance(obj[key], bool) and bool not in types:
            problems.append(f"{where}: {key} is {obj[key]!r}")
        return obj[key]

    hexaddr = re.compile(r"0x[0-9a-f]{1,16}")
    want(doc, "version", (int,), "top")
    want(doc, "signal", (int, type(None)), "top")
    want(doc, "signal_name", (str, type(None)), "top")
    fa = want(doc, "fault_address", (str, type(None)), "top")
    if isinstance(fa, str) and not hexaddr.fullmatch(fa):
        problems.append(f"fault_address {fa!r}")
    want(doc, "crashing_thread", (int, type(None)), "top")
    want(doc, "resolution", (dict, type(None)), "top")
    dup = want(doc, "duphash", (dict, type(None)), "top")
    if isinstance(dup, dict):
        if not re.fullmatch(r"[0-9a-f]{40}", str(dup.get("hash"))):
            problems.append(f"duphash hash {dup.get('hash')!r}")
        want(dup, "component", (str, type(None)), "duphash")
    threads = want(doc, "threads", (list,), "top") or []
    if sum(1 for t in threads if isinstance(t, dict) and t.get("crashing") is True) != (1 if threads else 0):
        problems.append("not exactly one crashing thread")
    for t in threads:
        w = f"thread {t.get('number') if isinstance(t, dict) else t!r}"
        want(t, "number", (int,), w)
        want(t, "lwp", (int, type(None)), w)
        want(t, "crashing", (bool,), w)
        want(t, "frames_cut", (bool,), w)
        if isinstance(t, dict) and t.get("crashing") and t.get("number") != doc.get("crashing_thread"):
            problems.append(f"{w}: crashing but crashing_thread is {doc.get('crashing_thread')}")
        for i, f in enumerate(want(t, "frames", (list,), w) or []):
            fw = f"{w} frame {i}"
            if want(f, "index", (int,), fw) != i:
                problems.append(f"{fw}: index {f.get('index') if isinstance(f, dict) else None}")
            a = want(f, "address", (str, type(None)), fw)
            if isinstance(a, str) and not hexaddr.fullmatch(a):
                problems.append(f"{fw}: address {a!r}")
            want(f, "function", (str, type(None)), fw)
            file = want(f, "file", (str, type(None)), fw)
            line = want(f, "line", (int, type(None)), fw)
            if (file is None) != (line is None):
                problems.append(f"{fw}: file {file!r} with line {line!r}")
            want(f, "module", (str, type(None)), fw)
            b = want(f, "build_id", (str, type(None)), fw)
            if isinstance(b, str) and not re.fullmatch(r"[0-9a-f]+", b):
                problems.append(f"{fw}: build_id {b!r}")
            sc = f.get("source_context")
            if sc is not None and not (isinstance(sc, dict) and isinstance(sc.get("first_line"), int)
                                       and isinstance(sc.get("lines"), list) and 0 < len(sc["lines"]) <= 7
                                       and isinstance(line, int)
                                       and sc["first_line"] <= line < sc["first_line"] + len(sc["lines"])
                                       and all(isinstance(x, str) for x in sc["lines"])):
                problems.append(f"{fw}: source_context {sc!r}")
            if len(problems) > 20:
                return problems
    return problems


def abrt215_release_id(os_info_text, architecture):
    """The release id ABRT 2.15's abrt-retrace-client derives (get_release_id): os-release's
    REDHAT_BUGZILLA_PRODUCT else NAME, REDHAT_BUGZILLA_PRODUCT_VERSION else VERSION_ID cut at the
    first space; only "Fedora"→"fedora" (and its "Rawhide"→"rawhide") and "Red Hat Enterprise
    Linux"→"rhel" are rewritten; i686/i586 → i386. Case is kept."""
    info = {}
    for line in os_info_text.splitlines():
        k, sep, v = line.partition("=")
        if sep and k not in info:
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            info[k.strip()] = v
    name = info.get("REDHAT_BUGZILLA_PRODUCT") or info.get("NAME")
    version = info.get("REDHAT_BUGZILLA_PRODUCT_VERSION") or info.get("VERSION_ID")
    if name is None or version is None:
        raise ValueError("Can't parse OS release name or version")
    version = version.split(" ", 1)[0]
    if name == "Fedora":
        if version == "Rawhide":
            version = "rawhide"
        name = "fedora"
    elif name == "Red Hat Enterprise Linux":
        name = "rhel"
    arch = "i386" if architecture in ("i686", "i586") else architecture
    return f"{name}-{version}-{arch}"


def abrt215_supported_releases(settings_text):
    """supported_releases as the old client reads it: split at each space into at most 32 entries,
    the 32nd holding the rest of the line."""
    for row in settings_text.split("\n"):
        key, sep, value = row.partition(" ")
        if sep and key.lower() == "supported_releases":
            return value.split(" ", 31)
    return []


def abrt215_retrace(base_url, problem_dir, poll=0.25):
    """Retraces a problem directory exactly as ABRT 2.15's abrt-retrace-client talks: GET settings,
    the release check (strcmp), GET checkpackage with X-OS-Release, `tar cO … | xz -2` of coredump
    executable package os_release (+ rootdir, os_release_in_rootdir), POST create with
    X-Task-Type 0, GET /<id> until FINISHED, then backtrace and exploitable. Returns a dict with
    release_id, task, status, statuses (the bodies as puts() prints them), backtrace, exploitable,
    rating (None where the client could not read one) and saved_exploitable."""
    import urllib.request
    read = lambda name: open(os.path.join(problem_dir, name), encoding="utf-8", errors="replace").read()
    hdr = {"Accept-Charset": "UTF-8"}
    st, _, settings = http_get(base_url + "settings", hdr)
    check(st == 200, f"settings: {st}")
    release_id = abrt215_release_id(read("os_info"), read("architecture").strip())
    out = {"release_id": release_id}
    if release_id not in abrt215_supported_releases(settings.decode()):
        out["status"] = "REFUSED_RELEASE"
        return out
    st, h, body = http_get(base_url + "checkpackage",
                           {"X-Package-NVR": read("package").strip(), "X-Package-Arch": read("architecture").strip(),
                            "X-OS-Release": release_id, **hdr})
    check(st in (302, 404), f"checkpackage: unexpected {st} {body!r}")
    if st != 302:
        out["status"] = "REFUSED_PACKAGE"
        return out
    files = [f for f in ("coredump", "executable", "package", "os_release", "rootdir", "os_release_in_rootdir")
             if os.path.exists(os.path.join(problem_dir, f))]
    tar = subprocess.Popen(["tar", "cO", f"--directory={problem_dir}", *files], stdout=subprocess.PIPE,
                           stdin=subprocess.DEVNULL)
    xz = subprocess.run(["xz", "-2", "-"], stdin=tar.stdout, stdout=subprocess.PIPE, check=True)
    tar.stdout.close()
    check(tar.wait() == 0, "tar failed")
    req = urllib.request.Request(base_url + "create", data=xz.stdout, method="POST",
                                 headers={"Content-Type": "application/x-xz-compressed-tar", "X-Task-Type": "0",
                                          **hdr})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            st, h = r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        st, h = e.code, dict(e.headers)
    check(st == 201 and "X-Task-Id" in h and "X-Task-Password" in h, f"create: {st} {h}")
    task, password = h["X-Task-Id"], h["X-Task-Password"]
    out["task"], out["statuses"] = task, []
    auth = {"X-Task-Password": password, **hdr}
    deadline = time.monotonic() + 600
    while True:
        st, h, body = http_get(base_url + task, auth)
        check(st == 200, f"status: {st}")
        status, message = h.get("X-Task-Status", ""), body.decode()
        if not out["statuses"] or out["statuses"][-1] != message:
            out["statuses"].append(message)  # the client puts() it: a trailing newline would double
        if status.startswith("FINISHED"):
            break
        check(time.monotonic() < deadline, "the task did not finish")
        time.sleep(poll)
    out["status"] = status
    if status == "FINISHED_SUCCESS":
        st, _, bt = http_get(base_url + task + "/backtrace", auth)
        out["backtrace"] = bt.decode(errors="replace") if st == 200 else None
        st, _, ex = http_get(base_url + task + "/exploitable", auth)
        ex = ex.decode(errors="replace") if st == 200 else None
        out["exploitable"], out["rating"] = ex, None
        m = re.match(r": *([-+]?\d+)", ex[ex.rfind(":"):]) if ex and ":" in ex else None  # sscanf(": %d")
        if m:
            out["rating"] = int(m.group(1))
        out["saved_exploitable"] = out["rating"] is not None and out["rating"] >= 4
    return out
