#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Build step of the Web UI: `npm ci` of webui/package-lock.json (xterm.js and its fit addon) into a
private directory beside OUTDIR, then the three files the task page loads copied into OUTDIR under
the bare names the daemon serves (xterm.js, xterm.css, xterm-addon-fit.js)."""

import hashlib
import os
import shutil
import subprocess
import sys


def main():
    outdir, package_json, package_lock = sys.argv[1:4]
    work = os.path.join(outdir, "..", "webui-node")
    os.makedirs(work, exist_ok=True)
    with open(package_lock, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(work, "installed.sha256")
    modules = os.path.join(work, "node_modules", "@xterm")
    if not (os.path.exists(stamp) and open(stamp).read() == digest and os.path.isdir(modules)):
        shutil.copy(package_json, os.path.join(work, "package.json"))
        shutil.copy(package_lock, os.path.join(work, "package-lock.json"))
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev"], cwd=work,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        if r.returncode != 0:
            sys.exit(f"npm ci of webui/package-lock.json failed (is the npm registry reachable? "
                     f"-Dwebui_terminal=disabled builds without the terminal):\n{r.stdout}")
        with open(stamp, "w") as f:
            f.write(digest)
    for src, name in ((os.path.join(modules, "xterm", "lib", "xterm.js"), "xterm.js"),
                      (os.path.join(modules, "xterm", "css", "xterm.css"), "xterm.css"),
                      (os.path.join(modules, "addon-fit", "lib", "addon-fit.js"), "xterm-addon-fit.js")):
        shutil.copy(src, os.path.join(outdir, name))


if __name__ == "__main__":
    main()
