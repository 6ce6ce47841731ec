#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tools/install-deps: quiet when nothing is missing; as non-root with something missing it prints
the exact apt-get command to run and fails, instead of failing obscurely."""

import os
import shutil
import subprocess
import tempfile

import retrace_test as rt

# A copy the unprivileged user can read even when the source tree is private (as CI's clone is).
_tmp = tempfile.mkdtemp(prefix="test-install-deps-")
os.chmod(_tmp, 0o755)
SCRIPT = os.path.join(_tmp, "install-deps")
shutil.copy(os.path.join(os.environ["RETRACE_SOURCE_DIR"], "tools", "install-deps"), SCRIPT)
os.chmod(SCRIPT, 0o755)


def as_unprivileged(argv):
    """Runs argv as an ordinary user: as is when we are one, as nobody (setpriv) when root."""
    if os.getuid() != 0:
        return argv
    if shutil.which("setpriv") is None:
        rt.skip("setpriv (util-linux) is missing")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]


def test_nothing_missing_is_silent():
    r = subprocess.run(as_unprivileged(["bash", SCRIPT]), capture_output=True, text=True)
    rt.check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    rt.check(r.stdout == "" and r.stderr == "", f"not quiet: {r.stdout!r} {r.stderr!r}")


def test_missing_package_as_non_root_prints_command():
    missing = "retrace-test-no-such-package"
    r = subprocess.run(as_unprivileged(["bash", SCRIPT, missing]), capture_output=True, text=True)
    rt.check(r.returncode == 1, f"exit {r.returncode}")
    rt.check(f"Missing Debian packages: {missing}" in r.stderr, r.stderr)
    rt.check(f"sudo apt-get update && sudo apt-get install -y --no-install-recommends {missing}" in r.stderr,
             r.stderr)


try:
    rt.run_tests([test_nothing_missing_is_silent, test_missing_package_as_non_root_prints_command])
finally:
    shutil.rmtree(_tmp)
