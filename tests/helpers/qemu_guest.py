# SPDX-License-Identifier: GPL-2.0-or-later
"""A real Linux guest for tests that need a kernel set up differently from the host's (a pure
cgroup v2 hierarchy, say): Debian's cloud kernel under qemu-system-x86_64 with software emulation,
booting into a busybox initramfs that runs one shell script and powers off.

    import qemu_guest
    kernel = qemu_guest.cloud_kernel()                 # vmlinuz, downloaded once per machine
    g = qemu_guest.Initramfs()
    g.add_program("/path/to/tool")                     # with the shared libraries it needs
    g.add_file("/path/on/host", "/where/in/guest")
    console = qemu_guest.run(kernel, g, "echo hello")  # the console output, as text

The kernel is the image of the version Debian's linux-image-cloud-amd64 meta package points at,
from linux-image-V-cloud-amd64-unsigned (`apt-get download`, no root needed), kept in
$RETRACE_KERNEL_CACHE_DIR (default /var/tmp/retrace-kernel-cache, readable by every user: the
rootless rerun of the tests uses it too). Nothing goes into the source tree.
"""

import fcntl
import glob
import os
import re
import shutil
import subprocess
import tempfile

BASE = os.environ.get("RETRACE_KERNEL_CACHE_DIR", "/var/tmp/retrace-kernel-cache")
BUSYBOX = "/bin/busybox"
TOOLS = ("apt-get", "apt-cache", "dpkg-deb", "qemu-system-x86_64", "cpio", "ldd")


def missing_tools():
    """Names of the programs this module needs that are not installed (busybox must be static)."""
    missing = [t for t in TOOLS if not shutil.which(t)]
    if not os.path.exists(BUSYBOX) or "statically linked" not in subprocess.run(
            ["file", "-L", BUSYBOX], capture_output=True, text=True).stdout:
        missing.append("busybox-static")
    return missing


def run_command(argv, **kw):
    """Runs argv; its output (stdout and stderr) as text, or RuntimeError with the output's tail."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", **kw)
    if r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {' '.join(argv)}\n{r.stdout[-4000:]}")
    return r.stdout


def cloud_kernel_version():
    """'6.1.0-56-cloud-amd64': the kernel Debian's cloud meta package depends on."""
    out = run_command(["apt-cache", "depends", "linux-image-cloud-amd64"])
    m = re.search(r"Depends: linux-image-(\S+-cloud-amd64)\b", out)
    if not m:
        raise RuntimeError(f"linux-image-cloud-amd64 names no kernel (run apt-get update):\n{out}")
    return m.group(1)


def download_debs(names):
    """Paths of the .deb files of the named Debian packages, fetched with `apt-get download` into
    BASE/downloads the first time and kept there."""
    d = os.path.join(BASE, "downloads")
    os.makedirs(d, exist_ok=True)
    for p in (BASE, d):
        try:
            os.chmod(p, 0o1777)  # like /tmp: every test user may fetch what is missing
        except PermissionError:
            pass
    debs = []
    for n in names:
        found = glob.glob(os.path.join(d, f"{n}_*.deb"))
        if not found:
            with tempfile.TemporaryDirectory(dir=d) as work:
                run_command(["apt-get", "download", n], cwd=work)
                for deb in glob.glob(os.path.join(work, "*.deb")):
                    os.chmod(deb, 0o644)
                    os.rename(deb, os.path.join(d, os.path.basename(deb)))
            found = glob.glob(os.path.join(d, f"{n}_*.deb"))
        if not found:
            raise RuntimeError(f"apt-get download {n} left no .deb in {d}")
        debs.append(sorted(found)[-1])
    return debs


def cloud_kernel():
    """Path of the cloud kernel's vmlinuz, downloading and unpacking it on first use."""
    os.makedirs(BASE, exist_ok=True)
    try:
        os.chmod(BASE, 0o1777)
    except PermissionError:
        pass
    try:
        try:
            version = cloud_kernel_version()
        except RuntimeError:
            if os.geteuid() != 0:
                raise
            run_command(["apt-get", "update", "-q"])  # a fresh machine may have no package lists yet
            version = cloud_kernel_version()
    except RuntimeError:
        found = sorted(glob.glob(os.path.join(BASE, "*", "vmlinuz")))
        if found:  # apt's lists are gone (offline machine): any kernel fetched before will do
            return found[-1]
        raise
    dest = os.path.join(BASE, version)
    vmlinuz = os.path.join(dest, "vmlinuz")
    if os.path.exists(vmlinuz):
        return vmlinuz
    with open(os.path.join(BASE, f".{version}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(vmlinuz):
            return vmlinuz
        deb = download_debs([f"linux-image-{version}-unsigned"])[0]
        with tempfile.TemporaryDirectory(dir=BASE) as work:
            run_command(["dpkg-deb", "-x", deb, os.path.join(work, "x")])
            image = os.path.join(work, "x", "boot", f"vmlinuz-{version}")
            os.makedirs(dest, exist_ok=True)
            shutil.copy(image, vmlinuz + ".tmp")
            os.chmod(vmlinuz + ".tmp", 0o644)
            os.rename(vmlinuz + ".tmp", vmlinuz)
            os.chmod(dest, 0o755)
    return vmlinuz


class Initramfs:
    """A busybox initramfs: /bin/busybox with its applets, /dev /proc /sys /tmp, and what is added."""

    def __init__(self, work=None):
        self.dir = tempfile.mkdtemp(prefix="retrace-initramfs-", dir=work)
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "etc", "root", "lib/modules"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        shutil.copy(BUSYBOX, os.path.join(self.dir, "bin", "busybox"))

    def add_file(self, src, dest, mode=None):
        path = os.path.join(self.dir, dest.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copy(src, path)
        if mode is not None:
            os.chmod(path, mode)

    def write_file(self, dest, text, mode=0o644):
        path = os.path.join(self.dir, dest.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    def add_program(self, src, dest=None):
        """A dynamically linked program at dest (default: its host path) with every library ldd
        names, at the same paths as on the host."""
        self.add_file(src, dest or src, 0o755)
        for line in run_command(["ldd", src]).splitlines():
            m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
            if m and os.path.exists(m.group(1)):
                self.add_file(os.path.realpath(m.group(1)), m.group(1), 0o755)

    def pack(self, out):
        files = run_command(["find", "."], cwd=self.dir)
        with open(out, "wb") as f:
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], input=files.encode(),
                           cwd=self.dir, stdout=f, check=True)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


INIT = """#!/bin/busybox sh
# The initramfs's rootfs cannot be the source of mounts in user namespaces: copy it to a tmpfs.
if [ ! -e /.switched ]; then
  /bin/busybox mkdir /newroot
  /bin/busybox mount -t tmpfs -o size=75% root /newroot
  for f in /*; do [ "$f" = /newroot ] || /bin/busybox cp -a "$f" /newroot/; done
  /bin/busybox touch /newroot/.switched
  exec /bin/busybox switch_root /newroot /init
fi
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo '@@guest-start@@'
/bin/sh /script.sh 2>&1
echo "@@guest-end@@ $?"
poweroff -f
"""


def run(kernel, initramfs, script, memory_mib=256, timeout=600):
    """Boots kernel with initramfs, runs script as root in /bin/sh, returns what the console
    showed between the start and end markers, plus the script's exit status."""
    initramfs.write_file("/init", INIT, 0o755)
    initramfs.write_file("/script.sh", script, 0o755)
    with tempfile.TemporaryDirectory(prefix="retrace-guest-") as work:
        cpio = os.path.join(work, "initramfs.cpio")
        console = os.path.join(work, "console.log")
        initramfs.pack(cpio)
        argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(memory_mib), "-smp", "1", "-nodefaults",
                "-no-reboot", "-display", "none", "-kernel", kernel, "-initrd", cpio,
                "-append", "console=ttyS0 panic=-1 quiet", "-serial", f"file:{console}"]
        try:
            subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            pass
        with open(console, errors="replace") as f:
            text = f.read().replace("\r\n", "\n")
    start = text.find("@@guest-start@@")
    m = re.search(r"@@guest-end@@ (\d+)", text)
    if start < 0 or not m:
        raise RuntimeError(f"the guest did not run the script to its end; console:\n{text[-6000:]}")
    return text[start + len("@@guest-start@@\n"):m.start()], int(m.group(1))
