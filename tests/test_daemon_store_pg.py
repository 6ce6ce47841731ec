#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs the PostgreSQL store's unit test (test-daemon-store-pg.c) against a real PostgreSQL cluster
initialised for it in a temporary directory (tests/helpers/pg_helpers.py)."""

import os
import subprocess
import sys

import pg_helpers
import retrace_test as rt

BUILD = os.environ.get("RETRACE_BUILD_DIR", "")
with pg_helpers.PgCluster() as pg:
    r = subprocess.run([os.path.join(BUILD, "tests", "test-daemon-store-pg")],
                       env=dict(os.environ, RETRACE_TEST_PG_URI=pg.uri), timeout=100)
    if r.returncode != 0:
        pg.print_log()
    sys.exit(r.returncode)
