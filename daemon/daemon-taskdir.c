/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-taskdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "common-fd.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"

#define INCOMING ".incoming"

static const char *const task_part_table[_TASK_PART_MAX] = {
        [TASK_PART_CRASH] = "crash",
        [TASK_PART_RESULTS] = "results",
        [TASK_PART_CONVERTED] = "converted",
        [TASK_PART_REMOTE] = "remote",
};

DEFINE_STRING_TABLE_TO_STRING(task_part, TaskPart, _TASK_PART_MAX)

int task_spool_create(const char *save_dir, const char *owner, TaskSpool *ret)
{
        _cleanup_free_ char *incoming = path_join(save_dir, INCOMING), *spool = NULL, *archive = NULL;
        int fd;

        if (!incoming)
                return -ENOMEM;
        if (mkdir(incoming, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (asprintf(&spool, "%s/%sXXXXXX", incoming, strempty(owner)) < 0)
                return -ENOMEM;
        if (!mkdtemp(spool))
                return -errno;
        archive = path_join(spool, "upload");
        if (!archive) {
                (void) path_rm_rf(spool);
                return -ENOMEM;
        }
        fd = open(archive, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
                int r = -errno;
                (void) path_rm_rf(spool);
                return r;
        }
        *ret = (TaskSpool){ .path = TAKE_PTR(spool), .upload_fd = fd };
        return 0;
}

int task_spool_remove_stale(const char *save_dir, const char *owner)
{
        return task_spool_remove_stale_older(save_dir, owner, 0);
}

/* The newest modification time of a spool and its direct entries (an upload being received or
 * unpacked writes there), in seconds since the epoch; 0 when unknown. */
static time_t spool_newest(int dfd, const char *name)
{
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        struct dirent *de;
        time_t newest = 0;
        DIR *d;

        if (fd < 0)
                return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? 0 : st.st_mtime;
        if (fstat(fd, &st) >= 0)
                newest = st.st_mtime;
        d = fdopendir(fd);
        if (!d)
                return newest;
        (void) TAKE_FD(fd);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && st.st_mtime > newest)
                        newest = st.st_mtime;
        closedir(d);
        return newest;
}

int task_spool_remove_stale_older(const char *save_dir, const char *owner, unsigned min_age_sec)
{
        _cleanup_free_ char *incoming = path_join(save_dir, INCOMING);
        _cleanup_close_ int dfd = -EBADF;
        struct dirent *de;
        DIR *d;
        int n = 0;

        if (!incoming)
                return -ENOMEM;
        dfd = open(incoming, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(dfd);
        if (!d)
                return -errno;
        (void) TAKE_FD(dfd);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (owner && strncmp(de->d_name, owner, strlen(owner)) == 0)
                        continue;
                if (min_age_sec > 0 &&
                    time(NULL) - spool_newest(dirfd(d), de->d_name) < (time_t) min_age_sec)
                        continue;
                path = path_join(incoming, de->d_name);
                if (path && path_rm_rf(path) >= 0)
                        n++;
        }
        closedir(d);
        return n;
}

int task_spool_open_crash(TaskSpool *s, int *ret_fd)
{
        _cleanup_free_ char *crash = path_join(s->path, "crash");
        int fd;

        if (!crash)
                return -ENOMEM;
        if (mkdir(crash, 0755) < 0 || chmod(crash, 0755) < 0)
                return -errno;
        fd = open(crash, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int task_spool_open_remote(TaskSpool *s, int *ret_fd)
{
        _cleanup_free_ char *remote = path_join(s->path, "remote");
        int fd;

        if (!remote)
                return -ENOMEM;
        if (mkdir(remote, 0700) < 0)
                return -errno;
        fd = open(remote, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

void task_spool_drop_upload(TaskSpool *s)
{
        _cleanup_free_ char *archive = NULL;

        s->upload_fd = safe_close(s->upload_fd);
        archive = s->path ? path_join(s->path, "upload") : NULL;
        if (archive)
                (void) unlink(archive);
}

int task_spool_commit(TaskSpool *s, const char *save_dir, uint64_t id)
{
        char name[32];
        _cleanup_free_ char *dest = NULL;

        (void) snprintf(name, sizeof(name), "%" PRIu64, id);
        dest = path_join(save_dir, name);
        if (!dest)
                return -ENOMEM;
        if (rename(s->path, dest) < 0)
                return -errno;
        s->upload_fd = safe_close(s->upload_fd);
        s->path = mfree(s->path);
        return 0;
}

void task_spool_remove(TaskSpool *s)
{
        s->upload_fd = safe_close(s->upload_fd);
        if (s->path)
                (void) path_rm_rf(s->path);
        s->path = mfree(s->path);
}

int task_dir_open_part(int save_dir_fd, uint64_t id, TaskPart part, int create, int *ret_fd)
{
        _cleanup_close_ int dir_fd = -EBADF;
        const char *name = task_part_to_string(part);
        char idbuf[32];
        int fd;

        if (!name)
                return -EINVAL;
        (void) snprintf(idbuf, sizeof(idbuf), "%" PRIu64, id);
        dir_fd = openat(save_dir_fd, idbuf, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dir_fd < 0)
                return -errno;
        if (create && part != TASK_PART_CRASH) {
                /* Results are the daemon's own: 0700 (the umask can only take from it). */
                if (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
                        return -errno;
        }
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        /* The sandbox writes the converted dump as its unprivileged id when the daemon runs as root;
         * the task directory around it is the daemon's own, closed to others. */
        if (create && part == TASK_PART_CONVERTED && fchmod(fd, 0777) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

int task_dir_lock_path(const char *save_dir, uint64_t id, char **ret)
{
        return asprintf(ret, "%s/%" PRIu64 "/sandbox.lock", save_dir, id) < 0 ? -ENOMEM : 0;
}

int task_dir_part_path(const char *save_dir, uint64_t id, TaskPart part, char **ret)
{
        const char *name = task_part_to_string(part);

        if (!name)
                return -EINVAL;
        return asprintf(ret, "%s/%" PRIu64 "/%s", save_dir, id, name) < 0 ? -ENOMEM : 0;
}

int task_dir_has_result(int save_dir_fd, uint64_t id, const char *name)
{
        char rel[64];

        (void) snprintf(rel, sizeof(rel), "%" PRIu64 "/results/%s", id, name);
        return faccessat(save_dir_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) >= 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Feeds everything fd still has to read into h, through buf (size bytes). */
static int hash_read_all(gnutls_hash_hd_t h, int fd, char *buf, size_t size)
{
        for (;;) {
                ssize_t k = read(fd, buf, size);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return 0;
                (void) gnutls_hash(h, buf, (size_t) k);
        }
}

static void sha256_hex(gnutls_hash_hd_t h, char ret[65])
{
        static const char digits[] = "0123456789abcdef";
        uint8_t d[32];

        gnutls_hash_deinit(h, d);
        for (size_t i = 0; i < sizeof(d); i++) {
                ret[2 * i] = digits[d[i] >> 4];
                ret[2 * i + 1] = digits[d[i] & 15];
        }
        ret[64] = 0;
}

int task_dir_content_hash(int crash_fd, char ret[65])
{
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *buf = NULL;
        gnutls_hash_hd_t h = NULL;
        DIR *dir;
        int fd, r = 0;

        fd = openat(crash_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        dir = fdopendir(fd);
        if (!dir) {
                r = -errno;
                safe_close(fd);
                return r;
        }
        for (struct dirent *de; (de = readdir(dir));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    (r = strv_extend(&names, de->d_name)) < 0)
                        break;
        closedir(dir);
        if (r < 0)
                return r;
        qsort(names, strv_length(names), sizeof(char *), cmp_names);
        buf = malloc(1 << 20);
        if (!buf || gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
                return -ENOMEM;
        STRV_FOREACH (n, names) {
                _cleanup_close_ int f = openat(crash_fd, *n, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                uint8_t size[8];
                struct stat st;

                (void) gnutls_hash(h, *n, strlen(*n) + 1);
                if (f < 0 || fstat(f, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                for (size_t i = 0; i < 8; i++)
                        size[i] = (uint8_t) ((uint64_t) st.st_size >> (8 * i));
                (void) gnutls_hash(h, size, sizeof(size));
                r = hash_read_all(h, f, buf, 1 << 20);
                if (r < 0)
                        break;
        }
        sha256_hex(h, ret);
        return r;
}

int file_sha256_hex(int fd, char ret[65])
{
        _cleanup_free_ char *buf = malloc(1 << 20);
        gnutls_hash_hd_t h = NULL;
        int r;

        if (!buf || gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
                return -ENOMEM;
        r = hash_read_all(h, fd, buf, 1 << 20);
        sha256_hex(h, ret);
        return r;
}

static int copy_at_as(int from_fd, int to_fd, const char *name, const char *to_name);

/* Copies name from one directory to another (when a hard link is not possible): to NAME.part, renamed
 * once complete, so that a reader never sees half a file under its name. */
static int copy_at(int from_fd, int to_fd, const char *name)
{
        char part[256];
        int r;

        if (snprintf(part, sizeof(part), "%s.part", name) >= (int) sizeof(part))
                return -ENAMETOOLONG;
        r = copy_at_as(from_fd, to_fd, name, part);
        if (r >= 0 && renameat(to_fd, part, to_fd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(to_fd, part, 0);
        return r;
}

static int copy_at_as(int from_fd, int to_fd, const char *name, const char *to_name)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        char buf[65536];

        in = openat(from_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in < 0)
                return -errno;
        out = openat(to_fd, to_name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (out < 0)
                return -errno;
        for (;;) {
                ssize_t k = read(in, buf, sizeof(buf));

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return 0;
                for (ssize_t done = 0; done < k;) {
                        ssize_t w = write(out, buf + done, (size_t) (k - done));

                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        done += w;
                }
        }
}

int task_dir_link_results(int save_dir_fd, uint64_t from, uint64_t to, const char *const *except)
{
        _cleanup_close_ int from_fd = -EBADF, to_fd = -EBADF;
        DIR *dir;
        int r = 0, fd;

        r = task_dir_open_part(save_dir_fd, from, TASK_PART_RESULTS, false, &from_fd);
        if (r >= 0)
                r = task_dir_open_part(save_dir_fd, to, TASK_PART_RESULTS, true, &to_fd);
        if (r < 0)
                return r;
        fd = openat(from_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        dir = fdopendir(fd);
        if (!dir) {
                r = -errno;
                safe_close(fd);
                return r;
        }
        for (struct dirent *de; (de = readdir(dir));) {
                struct stat st;
                bool skip =
                        fstatat(from_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode);

                for (const char *const *e = except; !skip && e && *e; e++)
                        skip = streq(*e, de->d_name);
                if (skip)
                        continue;
                (void) unlinkat(to_fd, de->d_name, 0);
                if (linkat(from_fd, de->d_name, to_fd, de->d_name, 0) >= 0)
                        continue;
                if (errno != EXDEV && errno != EMLINK && errno != EPERM) {
                        r = -errno;
                        break;
                }
                r = copy_at(from_fd, to_fd, de->d_name);
                if (r < 0)
                        break;
        }
        closedir(dir);
        return r;
}

int task_dir_remove_results(const char *save_dir, uint64_t id)
{
        _cleanup_free_ char *results = NULL;
        int r = task_dir_part_path(save_dir, id, TASK_PART_RESULTS, &results);

        return r < 0 ? r : path_rm_rf(results);
}

int task_dir_drop_crash_files(const char *save_dir, uint64_t id)
{
        _cleanup_free_ char *crash = NULL, *converted = NULL;
        int r;

        r = task_dir_part_path(save_dir, id, TASK_PART_CRASH, &crash);
        if (r < 0)
                return r;
        r = task_dir_part_path(save_dir, id, TASK_PART_CONVERTED, &converted);
        if (r < 0)
                return r;
        r = path_rm_rf(converted);
        if (r < 0 && r != -ENOENT)
                return r;
        /* crash/ itself stays (empty): the layout of a task directory does not change. */
        r = path_rm_rf(crash);
        if (r < 0 && r != -ENOENT)
                return r;
        if (mkdir(crash, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int task_dir_path(const char *save_dir, uint64_t id, char **ret)
{
        return asprintf(ret, "%s/%" PRIu64, save_dir, id) < 0 ? -ENOMEM : 0;
}

int task_dir_remove(const char *save_dir, uint64_t id)
{
        _cleanup_free_ char *dir = NULL;

        if (asprintf(&dir, "%s/%" PRIu64, save_dir, id) < 0)
                return -ENOMEM;
        return path_rm_rf(dir);
}

int task_dir_free_space(const char *save_dir, uint64_t *ret)
{
        struct statvfs st;

        if (statvfs(save_dir, &st) < 0)
                return -errno;
        *ret = (uint64_t) st.f_bavail * st.f_frsize;
        return 0;
}

void task_log_append(int log_fd, char level, const char *msg)
{
        _cleanup_free_ char *line = NULL;
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        int n;

        (void) strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
        n = asprintf(&line, "[%s] [%c] %s\n", stamp, level, msg);
        if (n > 0)
                (void) fd_write_all(log_fd, line, (size_t) n);
}
