/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Identical vmcores stored once: a content index of hard links in SaveDir/.vmcores (daemon-dedup.h). */
#include "daemon-dedup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"
#include "common-string.h"
#include "daemon-taskdir.h"

#define DEDUP_COMPARE_HEAD (64 * 1024) /* bytes compared besides the digest and the size */

/* Whether the first DEDUP_COMPARE_HEAD bytes of two files are equal (a check beside the digest). */
static int same_head(int a, int b)
{
        _cleanup_free_ char *x = malloc(DEDUP_COMPARE_HEAD), *y = malloc(DEDUP_COMPARE_HEAD);
        ssize_t n, m;

        if (!x || !y)
                return -ENOMEM;
        n = pread(a, x, DEDUP_COMPARE_HEAD, 0);
        m = pread(b, y, DEDUP_COMPARE_HEAD, 0);
        if (n < 0 || m < 0)
                return -errno;
        return n == m && memcmp(x, y, (size_t) n) == 0;
}

static int open_index(int save_dir_fd)
{
        int fd;

        if (mkdirat(save_dir_fd, ".vmcores", 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(save_dir_fd, ".vmcores", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}

/* One crash file: 1 when it was linked to an identical earlier one, 0 when not (it is then the index's
 * entry for its content, or not eligible). */
static int dedup_file(int index_fd, int crash_fd, const char *name, uint64_t *ret_size)
{
        _cleanup_close_ int fd = -EBADF;
        char hash[65], tmp[64];
        struct stat st;
        int r;

        fd = openat(crash_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size < DEDUP_MIN_SIZE || st.st_nlink > 1)
                return 0; /* small, or linked already */
        r = file_sha256_hex(fd, hash);
        if (r < 0)
                return r;
        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_close_ int other =
                        openat(index_fd, hash, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                struct stat ost;

                if (other < 0) {
                        if (errno != ENOENT)
                                return -errno;
                        /* The first of its content: the index links to it. */
                        if (linkat(crash_fd, name, index_fd, hash, 0) >= 0)
                                return 0;
                        if (errno == EEXIST)
                                continue; /* another task's, just now */
                        return errno == EXDEV ? 0 : -errno;
                }
                if (fstat(other, &ost) < 0)
                        return -errno;
                if (ost.st_ino == st.st_ino && ost.st_dev == st.st_dev)
                        return 0;
                /* Never link different content: the digest, the size and the first bytes agree. */
                if (!S_ISREG(ost.st_mode) || ost.st_size != st.st_size || ost.st_dev != st.st_dev)
                        return 0;
                r = same_head(fd, other);
                if (r <= 0)
                        return r;
                (void) snprintf(tmp, sizeof(tmp), ".dedup-%s", name);
                (void) unlinkat(crash_fd, tmp, 0);
                if (linkat(index_fd, hash, crash_fd, tmp, 0) < 0) {
                        if (errno == ENOENT)
                                continue; /* pruned meanwhile */
                        return IN_SET(errno, EMLINK, EXDEV) ? 0 : -errno;
                }
                if (renameat(crash_fd, tmp, crash_fd, name) < 0) {
                        r = -errno;
                        (void) unlinkat(crash_fd, tmp, 0);
                        return r;
                }
                *ret_size = (uint64_t) st.st_size;
                return 1;
        }
        return 0;
}

int dedup_task_crash_files(const char *save_dir, uint64_t id, uint64_t *ret_saved)
{
        _cleanup_close_ int save_dir_fd = -EBADF, crash_fd = -EBADF, index_fd = -EBADF;
        _cleanup_strv_free_ char **names = NULL;
        uint64_t saved = 0;
        DIR *d;
        int fd, r = 0;

        save_dir_fd = open(save_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (save_dir_fd < 0)
                return -errno;
        r = task_dir_open_part(save_dir_fd, id, TASK_PART_CRASH, false, &crash_fd);
        if (r < 0)
                return r;
        index_fd = open_index(save_dir_fd);
        if (index_fd < 0)
                return index_fd;
        fd = openat(crash_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.' && (r = strv_extend(&names, de->d_name)) < 0)
                        break;
        closedir(d);
        if (r < 0)
                return r;
        STRV_FOREACH (n, names) {
                uint64_t size = 0;

                r = dedup_file(index_fd, crash_fd, *n, &size);
                if (r < 0)
                        return r;
                saved += size;
        }
        *ret_saved = saved;
        return 0;
}

int dedup_prune(const char *save_dir)
{
        _cleanup_close_ int save_dir_fd = -EBADF;
        int fd, n = 0;
        DIR *d;

        save_dir_fd = open(save_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (save_dir_fd < 0)
                return -errno;
        fd = openat(save_dir_fd, ".vmcores", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                /* Only the index holds it: no task has that content any more. */
                if (st.st_nlink <= 1 && unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        n++;
        }
        closedir(d);
        return n;
}
