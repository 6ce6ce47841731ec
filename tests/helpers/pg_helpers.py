# SPDX-License-Identifier: GPL-2.0-or-later
"""A real PostgreSQL for tests: a cluster initialised in a temporary directory, listening only on a
Unix socket in that directory (no TCP, no system service). PostgreSQL refuses to run as root, so as
root the cluster belongs to, and runs as, the unprivileged account nobody (setpriv)."""

import glob
import os
import shutil
import subprocess
import tempfile
import time

import retrace_test as rt


def pg_bindir():
    """The directory of initdb and pg_ctl (Debian keeps them out of PATH)."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    for name in ("initdb", "pg_ctl"):
        if shutil.which(name) is None:
            return None
    return os.path.dirname(shutil.which("initdb"))


def require_postgresql():
    if pg_bindir() is None:
        rt.skip("PostgreSQL's server (initdb, pg_ctl) is not installed (run tools/install-deps postgresql)")


class PgCluster:
    """initdb + pg_ctl start in a temporary directory; uri names it for TaskStore."""

    def __init__(self):
        require_postgresql()
        self.bindir = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="retrace-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = os.path.join(self.dir, "socket")
        self.log = os.path.join(self.dir, "postgresql.log")
        os.mkdir(self.socket_dir)
        self.prefix = []
        if os.geteuid() == 0:
            # nobody: present on every Debian system, owns nothing else.
            self.prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            os.chown(self.dir, 65534, 65534)
            os.chown(self.socket_dir, 65534, 65534)
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-sync", "--locale=C")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = ''\nunix_socket_directories = '{self.socket_dir}'\n"
                    "fsync = off\nmax_connections = 200\n")
        self.start()
        self.uri = f"postgresql:///postgres?host={self.socket_dir}&user=postgres"

    def run(self, tool, *args, check=True):
        r = subprocess.run(self.prefix + [os.path.join(self.bindir, tool), *args], cwd=self.dir,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        if check and r.returncode != 0:
            rt.fail(f"{tool} {' '.join(args)} failed:\n{r.stdout}")
        return r

    def start(self):
        self.run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def stop(self, mode="fast"):
        self.run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def psql(self, sql):
        """One query through psql (from the same bin directory); its rows as lists of strings."""
        r = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-A", "-t", "-F", "\t", "-h", self.socket_dir,
                            "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0:
            rt.fail(f"psql {sql!r}: {r.stderr}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def add_password_role(self, name, password):
        """A superuser role that must log in with its password (scram-sha-256), the others stay trusted."""
        self.psql(f"CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{password}'")
        hba = os.path.join(self.data, "pg_hba.conf")
        with open(hba) as f:
            text = f.read()
        with open(hba, "w") as f:
            f.write(f"local all {name} scram-sha-256\n" + text)
        self.run("pg_ctl", "-D", self.data, "reload")
        time.sleep(0.5)  # the postmaster rereads pg_hba.conf asynchronously

    def print_log(self):
        try:
            with open(self.log, errors="replace") as f:
                print("---- postgresql.log (tail) ----\n" + "".join(f.readlines()[-40:]))
        except OSError:
            pass

    def close(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.print_log()
        self.close()
