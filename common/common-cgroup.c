/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-file.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"

#define PROC_TEXT_MAX (4U << 20) /* mountinfo of a busy host stays far below this */

int cgroup_parse_self(const char *text, char **ret_path)
{
        for (const char *line = text; line && *line;) {
                const char *end = strchrnul(line, '\n');

                if (string_startswith(line, "0::/") && end > line + 3) {
                        char *p = strndup(line + 3, (size_t) (end - line - 3));

                        if (!p)
                                return -ENOMEM;
                        *ret_path = p;
                        return 0;
                }
                line = *end ? end + 1 : NULL;
        }
        return -ENOENT;
}

/* Decodes the \ooo escapes mountinfo uses for spaces, tabs, newlines and backslashes. */
static char *mountinfo_unescape(const char *s, size_t n)
{
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
                    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
                        *o++ = (char) ((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = '\0';
        return out;
}

int cgroup_parse_mountinfo(const char *text, char **ret_mount_point, char **ret_root)
{
        for (const char *line = text; line && *line;) {
                const char *end = strchrnul(line, '\n'), *field[5], *p = line, *sep;
                size_t len[5];
                int n = 0;

                /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER" */
                while (n < 5 && p < end) {
                        const char *e = memchr(p, ' ', (size_t) (end - p));

                        if (!e)
                                e = end;
                        field[n] = p;
                        len[n++] = (size_t) (e - p);
                        p = e < end ? e + 1 : end;
                }
                sep = NULL;
                for (const char *q = p; q + 3 <= end; q++)
                        if (q[0] == '-' && q[1] == ' ' && (q == line || q[-1] == ' ')) {
                                sep = q + 2;
                                break;
                        }
                if (n == 5 && sep && (size_t) (end - sep) >= 8 && strncmp(sep, "cgroup2 ", 8) == 0) {
                        _cleanup_free_ char *mp = mountinfo_unescape(field[4], len[4]);
                        _cleanup_free_ char *root = mountinfo_unescape(field[3], len[3]);

                        if (!mp || !root)
                                return -ENOMEM;
                        if (mp[0] == '/' && root[0] == '/') {
                                *ret_mount_point = TAKE_PTR(mp);
                                *ret_root = TAKE_PTR(root);
                                return 0;
                        }
                }
                line = *end ? end + 1 : NULL;
        }
        return -ENOENT;
}

bool cgroup_list_contains(const char *list, const char *controller)
{
        size_t n = strlen(controller);

        for (const char *p = list; p && *p;) {
                size_t k = strcspn(p, " \t\n");

                if (k == n && strncmp(p, controller, n) == 0)
                        return true;
                p += k;
                p += strspn(p, " \t\n");
        }
        return false;
}

int cgroup_own_dir(char **ret)
{
        _cleanup_free_ char *self = NULL, *mountinfo = NULL, *path = NULL, *mp = NULL, *root = NULL;
        const char *rel;
        int r;

        r = file_read_at(AT_FDCWD, "/proc/self/cgroup", PROC_TEXT_MAX, &self, NULL);
        if (r < 0)
                return r;
        r = cgroup_parse_self(self, &path);
        if (r < 0)
                return r;
        r = file_read_at(AT_FDCWD, "/proc/self/mountinfo", PROC_TEXT_MAX, &mountinfo, NULL);
        if (r < 0)
                return r;
        r = cgroup_parse_mountinfo(mountinfo, &mp, &root);
        if (r < 0)
                return r;
        /* The mount shows the hierarchy from root on: our path must lie below it. */
        if (streq(root, "/"))
                rel = path;
        else {
                rel = string_startswith(path, root);
                if (!rel || (*rel != '\0' && *rel != '/'))
                        return -ENOENT;
        }
        if (strstr(rel, "/..") || strstr(rel, "//"))
                return -ENOENT; /* outside our cgroup namespace: not reachable through the mount */
        if (asprintf(ret, "%s%s", mp, streq(rel, "/") ? "" : rel) < 0)
                return -ENOMEM;
        return 0;
}

int cgroup_write_at(int dir_fd, const char *name, const char *text)
{
        _cleanup_close_ int fd = -EBADF;

        fd = openat(dir_fd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* cgroupfs takes each write() as one request. */
        if (write(fd, text, strlen(text)) < 0)
                return -errno;
        return 0;
}

int cgroup_delegate_self(const char *dir, char *problem, size_t problem_size)
{
        static const char *const wanted[] = { "pids", "memory" };
        _cleanup_free_ char *available = NULL, *enabled = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        bool any_enabled = false, any_available = false;
        int r;

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
                r = -errno;
                (void) snprintf(problem, problem_size, "cannot open %s: %s", dir, strerror(-r));
                return r;
        }
        if (file_read_at(dir_fd, "cgroup.controllers", 4096, &available, NULL) < 0 ||
            file_read_at(dir_fd, "cgroup.subtree_control", 4096, &enabled, NULL) < 0) {
                (void) snprintf(problem, problem_size, "%s is not a cgroup v2 directory", dir);
                return -EOPNOTSUPP;
        }
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                any_available = any_available || cgroup_list_contains(available, wanted[i]);
                any_enabled = any_enabled || cgroup_list_contains(enabled, wanted[i]);
        }
        if (any_enabled)
                return 0;
        if (!any_available) {
                (void) snprintf(problem, problem_size,
                                "cgroup %s offers neither the pids nor the memory controller "
                                "(cgroup.controllers: \"%s\")",
                                dir, string_strip(available));
                return -EOPNOTSUPP;
        }

        if (mkdirat(dir_fd, CGROUP_SUPERVISOR_LEAF, 0755) < 0 && errno != EEXIST) {
                r = -errno;
                (void) snprintf(problem, problem_size,
                                "cgroup %s was not delegated to us (cannot create %s in it)", dir,
                                CGROUP_SUPERVISOR_LEAF);
                return r == -EROFS ? -EACCES : r;
        }
        r = cgroup_write_at(dir_fd, CGROUP_SUPERVISOR_LEAF "/cgroup.procs", "0");
        if (r < 0) {
                (void) unlinkat(dir_fd, CGROUP_SUPERVISOR_LEAF, AT_REMOVEDIR);
                (void) snprintf(problem, problem_size,
                                "cgroup %s was not delegated to us (cannot move into %s)", dir,
                                CGROUP_SUPERVISOR_LEAF);
                return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                char change[16];

                if (!cgroup_list_contains(available, wanted[i]))
                        continue;
                (void) snprintf(change, sizeof(change), "+%s", wanted[i]);
                r = cgroup_write_at(dir_fd, "cgroup.subtree_control", change);
                if (r >= 0) {
                        any_enabled = true;
                        continue;
                }
                if (!any_enabled) {
                        /* Back to where we were, and leave the tree as we found it. */
                        (void) cgroup_write_at(dir_fd, "cgroup.procs", "0");
                        (void) unlinkat(dir_fd, CGROUP_SUPERVISOR_LEAF, AT_REMOVEDIR);
                        (void) snprintf(problem, problem_size, "cannot enable the %s controller in %s%s",
                                        wanted[i], dir,
                                        r == -EBUSY ? " (other processes share that cgroup; give the "
                                                      "service a cgroup of its own with Delegate=)"
                                                    : "");
                        return r;
                }
        }
        return 0;
}
