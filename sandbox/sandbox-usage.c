/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-usage.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"
#include "common-string.h"

/* The number after "Name:" and blanks on one line of a status text, and the unit that follows. */
static int field_number(const char *line, size_t len, const char *name, uint64_t *ret, const char **ret_unit)
{
        size_t n = strlen(name), i;
        uint64_t v = 0;

        if (len <= n || memcmp(line, name, n) != 0 || line[n] != ':')
                return 0;
        for (i = n + 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
                ;
        if (i >= len || line[i] < '0' || line[i] > '9')
                return -EINVAL;
        for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (line[i] - '0');
        }
        *ret = v;
        *ret_unit = line + i;
        return 1;
}

int sandbox_usage_parse_status(const char *buf, size_t len, uint64_t *ret_rss, uint64_t *ret_tasks)
{
        uint64_t rss = 0, tasks = 0, v;
        bool have_tasks = false;
        const char *unit;

        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                size_t n = nl ? (size_t) (nl - (buf + pos)) : len - pos;
                int r;

                r = field_number(buf + pos, n, "VmRSS", &v, &unit);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if (strncmp(unit, " kB", 3) != 0 || v > UINT64_MAX / 1024)
                                return -EINVAL;
                        rss = v * 1024;
                }
                r = field_number(buf + pos, n, "Threads", &v, &unit);
                if (r < 0)
                        return r;
                if (r > 0) {
                        tasks = v;
                        have_tasks = true;
                }
                pos += n + 1;
        }
        if (!have_tasks)
                return -EINVAL;
        *ret_rss = rss;
        *ret_tasks = tasks;
        return 0;
}

int sandbox_usage_scan(int proc_fd, uint64_t *ret_rss, uint64_t *ret_tasks)
{
        _cleanup_closedir_ DIR *d = NULL;
        uint64_t rss = 0, tasks = 0;
        struct dirent *de;
        int fd;

        fd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        while ((errno = 0, de = readdir(d))) {
                char path[sizeof(de->d_name) + 16], buf[4096];
                uint64_t r1, t1;
                ssize_t n;
                int sfd;

                if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
                    !string_in_charset(de->d_name, "0123456789"))
                        continue;
                (void) snprintf(path, sizeof(path), "%s/status", de->d_name);
                sfd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (sfd < 0)
                        continue; /* ended meanwhile */
                n = read(sfd, buf, sizeof(buf));
                (void) close(sfd);
                if (n <= 0 || sandbox_usage_parse_status(buf, (size_t) n, &r1, &t1) < 0)
                        continue;
                rss += r1;
                tasks += t1;
        }
        if (errno != 0)
                return -errno;
        *ret_rss = rss;
        *ret_tasks = tasks;
        return 0;
}
