/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common-macro.h"

int fd_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int fd_read_full(int fd, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, alloc = 0;

        for (;;) {
                ssize_t n;

                if (alloc - len < 2) {
                        /* Room for max + 1 bytes, so that one byte too many is noticed. */
                        size_t na = alloc ? alloc * 2 : 8192;
                        char *nb;

                        if (na > max + 2)
                                na = max + 2;
                        nb = realloc(buf, na);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        alloc = na;
                }
                n = read(fd, buf + len, alloc - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int fd_move_above_stdio(int fd)
{
        int nfd;

        if (fd < 0 || fd > 2)
                return fd;
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0)
                return -errno;
        (void) close(fd);
        return nfd;
}

int fd_close_all_but(const int *keep, size_t n)
{
        unsigned next = 0;

        /* Walk the kept fds in ascending order and close the ranges between them; close_range()
         * needs no /proc and costs one call per gap. */
        for (;;) {
                unsigned lowest = UINT_MAX;

                for (size_t i = 0; i < n; i++)
                        if (keep[i] >= 0 && (unsigned) keep[i] >= next && (unsigned) keep[i] < lowest)
                                lowest = (unsigned) keep[i];
                if (lowest == UINT_MAX)
                        break;
                if (lowest > next && close_range(next, lowest - 1, 0) < 0)
                        return -errno;
                next = lowest + 1;
        }
        if (close_range(next, UINT_MAX, 0) < 0)
                return -errno;
        return 0;
}

int dir_open_at(int dir_fd, const char *name, DIR **ret)
{
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) safe_close(fd);
                return -errno;
        }
        *ret = d;
        return 0;
}

int fd_openat2(int dir_fd, const char *path, const struct open_how *how)
{
        /* The kernel retries once by itself; a busy system may need more. */
        for (unsigned attempt = 0; attempt < 100; attempt++) {
                long fd = syscall(SYS_openat2, dir_fd, path, how, sizeof(*how));

                if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
                        return (int) fd;
        }
        return -1; /* errno: EAGAIN */
}
