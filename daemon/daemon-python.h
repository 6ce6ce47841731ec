/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/* Whether the crashed executable is a Python interpreter ("/usr/bin/python3.11", "python3"). Pure. */
bool python_is_interpreter(const char *executable);

/* The gdb helper (Tools/gdb/libpython.py) that the distribution's python debuginfo ships, looked for
 * only at fixed places inside the assembled root root_dir (never in the upload): Fedora's and RHEL's
 * /usr/lib/debug/usr/lib64/libpython3*.debug-gdb.py, Debian's
 * /usr/share/gdb/auto-load/usr/bin/python3*-gdb.py and .../libpython3*-gdb.py. *ret is the path
 * inside the root; -ENOENT when there is none. A symlink or a non-regular file is not taken. */
int python_find_gdb_helper(const char *root_dir, char **ret);
