#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The test harness itself: skips turn into failures under RETRACE_TEST_STRICT=1, assertions print
file:line, and a server started through retrace_test.Server has its log printed when a test fails."""

import os
import subprocess
import sys

import retrace_test as rt

HELPER = sys.argv.pop(1)


def env(strict):
    e = dict(os.environ)
    e.pop("RETRACE_TEST_STRICT", None)
    if strict:
        e["RETRACE_TEST_STRICT"] = "1"
    return e


def test_c_skip_is_77():
    r = subprocess.run([HELPER, "skip"], env=env(False), capture_output=True, text=True)
    rt.check(r.returncode == 77, f"exit {r.returncode}, expected 77")
    rt.check("SKIP: user namespaces are not available" in r.stderr, r.stderr)


def test_c_skip_fails_when_strict():
    r = subprocess.run([HELPER, "skip"], env=env(True), capture_output=True, text=True)
    rt.check(r.returncode == 1, f"exit {r.returncode}, expected 1")
    rt.check("RETRACE_TEST_STRICT=1 forbids skipping" in r.stderr, r.stderr)


def test_c_assert_prints_location():
    r = subprocess.run([HELPER, "fail"], env=env(False), capture_output=True, text=True)
    rt.check(r.returncode == 1, f"exit {r.returncode}")
    rt.check("test-skip-helper.c:" in r.stderr and '"expected" != "fail"' in r.stderr, r.stderr)


def test_python_skip():
    code = "import retrace_test as rt; rt.skip('no tool')"
    for strict, want in ((False, 77), (True, 1)):
        r = subprocess.run([sys.executable, "-c", code], env=env(strict), capture_output=True, text=True)
        rt.check(r.returncode == want, f"strict={strict}: exit {r.returncode}, expected {want}")


def test_server_log_printed_on_failure():
    # A child test starts a real HTTP server, waits for it, then fails: the server's log must appear.
    code = """
import sys, retrace_test as rt
srv = rt.Server(lambda port, tmp: [sys.executable, '-m', 'http.server', '--bind', '127.0.0.1', str(port)],
                name='http-server')
with srv:
    srv.start()
    st, _, _ = rt.http_get(srv.base_url + 'no-such-file')
    assert st == 404, st
    raise AssertionError('deliberate failure')
"""
    r = subprocess.run([sys.executable, "-c", code], env=env(False), capture_output=True, text=True, timeout=60)
    rt.check(r.returncode != 0, "the child test should have failed")
    rt.check("--- log of http-server" in r.stderr, r.stderr)
    rt.check('"GET /no-such-file HTTP/1.1" 404' in r.stderr, r.stderr)


def test_server_stops_and_cleans_up():
    srv = rt.Server(lambda port, tmp: [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                                       "--directory", tmp], name="http-server")
    with srv:
        srv.start()
        st, _, _ = rt.http_get(srv.base_url)
        rt.check(st == 200, f"status {st}")
    rt.check(srv.proc.poll() is not None, "server still running after stop")
    rt.check(not os.path.exists(srv.tmpdir), "temporary directory left behind")


rt.run_tests([test_c_skip_is_77, test_c_skip_fails_when_strict, test_c_assert_prints_location,
              test_python_skip, test_server_log_printed_on_failure, test_server_stops_and_cleans_up])
