#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gpgcheck: a repository of TestOS packages signed with a key made for the test (rpmsign), one
package unsigned and one signed with another key. A plugin with gpgcheck = yes and gpgkey = the
first key's public half: the signed packages are imported, the other two are refused with a message
naming the package and the reason, leave nothing behind, and the sync goes on (exit status 3)."""

import glob
import os
import shutil
import subprocess
import tempfile

import retrace_test as rt
from rpmcache_helpers import Env, sync_summary

rt.require_tool("gpg", "gpgconf", "rpmsign", "createrepo_c")
TOS = rt.testos_dir()
MANIFEST = rt.testos_manifest()
GOOD_UID = "Retrace Test Signing <good@retrace.invalid>"
OTHER_UID = "Somebody Else <other@retrace.invalid>"


def package(name, release="1"):
    return next(p for p in MANIFEST["packages"] if p["name"] == name and p["dist_release"] == release)


class GnuPG:
    """A temporary GNUPGHOME (short path: gpg-agent's socket lives there) with keys made for the test."""

    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="gpg-", dir="/tmp")
        os.chmod(self.home, 0o700)
        self.env = dict(os.environ, GNUPGHOME=self.home)

    def run(self, *args, **kw):
        return subprocess.run(["gpg", "--batch", "--quiet", *args], env=self.env, check=True,
                              capture_output=True, **kw)

    def make_key(self, uid):
        self.run("--passphrase", "", "--quick-gen-key", uid, "default", "default", "never")

    def export(self, uid, path):
        with open(path, "wb") as f:
            f.write(self.run("--armor", "--export", uid).stdout)

    def sign(self, uid, rpm):
        # Debian's rpm defaults %__gpg to gpg2, which GnuPG 2.2 no longer installs.
        argv = ["rpmsign", "--addsign", "--define", f"_gpg_name {uid}", "--define", f"_gpg_path {self.home}",
                "--define", f"__gpg {shutil.which('gpg')}", rpm]
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        rt.check(r.returncode == 0, f"rpmsign failed on {rpm}:\n{r.stdout}{r.stderr}")

    def close(self):
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=self.env, capture_output=True)
        rt.rmtree(self.home)


def test_gpgcheck():
    gpg = GnuPG()
    env = Env()
    try:
        gpg.make_key(GOOD_UID)
        gpg.make_key(OTHER_UID)
        key = os.path.join(env.dir, "RPM-GPG-KEY-retrace-test")
        gpg.export(GOOD_UID, key)

        mirror = os.path.join(env.dir, "mirror")
        os.makedirs(os.path.join(mirror, "Packages"))
        copies = {}
        for name in ("libtoken", "libparse", "crashy", "crashy-cxx"):
            p = package(name)
            copies[name] = os.path.join(mirror, "Packages", os.path.basename(p["file"]))
            shutil.copy(os.path.join(TOS, p["file"]), copies[name])
        gpg.sign(GOOD_UID, copies["libtoken"])
        gpg.sign(GOOD_UID, copies["libparse"])
        gpg.sign(OTHER_UID, copies["crashy-cxx"])  # crashy stays unsigned
        sig = subprocess.run(["rpm", "-qp", "--qf", "%{RSAHEADER:pgpsig}", copies["libtoken"]], capture_output=True,
                             text=True).stdout
        rt.check("Key ID" in sig, f"rpmsign did not sign: {sig!r}")
        subprocess.run(["createrepo_c", "--quiet", mirror], check=True)

        def nevra(name):
            return os.path.basename(copies[name])[: -len(".rpm")]

        env.write_plugin("testos", {"testos": [mirror]}, f"gpgcheck = yes\ngpgkey = {key}\n")
        r = env.sync("1", ok=(3,))
        s = sync_summary(r.stdout)
        rt.check(s["listed"] == 4 and s["new"] == 2 and s["refused"] == 2, f"{s}\n{r.stderr}")
        lines = r.stderr.splitlines()

        def refusal(name, reason):
            rt.check(any(f"Refusing package {nevra(name)}" in line and reason in line for line in lines),
                     f"no refusal of {nevra(name)} for '{reason}':\n{r.stderr}")

        refusal("crashy", "package is not signed")
        refusal("crashy-cxx", "signature by an unknown or untrusted key")
        for name in ("libtoken", "libparse"):
            nvr = nevra(name).rsplit(".", 1)[0]
            rt.check(env.cache("known", "--release", "testos-1-x86_64", nvr).stdout.strip() == "known", nvr)
        for name in ("crashy", "crashy-cxx"):
            nvr = nevra(name).rsplit(".", 1)[0]
            rt.check(env.cache("known", "--release", "testos-1-x86_64", nvr, ok=(1,)).stdout.strip() == "unknown",
                     f"refused {nvr} is in the index")
        # Nothing partial: only the two signed packages' objects, nothing staged, the store verifies.
        st = env.stats()
        rt.check(st["packages"] == 2, f"{st}")
        rt.check(os.listdir(os.path.join(env.cache_dir, "tmp")) == [], "staging area not empty")
        listed = subprocess.run(["rpm", "-qpl", copies["libtoken"], copies["libparse"]], capture_output=True,
                                text=True, check=True).stdout.split()
        rt.check(st["package-files"] <= len(listed), f"refused packages left files in the index: {st}")
        rt.check("0 bad" in env.cache("verify").stdout, "verify failed")
        print(f"   signed by the plugin's key: 2 imported; unsigned {nevra('crashy')} and "
              f"{nevra('crashy-cxx')} signed by another key refused")

        # The same packages without gpgcheck are all accepted (the refusals were about signatures).
        env.write_plugin("testos", {"testos": [mirror]})
        s = sync_summary(env.sync("1").stdout)
        rt.check(s["new"] == 2 and s["refused"] == 0, f"without gpgcheck: {s}")
        rt.check(len(glob.glob(os.path.join(env.repo_dir, "packages", "*", "*.rpm"))) == 4, "store")
    finally:
        env.cleanup()
        gpg.close()


rt.run_tests([test_gpgcheck])
