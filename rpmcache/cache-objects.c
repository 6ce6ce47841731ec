/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-objects.h"

#include <errno.h>
#include <fcntl.h>
#include <rpm/rpmpgp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-string.h"

static const struct {
        int algo;
        const char *name;
        size_t hexlen;
} digest_algos[] = {
        { PGPHASHALGO_MD5, "md5", 32 },       { PGPHASHALGO_SHA1, "sha1", 40 },
        { PGPHASHALGO_SHA224, "sha224", 56 }, { PGPHASHALGO_SHA256, "sha256", 64 },
        { PGPHASHALGO_SHA384, "sha384", 96 }, { PGPHASHALGO_SHA512, "sha512", 128 },
};

const char *digest_algo_to_string(int algo)
{
        for (size_t i = 0; i < ELEMENTSOF(digest_algos); i++)
                if (digest_algos[i].algo == algo)
                        return digest_algos[i].name;
        return NULL;
}

int digest_algo_from_string(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(digest_algos); i++)
                if (streq(digest_algos[i].name, s))
                        return digest_algos[i].algo;
        return -EINVAL;
}

static size_t digest_algo_hexlen(int algo)
{
        for (size_t i = 0; i < ELEMENTSOF(digest_algos); i++)
                if (digest_algos[i].algo == algo)
                        return digest_algos[i].hexlen;
        return 0;
}

int cache_object_name(int algo, const char *hex, mode_t mode, char **ret)
{
        const char *a = digest_algo_to_string(algo);

        if (!a || !hex || strlen(hex) != digest_algo_hexlen(algo) ||
            !string_in_charset(hex, "0123456789abcdef"))
                return -EINVAL;
        if (asprintf(ret, "%s/%.2s/%s-%03o", a, hex, hex + 2, (unsigned) cache_object_mode(mode)) < 0)
                return -ENOMEM;
        return 0;
}

int cache_object_flat_name(const char *name, char **ret)
{
        char *s = strdup(name);

        if (!s)
                return -ENOMEM;
        for (char *c = s; *c; c++)
                if (*c == '/')
                        *c = '_';
        *ret = s;
        return 0;
}

int cache_object_exists(int objects_fd, const char *name)
{
        struct stat st;

        if (fstatat(objects_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        return S_ISREG(st.st_mode) ? 1 : -EEXIST;
}

int object_writer_open(ObjectWriter *w, int staging_fd, const char *flat_name, int algo)
{
        int fd;

        fd = openat(staging_fd, flat_name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        *w = (ObjectWriter){ .fd = fd, .algo = algo, .ctx = rpmDigestInit(algo, RPMDIGEST_NONE) };
        if (!w->ctx) {
                object_writer_abort(w);
                return -EOPNOTSUPP;
        }
        return 0;
}

int object_writer_write(ObjectWriter *w, const void *buf, size_t n)
{
        (void) rpmDigestUpdate(w->ctx, buf, n);
        w->size += n;
        return fd_write_all(w->fd, buf, n);
}

void object_writer_abort(ObjectWriter *w)
{
        if (w->ctx)
                (void) rpmDigestFinal(w->ctx, NULL, NULL, 0);
        w->fd = safe_close(w->fd);
        w->ctx = NULL;
}

int object_writer_finish(ObjectWriter *w, const char *expected_hex, mode_t mode, time_t mtime)
{
        const struct timespec times[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
        _cleanup_free_ char *hex = NULL;
        int r = 0;

        (void) rpmDigestFinal(w->ctx, (void **) &hex, NULL, 1);
        w->ctx = NULL;
        if (!hex)
                r = -ENOMEM;
        else if (!expected_hex || strcasecmp(hex, expected_hex) != 0)
                r = -EBADMSG;
        else if (fchmod(w->fd, cache_object_mode(mode)) < 0)
                r = -errno;
        /* The packaged mtime: byte-compiled Python validates its source by mtime, for one. */
        else if (mtime > 0 && futimens(w->fd, times) < 0)
                r = -errno;
        if (close(w->fd) < 0 && r == 0)
                r = -errno; /* write-back errors such as ENOSPC show up here on some file systems */
        w->fd = -EBADF;
        return r;
}

int cache_object_publish(int staging_fd, const char *flat_name, int objects_fd, const char *name)
{
        _cleanup_free_ char *dir = strdup(name);
        char *slash;

        if (!dir)
                return -ENOMEM;
        if (renameat2(staging_fd, flat_name, objects_fd, name, RENAME_NOREPLACE) >= 0)
                return 0;
        if (errno == EEXIST) {
                (void) unlinkat(staging_fd, flat_name, 0);
                return 0;
        }
        if (errno != ENOENT)
                return -errno;
        /* Create "algo/" and "algo/xx/" on first use. */
        for (slash = strchr(dir, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdirat(objects_fd, dir, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *slash = '/';
        }
        if (renameat2(staging_fd, flat_name, objects_fd, name, RENAME_NOREPLACE) >= 0)
                return 0;
        if (errno == EEXIST) {
                (void) unlinkat(staging_fd, flat_name, 0);
                return 0;
        }
        return -errno;
}

int digest_fd(int fd, int algo, char **ret_hex, uint64_t *ret_size)
{
        DIGEST_CTX ctx = rpmDigestInit(algo, RPMDIGEST_NONE);
        uint64_t size = 0;
        char buf[64 * 1024];
        char *hex = NULL;

        if (!ctx)
                return -EOPNOTSUPP;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;

                        (void) rpmDigestFinal(ctx, NULL, NULL, 0);
                        return r;
                }
                if (n == 0)
                        break;
                (void) rpmDigestUpdate(ctx, buf, n);
                size += n;
        }
        (void) rpmDigestFinal(ctx, (void **) &hex, NULL, 1);
        if (!hex)
                return -ENOMEM;
        *ret_hex = hex;
        if (ret_size)
                *ret_size = size;
        return 0;
}
