# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared by the rpmcache tests: a private RepoDir/CacheDir/PluginDir, and the cache programs."""

import os
import re
import subprocess
import tempfile

import retrace_test as rt

BUILD = os.environ.get("RETRACE_BUILD_DIR", "")
CACHE = os.path.join(BUILD, "rpmcache", "retrace-server-cache")
REPOSYNC = os.path.join(BUILD, "rpmcache", "retrace-server-reposync")


class Env:
    """A configuration file, plugin directory, RepoDir and CacheDir in a fresh temporary directory."""

    def __init__(self, mirrors=None, name="testos", extra_plugin=""):
        self.dir = tempfile.mkdtemp(prefix="test-rpmcache-")
        self.plugins = os.path.join(self.dir, "plugins")
        os.makedirs(self.plugins)
        self.config = os.path.join(self.dir, "retrace-server.conf")
        with open(self.config, "w") as f:
            f.write("[retrace]\nRepoDir = repo\nCacheDir = cache\nPluginDir = plugins\nSyncTimeout = 10\n")
        self.cache_dir = os.path.join(self.dir, "cache")
        self.repo_dir = os.path.join(self.dir, "repo")
        tos = rt.testos_dir()
        if mirrors is None:
            mirrors = {"testos": [f"file://{tos}/repos/$VER/$ARCH/os"],
                       "testos-debuginfo": [f"file://{tos}/repos/$VER/$ARCH/debug"]}
        self.write_plugin(name, mirrors, extra_plugin)

    def write_plugin(self, name, mirrors, extra=""):
        text = (f"[plugin]\ndistribution = {name}\ndisplayrelease = TestOS\nversionlist = 1 2\n"
                "abrtparser = ^TestOS release ([0-9]+)\nguessparser = \\.tos([0-9]+)\n"
                "gdb_package = gdb\ngdb_executable = /usr/bin/gdb\ncrash_package = crash\n"
                # as plugins/testos.conf: ABRT's client spells the release from NAME="TestOS"
                + (f"clientrelease = TestOS-$VER-$ARCH, {name}-$VER-$ARCH\n" if name == "testos" else "")
                + extra)
        for repo, urls in mirrors.items():
            text += f"\n[repo {repo}]\nmirrors = " + "\n    ".join(urls) + "\n"
        with open(os.path.join(self.plugins, f"{name}.conf"), "w") as f:
            f.write(text)

    def env(self):
        e = dict(os.environ)
        e["RETRACE_SERVER_CONFIG_PATH"] = self.config
        e.pop("RETRACE_SERVER_PLUGIN_DIR", None)
        return e

    def run(self, argv, ok=(0,)):
        r = subprocess.run(argv, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=600)
        if ok is not None:
            rt.check(r.returncode in ok, f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def cache(self, *args, ok=(0,)):
        return self.run([CACHE, *args], ok=ok)

    def sync(self, version, name="testos", ok=(0,)):
        return self.run([REPOSYNC, name, version, "x86_64"], ok=ok)

    def stats(self):
        out = self.cache("stats").stdout
        return {k: float(v) for k, v in re.findall(r"^([a-z-]+): ([0-9.]+)$", out, re.M)}

    def cleanup(self):
        rt.rmtree(self.dir)


def sync_summary(stdout):
    m = re.search(r"(\d+) packages listed, (\d+) downloaded \((\d+) bytes\), (\d+) new in the cache, (\d+) refused",
                  stdout)
    rt.check(m, f"no summary line in:\n{stdout}")
    listed, downloaded, nbytes, new, refused = map(int, m.groups())
    return {"listed": listed, "downloaded": downloaded, "bytes": nbytes, "new": new, "refused": refused}
