# SPDX-License-Identifier: GPL-2.0-or-later
"""A real kernel vmcore for the tests, built once per machine and kept between runs.

    import vmcore_fixture
    fx = vmcore_fixture.ensure()       # builds it when it is missing (≈1 min), else returns at once
    fx["elf"], fx["kdump"]             # the dumps: QEMU's ELF, and kdump-compressed (zlib)
    fx["flattened"]                    # the kdump one as QEMU wrote it: makedumpfile's flattened format
    fx["repo"]                         # an RPM repository (createrepo_c) with the TestOS release 1
                                       # packages kernel, kernel-debuginfo and crash
    env = vmcore_fixture.daemon_env(fx, **keys)   # a DaemonEnv with that repository synced

    python3 tests/helpers/vmcore_fixture.py [--print]     # build it (or show where it is)

Recipe: Debian's cloud kernel (the version the linux-image-cloud-amd64 meta package depends on;
the image from linux-image-V-cloud-amd64-unsigned, the vmlinux with debug info from its -dbg
package, both fetched with `apt-get download`) boots under qemu-system-x86_64 with software
emulation into a busybox initramfs whose init loads qemu_fw_cfg and pvpanic and writes `c` to
/proc/sysrq-trigger; QEMU pauses on the panic (pvpanic, -action panic=pause), QMP reports
GUEST_PANICKED and `dump-guest-memory` writes the dump (the vmcoreinfo device puts the kernel's
vmcoreinfo note into it). The kernel is wrapped in TestOS `kernel` and `kernel-debuginfo` RPMs
(Fedora's layout: vmlinux under /usr/lib/debug/lib/modules/V/, a .build-id link; .rela.debug_*
stripped and a gdb index added, which halves the file and makes crash load it 3x faster), and the
host's crash (Debian 12: crash 8.0.2) with the libraries it needs beyond glibc and libstdc++ as
TestOS `crash`, like generate.py ships gdb.

The fixture lives in $RETRACE_VMCORE_FIXTURE_DIR (default /var/tmp/retrace-vmcore-fixture), in a
subdirectory named by the kernel version and a digest of this file (the recipe), readable by
everybody (tools/run-tests reruns the rootless suite as another user); a lock serialises builders.
The Debian packages are fetched and kept by qemu_guest.download_debs(); nothing goes into the source
tree.
"""

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "testos"))
import qemu_guest  # noqa: E402
import retrace_test as rt  # noqa: E402

ARCH = "x86_64"
DIST = "1"  # the TestOS release the kernel packages belong to
BASE = os.environ.get("RETRACE_VMCORE_FIXTURE_DIR", "/var/tmp/retrace-vmcore-fixture")
TOOLS = ("apt-get", "apt-cache", "dpkg-deb", "qemu-system-x86_64", "crash", "objcopy", "gdb-add-index",
         "rpmbuild", "createrepo_c", "cpio")
BUSYBOX = "/bin/busybox"
# The modules the guest's init loads (pvpanic for the panic event, qemu_fw_cfg for the vmcoreinfo
# note), below lib/modules/V/kernel/drivers/.
GUEST_MODULES = ("firmware/qemu_fw_cfg", "misc/pvpanic/pvpanic", "misc/pvpanic/pvpanic-mmio",
                 "misc/pvpanic/pvpanic-pci")


def log(msg):
    print(f"vmcore-fixture: {msg}", file=sys.stderr, flush=True)


run = qemu_guest.run_command


def recipe_digest():
    h = hashlib.sha256()
    for f in (os.path.abspath(__file__), os.path.join(HERE, "qemu_guest.py"),
              os.path.join(HERE, "..", "testos", "generate.py")):
        with open(f, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:12]


kernel_flavour_version = qemu_guest.cloud_kernel_version


def find_existing():
    """A finished fixture of any recipe when apt cannot say which kernel is current (offline)."""
    for d in sorted(glob.glob(os.path.join(BASE, f"*-{recipe_digest()}")), reverse=True):
        if os.path.exists(os.path.join(d, "fixture.json")):
            return d
    return None


# ---------------------------------------------------------------- the dump

def make_initramfs(work, modules):
    g = qemu_guest.Initramfs(work)
    for m in modules:
        g.add_file(m, "/lib/modules/" + os.path.basename(m))
    g.write_file("/init",
                 "#!/bin/busybox sh\n"
                 "/bin/busybox mount -t proc proc /proc\n"
                 "/bin/busybox mount -t sysfs sys /sys\n"
                 "for m in qemu_fw_cfg pvpanic pvpanic-mmio pvpanic-pci; do\n"
                 "  /bin/busybox insmod /lib/modules/$m.ko\n"
                 "done\n"
                 "echo 'retrace-fixture: crashing now'\n"
                 "echo 1 > /proc/sys/kernel/sysrq\n"
                 "echo c > /proc/sysrq-trigger\n"
                 "/bin/busybox sleep 3600\n", 0o755)
    out = os.path.join(work, "initramfs.cpio")
    g.pack(out)
    return out


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b""
        self.events = []
        self.read()  # greeting
        self.cmd("qmp_capabilities")

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QEMU closed the QMP connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def cmd(self, name, **args):
        self.sock.sendall(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        while True:
            msg = self.read()
            if "event" in msg:
                self.events.append(msg)
            elif "error" in msg:
                raise RuntimeError(f"QMP {name}: {msg['error']}")
            elif "return" in msg:
                return msg["return"]

    def wait_event(self, name, timeout):
        self.sock.settimeout(timeout)
        try:
            while not any(e["event"] == name for e in self.events):
                msg = self.read()
                if "event" in msg:
                    self.events.append(msg)
        finally:
            self.sock.settimeout(None)


def make_dumps(work, out, vmlinuz, initrd):
    qmp_path = os.path.join(work, "qmp.sock")
    console = os.path.join(out, "console.log")
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-smp", "1", "-nodefaults", "-no-reboot",
            "-display", "none", "-kernel", vmlinuz, "-initrd", initrd,
            "-append", "console=ttyS0 panic=0",
            "-serial", f"file:{console}", "-device", "pvpanic", "-device", "vmcoreinfo",
            "-action", "panic=pause", "-qmp", f"unix:{qmp_path},server=on,wait=off"]
    qemu = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        q = Qmp(qmp_path)
        t0 = time.monotonic()
        try:
            q.wait_event("GUEST_PANICKED", 300)
        except (TimeoutError, socket.timeout):
            with open(console, errors="replace") as f:
                raise RuntimeError(f"the guest did not panic within 300 s; console:\n{f.read()[-4000:]}")
        log(f"guest panicked after {time.monotonic() - t0:.1f} s")
        q.cmd("dump-guest-memory", paging=False, protocol=f"file:{os.path.join(out, 'vmcore.elf')}")
        # QEMU 7.2 writes kdump formats flattened (makedumpfile -F's stream format).
        q.cmd("dump-guest-memory", paging=False, protocol=f"file:{os.path.join(out, 'vmcore.flat')}",
              format="kdump-zlib")
        try:
            q.cmd("quit")
        except RuntimeError:
            pass
        qemu.wait(timeout=30)
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()


# ---------------------------------------------------------------- the packages

def make_packages(work, out, kver, deb_version, image_root, vmlinux, mod_debug):
    import generate as tg  # the TestOS generator's rpmbuild helpers

    builder = tg.Builder(work)
    upstream, _, debrel = deb_version.partition("-")
    version = re.sub(r"[^0-9A-Za-z.]", ".", upstream)
    release = re.sub(r"[^0-9A-Za-z.]", ".", debrel or "1")
    stages = os.path.join(work, "stage")

    # kernel: the image and System.map where Fedora keeps them.
    st = os.path.join(stages, "kernel")
    moddir = os.path.join(st, "usr/lib/modules", kver)
    os.makedirs(moddir)
    shutil.copy(os.path.join(image_root, f"boot/vmlinuz-{kver}"), os.path.join(moddir, "vmlinuz"))
    shutil.copy(os.path.join(image_root, f"boot/System.map-{kver}"), os.path.join(moddir, "System.map"))
    spec = write_kernel_spec(builder, "kernel", version, release, f"The Linux kernel {kver} of TestOS", st)
    builder.rpmbuild(spec, DIST, tg.ZSTD)

    # kernel-debuginfo: vmlinux with its build-id link, as Fedora's kernel-debuginfo has it.
    st = os.path.join(stages, "kernel-debuginfo")
    dbgdir = os.path.join(st, "usr/lib/debug/lib/modules", kver)
    os.makedirs(dbgdir)
    os.link(vmlinux, os.path.join(dbgdir, "vmlinux"))
    bid = tg.elf_build_id(vmlinux)
    if not bid:
        raise RuntimeError(f"{vmlinux} has no build-id")
    link = os.path.join(st, "usr/lib/debug/.build-id", bid[:2], bid[2:] + ".debug")
    os.makedirs(os.path.dirname(link))
    os.symlink(os.path.relpath(os.path.join(dbgdir, "vmlinux"), os.path.dirname(link)), link)
    shutil.copytree(mod_debug, dbgdir, dirs_exist_ok=True)  # kernel/drivers/…/NAME.ko, as Debian has them
    spec = write_kernel_spec(builder, "kernel-debuginfo", version, release,
                             f"Debug information for the Linux kernel {kver} of TestOS", st)
    builder.rpmbuild(spec, DIST, "w0.ufdio")  # 300 MB of DWARF: no payload compression

    # crash: the host's crash with the libraries it needs beyond glibc and libstdc++.
    st = os.path.join(stages, "crash")
    own = set()
    for pkg in ("libc6", "libstdc++6", "libgcc-s1"):
        own.update(os.path.basename(p) for p in tg.dpkg_files(pkg))
    tg.stage_file(st, "/usr/bin/crash")
    for line in run(["ldd", "/usr/bin/crash"]).splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m and os.path.basename(m.group(2)) not in own:
            tg.stage_library(st, m.group(2))
    spec = tg.write_repack_spec(builder, "crash", tg.dpkg_version("crash"), "The kernel crash dump analyser of TestOS",
                                st)
    builder.rpmbuild(spec, DIST, tg.ZSTD)

    pkgdir = os.path.join(out, "repo", "Packages")
    os.makedirs(pkgdir)
    rpms = []
    for p in builder.rpms:
        os.link(p["path"], os.path.join(pkgdir, os.path.basename(p["path"])))
        rpms.append(f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}")
    run(["createrepo_c", "--quiet", os.path.join(out, "repo")])
    return rpms, bid


def write_kernel_spec(builder, name, version, release, summary, stage):
    files = []
    for dirpath, dirnames, filenames in os.walk(stage):
        for f in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            files.append("/" + os.path.relpath(os.path.join(dirpath, f), stage))
    spec = os.path.join(builder.topdir, "SPECS", f"{name}.spec")
    with open(spec, "w") as f:
        f.write(f"""Name: {name}
Version: {version}
Release: {release}%{{?dist}}
Summary: {summary}
License: GPL-2.0-only
AutoReqProv: no
%global __os_install_post %{{nil}}
%global debug_package %{{nil}}
%global _build_id_links none

%description
{summary}. Repackaged from Debian for the TestOS test distribution.

%install
mkdir -p %{{buildroot}}
cp -a {stage}/. %{{buildroot}}/

%files
""" + "".join(f'"{p}"\n' for p in sorted(files)))
    return spec


# ---------------------------------------------------------------- build

def download(kver):
    return qemu_guest.download_debs([f"linux-image-{kver}-unsigned", f"linux-image-{kver}-dbg"])


def build(kver, target):
    t0 = time.monotonic()
    image_deb, dbg_deb = download(kver)
    deb_version = run(["dpkg-deb", "-f", image_deb, "Version"]).strip()
    work = tempfile.mkdtemp(prefix=".work-", dir=BASE)
    out = tempfile.mkdtemp(prefix=".new-", dir=BASE)
    try:
        image_root = os.path.join(work, "image")
        run(["dpkg-deb", "-x", image_deb, image_root])
        dbg_root = os.path.join(work, "dbg")
        os.makedirs(dbg_root)
        member = f"./usr/lib/debug/boot/vmlinux-{kver}"
        log("extracting vmlinux")
        # The debug files of the modules the guest loads: what VmcoreModuleDebuginfo gives crash.
        mod_members = [f"./usr/lib/debug/lib/modules/{kver}/kernel/drivers/{m}.ko" for m in GUEST_MODULES]
        subprocess.run(f"dpkg-deb --fsys-tarfile {dbg_deb} | tar -x -C {dbg_root} {member} "
                       + " ".join(mod_members), shell=True, check=True)
        mod_debug = os.path.join(work, "module-debug")
        for m in mod_members:
            dest = os.path.join(mod_debug, os.path.relpath(m, f"./usr/lib/debug/lib/modules/{kver}"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            # As they are: a module is a relocatable object whose DWARF needs its .rela.debug_*.
            shutil.copy(os.path.join(dbg_root, m), dest)
        vmlinux = os.path.join(work, "vmlinux")
        log("stripping .rela.debug_* and adding a gdb index")
        run(["objcopy", "--remove-section=.rela.debug_*", os.path.join(dbg_root, member), vmlinux])
        shutil.rmtree(dbg_root)
        run(["gdb-add-index", vmlinux])
        # qemu_fw_cfg hands the kernel's vmcoreinfo to QEMU's vmcoreinfo device (the dump's note).
        modules = [os.path.join(image_root, f"lib/modules/{kver}/kernel/drivers/{m}.ko") for m in GUEST_MODULES]
        initrd = make_initramfs(work, modules)
        log("booting the kernel to its panic")
        make_dumps(work, out, os.path.join(image_root, f"boot/vmlinuz-{kver}"), initrd)
        with open(os.path.join(out, "vmcore.flat"), "rb") as flat:
            run(["makedumpfile", "-R", os.path.join(out, "vmcore.kdump")], stdin=flat)
        log("building the kernel, kernel-debuginfo and crash packages")
        rpms, bid = make_packages(work, out, kver, deb_version, image_root, vmlinux, mod_debug)
        # The vmlinux for running crash on the host (bench, checks): a hardlink into the RPM's stage
        # would vanish with the work directory, so keep a copy-free link of our own.
        os.link(vmlinux, os.path.join(out, "vmlinux"))
        info = {"kernel_release": kver, "deb_version": deb_version, "build_id": bid, "arch": ARCH,
                "release_id": f"testos-{DIST}-{ARCH}", "dist": DIST, "packages": rpms,
                "elf": "vmcore.elf", "kdump": "vmcore.kdump", "flattened": "vmcore.flat", "repo": "repo", "vmlinux": "vmlinux",
                "recipe": recipe_digest()}
        with open(os.path.join(out, "fixture.json"), "w") as f:
            json.dump(info, f, indent=2)
        for dirpath, dirnames, filenames in os.walk(out):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if not os.path.islink(p):
                    os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)
        os.chmod(out, 0o755)
        os.rename(out, target)
    except BaseException:
        rt.rmtree(out)
        raise
    finally:
        rt.rmtree(work)
    log(f"built {target} in {time.monotonic() - t0:.1f} s")


def _paths(d):
    with open(os.path.join(d, "fixture.json")) as f:
        info = json.load(f)
    for k in ("elf", "kdump", "flattened", "repo", "vmlinux"):
        info[k] = os.path.join(d, info[k])
    info["dir"] = d
    return info


def ensure():
    """The fixture's facts and paths (dict), building it first when this machine has none."""
    missing = [t for t in TOOLS if shutil.which(t, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None]
    if not os.path.exists(BUSYBOX):
        missing.append("busybox-static")
    try:
        kver = kernel_flavour_version()
    except (RuntimeError, FileNotFoundError) as e:
        d = find_existing()
        if d:
            return _paths(d)
        rt.skip(f"no vmcore fixture and none can be built: {e}")
    target = os.path.join(BASE, f"{kver}-{recipe_digest()}")
    if os.path.exists(os.path.join(target, "fixture.json")):
        return _paths(target)  # _paths() reads fixture.json: its atime says the fixture is in use
    if missing:
        rt.skip(f"building the vmcore fixture needs {' '.join(missing)} (run tools/install-deps)")
    old = os.umask(0o022)
    try:
        os.makedirs(BASE, exist_ok=True)
        try:
            os.chmod(BASE, 0o1777)  # like /tmp: another test user may build its own fixture here
        except PermissionError:
            pass
        lock_path = os.path.join(BASE, "lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except PermissionError:
            fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not os.path.exists(os.path.join(target, "fixture.json")):
                build(kver, target)
                # Fixtures of other recipes or kernels untouched for two days are of no further use
                # (0.5 GB each); a younger one may belong to a test run of another checkout.
                for stale in glob.glob(os.path.join(BASE, "*-*")):
                    info = os.path.join(stale, "fixture.json")
                    if stale != target and os.path.exists(info) and os.access(stale, os.W_OK) and \
                            time.time() - os.stat(info).st_atime > 2 * 86400:
                        rt.rmtree(stale)
        finally:
            os.close(fd)
    finally:
        os.umask(old)
    return _paths(target)


def daemon_env(fx, **keys):
    """A DaemonEnv (daemon_helpers.py) whose testos plugin also has the fixture's repository, with
    the fixture's release synced: ready to retrace the fixture's dumps."""
    from daemon_helpers import DaemonEnv

    tos = rt.testos_dir()
    env = DaemonEnv(**keys)
    env.write_plugin("testos", {"testos": [f"file://{tos}/repos/$VER/$ARCH/os"],
                                "testos-debuginfo": [f"file://{tos}/repos/$VER/$ARCH/debug"],
                                "testos-kernel": [fx["repo"]]})
    env.sync(fx["dist"])
    return env


if __name__ == "__main__":
    fx = ensure()
    print(json.dumps(fx, indent=2))
