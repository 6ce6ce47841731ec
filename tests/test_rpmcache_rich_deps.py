#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Rich (boolean) dependencies in the debugger's closure: or, and, with, without, if/else, unless —
through a package built with rpmbuild whose Requires use them, closed over a synced TestOS release."""

import os
import subprocess
import tempfile

import retrace_test as rt
from rpmcache_helpers import Env

rt.require_tool("rpmbuild")

SPEC = """Name: richy
Version: 1.0
Release: 1
Summary: needs things through rich dependencies
License: MIT
BuildArch: noarch
Requires: (libtoken or no-such-package-a)
Requires: (no-such-package-b or libparse)
Requires: (gdb with glibc)
Requires: (crashy-cxx if crashy)
Requires: (libstdc++ if no-such-package-d else python3-libs)
Requires: (filesystem or no-such-package-c)
Requires: (crashy without no-such-package-e)
%description
Test package.
%files
"""


def build_rpm(tmp):
    top = os.path.join(tmp, "rpmbuild")
    spec = os.path.join(tmp, "richy.spec")
    with open(spec, "w") as f:
        f.write(SPEC)
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", spec], check=True,
                   capture_output=True)
    return os.path.join(top, "RPMS", "noarch", "richy-1.0-1.noarch.rpm")


def test_rich_dependencies_in_the_closure():
    env = Env()
    tmp = tempfile.mkdtemp(prefix="test-rich-")
    try:
        # The plugin's debugger is richy, so that the closure starts from it.
        with open(os.path.join(env.plugins, "testos.conf")) as f:
            text = f.read()
        with open(os.path.join(env.plugins, "testos.conf"), "w") as f:
            f.write(text.replace("gdb_package = gdb", "gdb_package = richy"))
        env.sync("1")
        env.cache("import", "--release", "testos-1-x86_64", "--repo", "local", build_rpm(tmp))
        r = env.cache("closure", "testos-1-x86_64")
        names = {line.rsplit("-", 2)[0] for line in r.stdout.split()}
        for want in ("richy", "libtoken", "libparse", "gdb", "glibc", "filesystem", "crashy", "crashy-cxx",
                     "python3-libs"):
            rt.check(want in names, f"{want} missing from the closure: {sorted(names)}\n{r.stderr}")
        for unwanted in ("libtoken-devel", "libparse-devel"):
            rt.check(unwanted not in names, f"{unwanted} should not be in the closure: {sorted(names)}")
        rt.check("no-such-package" not in r.stderr, f"an alternative was reported unresolved:\n{r.stderr}")
        print(f"   closure of richy: {len(names)} packages: {' '.join(sorted(names))}")
    finally:
        env.cleanup()
        rt.rmtree(tmp)


rt.run_tests([test_rich_dependencies_in_the_closure])
