#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Prints the counts of one or more meson test runs, ending with the line 'N passed, N failed'.

    test-summary.py LABEL=build/meson-logs/testlog.json [LABEL=…]

A run whose log is missing (it did not get to run its tests) counts as one failure."""

import json
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}

total = {"passed": 0, "failed": 0, "skipped": 0}
for arg in sys.argv[1:]:
    label, _, path = arg.partition("=")
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failed = []
    try:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                t = json.loads(line)
                if t["result"] in PASS:
                    counts["passed"] += 1
                elif t["result"] in SKIP:
                    counts["skipped"] += 1
                else:
                    counts["failed"] += 1
                    failed.append(f"{t['name']} ({t['result']})")
    except FileNotFoundError:
        counts["failed"] += 1
        failed.append(f"no test log at {path}: the run did not reach its tests")
    for k in total:
        total[k] += counts[k]
    print(f"{label}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    for name in failed:
        print(f"  failed: {name}")
print(f"{total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
sys.exit(1 if total["failed"] else 0)
