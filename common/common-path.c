/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-macro.h"
#include "common-string.h"

char *path_join(const char *a, const char *b)
{
        char *r;
        size_t al = strlen(a);

        while (al > 0 && a[al - 1] == '/')
                al--;
        b += strspn(b, "/");
        if (asprintf(&r, "%.*s/%s", (int) al, a, b) < 0)
                return NULL;
        return r;
}

bool path_is_filename(const char *p)
{
        if (isempty(p) || streq(p, ".") || streq(p, ".."))
                return false;
        if (strchr(p, '/'))
                return false;
        return strlen(p) <= NAME_MAX;
}

bool path_is_normalized_absolute(const char *p)
{
        if (!p || p[0] != '/')
                return false;
        if (streq(p, "/"))
                return true;
        for (const char *c = p; *c;) {
                size_t n;

                c++; /* skip '/' */
                n = strcspn(c, "/");
                if (n == 0)
                        return false; /* "//" or trailing '/' */
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (n > NAME_MAX)
                        return false;
                c += n;
        }
        return true;
}

int path_simplify(const char *path, bool strict, char **ret)
{
        char *out, *o;

        if (path[0] != '/')
                return -EINVAL;
        out = malloc(strlen(path) + 2);
        if (!out)
                return -ENOMEM;
        o = out;
        for (const char *c = path; *c;) {
                size_t n;

                c += strspn(c, "/");
                n = strcspn(c, "/");
                if (n == 0)
                        break;
                if (n == 2 && c[0] == '.' && c[1] == '.') {
                        if (strict && o == out) {
                                free(out);
                                return -EINVAL;
                        }
                        while (o > out && *--o != '/')
                                ;
                } else if (!(n == 1 && c[0] == '.')) {
                        *o++ = '/';
                        memcpy(o, c, n);
                        o += n;
                }
                c += n;
        }
        if (o == out)
                *o++ = '/';
        *o = '\0';
        *ret = out;
        return 0;
}

char *path_resolve_link(const char *link_path, const char *target)
{
        _cleanup_free_ char *joined = NULL;
        const char *slash = strrchr(link_path, '/');
        char *out;

        if (target[0] == '/')
                joined = strdup(target);
        else if (asprintf(&joined, "/%.*s/%s", slash ? (int) (slash - link_path) : 0, link_path, target) < 0)
                joined = NULL;
        if (!joined || path_simplify(joined, false, &out) < 0)
                return NULL;
        return out;
}

int path_mkdir_p(const char *path, unsigned mode)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                bool end = *s == '\0';

                if (*s != '/' && !end)
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                if (end)
                        break;
                *s = '/';
        }
        return 0;
}

static int rm_rf_at(int dir_fd, const char *name)
{
        _cleanup_closedir_ DIR *d = NULL;
        int fd, r = 0;

        if (unlinkat(dir_fd, name, 0) >= 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return -errno;

        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Read-only directories (as in the object store) must become writable to empty them. */
        (void) fchmod(fd, 0700);
        d = fdopendir(fd);
        if (!d) {
                (void) safe_close(fd);
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));) {
                int k;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                k = rm_rf_at(dirfd(d), de->d_name);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && r == 0 && errno != ENOENT)
                r = -errno;
        return r;
}

int path_rm_rf(const char *path)
{
        return rm_rf_at(AT_FDCWD, path);
}
