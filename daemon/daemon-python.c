/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-python.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common-macro.h"
#include "common-string.h"

bool python_is_interpreter(const char *executable)
{
        const char *base = executable ? strrchr(executable, '/') : NULL;

        base = base ? base + 1 : executable;
        if (!base || !string_startswith(base, "python"))
                return false;
        /* python, python3, python3.11, python3.11d, python3.12-dbg */
        return base[STRLEN("python") + strspn(base + STRLEN("python"), "0123456789.dbg-")] == '\0';
}

int python_find_gdb_helper(const char *root_dir, char **ret)
{
        static const char *const patterns[] = {
                "/usr/lib/debug/usr/lib64/libpython3*.debug-gdb.py",
                "/usr/lib/debug/usr/lib/libpython3*.debug-gdb.py",
                "/usr/share/gdb/auto-load/usr/bin/python3*-gdb.py",
                "/usr/share/gdb/auto-load/usr/lib*/libpython3*-gdb.py",
                "/usr/share/gdb/auto-load/usr/lib/*/libpython3*-gdb.py",
        };
        size_t root_len = strlen(root_dir);

        for (size_t i = 0; i < ELEMENTSOF(patterns); i++) {
                _cleanup_free_ char *pattern = NULL;
                glob_t g = {};

                if (asprintf(&pattern, "%s%s", root_dir, patterns[i]) < 0)
                        return -ENOMEM;
                if (glob(pattern, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g) != 0)
                        continue;
                for (size_t k = 0; k < g.gl_pathc; k++) {
                        const char *p = g.gl_pathv[k];
                        struct stat st;

                        /* Debug builds' helpers ("python3.11d-gdb.py", "-dbg-gdb.py") serve other binaries.
                         */
                        if (strstr(p, "d-gdb.py") || strstr(p, "-dbg-gdb.py") || lstat(p, &st) < 0 ||
                            !S_ISREG(st.st_mode) || strstr(p + root_len, "/../"))
                                continue;
                        *ret = strdup(p + root_len);
                        globfree(&g);
                        return *ret ? 0 : -ENOMEM;
                }
                globfree(&g);
        }
        return -ENOENT;
}
