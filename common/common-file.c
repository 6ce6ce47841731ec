/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"

int file_read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((size_t)st.st_size > max)
                return -EFBIG;
        return fd_read_full(fd, max, ret, ret_len);
}

int file_read_line_at(int dirfd, const char *name, size_t max, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        int r;

        r = file_read_at(dirfd, name, max, &buf, NULL);
        if (r < 0)
                return r;
        buf[strcspn(buf, "\n")] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

int file_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
        _cleanup_close_ int fd = -EBADF;
        char tmp[64];
        uint64_t rnd;
        int r;

        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return negative_errno();
        (void) snprintf(tmp, sizeof(tmp), ".#tmp.%016llx", (unsigned long long)rnd);

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        r = fd_write_all(fd, data, len);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return r;
}
