/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-assemble.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <rpm/rpmpgp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache-evict.h"
#include "cache-objects.h"
#include "common-fd.h"
#include "common-path.h"
#include "common-string.h"

static int compare_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int cache_root_key(char *const *sha256s, size_t n, char **ret)
{
        _cleanup_free_ char **sorted = NULL;
        DIGEST_CTX ctx;
        char *hex = NULL;

        sorted = calloc(n ? n : 1, sizeof(char *));
        if (!sorted)
                return -ENOMEM;
        memcpy(sorted, sha256s, n * sizeof(char *));
        qsort_safe(sorted, n, sizeof(char *), compare_strp);
        ctx = rpmDigestInit(PGPHASHALGO_SHA256, RPMDIGEST_NONE);
        if (!ctx)
                return -EOPNOTSUPP;
        (void) rpmDigestUpdate(ctx, "retrace-root-v1\n", STRLEN("retrace-root-v1\n"));
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && streq(sorted[i], sorted[i - 1]))
                        continue;
                (void) rpmDigestUpdate(ctx, sorted[i], strlen(sorted[i]));
                (void) rpmDigestUpdate(ctx, "\n", 1);
        }
        (void) rpmDigestFinal(ctx, (void **) &hex, NULL, 1);
        if (!hex)
                return -ENOMEM;
        *ret = hex;
        return 0;
}

void assemble_result_done(AssembleResult *r)
{
        free(r->path);
        *r = (AssembleResult){};
}

/* Opens rel (relative to the tree, "" for its top) with symlinks resolved inside the tree. */
static int open_in_tree(int root_fd, const char *rel, int flags)
{
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        long fd;

        fd = fd_openat2(root_fd, isempty(rel) ? "." : rel, &how);
        return fd < 0 ? -errno : (int) fd;
}

/* Opens directory rel inside the tree (O_PATH), creating missing directories on the way. */
static int tree_open_dir(int root_fd, const char *rel, int *ret)
{
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int pfd = -EBADF;
        const char *slash, *base;
        int fd, r;

        fd = open_in_tree(root_fd, rel, O_PATH | O_DIRECTORY);
        if (fd >= 0 || fd != -ENOENT) {
                if (fd >= 0)
                        *ret = fd;
                return fd < 0 ? fd : 0;
        }
        slash = strrchr(rel, '/');
        parent = slash ? strndup(rel, slash - rel) : strdup("");
        if (!parent)
                return -ENOMEM;
        base = slash ? slash + 1 : rel;
        r = tree_open_dir(root_fd, parent, &pfd);
        if (r < 0)
                return r;
        if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = open_in_tree(root_fd, rel, O_PATH | O_DIRECTORY);
        if (fd < 0)
                return fd;
        *ret = fd;
        return 0;
}

static int copy_object(int objects_fd, const char *object, int dir_fd, const char *name, mode_t mode)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;

        in = openat(objects_fd, object, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return -errno;
        out = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        for (;;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
        }
        return fchmod(out, cache_object_mode(mode)) < 0 ? -errno : 0;
}

typedef struct Builder {
        Cache *cache;
        int root_fd;
        char *parent;      /* relative path of parent_fd */
        int parent_fd;     /* cached: consecutive files usually share their directory */
        PackageFile *dirs; /* directories to give their package mode at the end */
        size_t n_dirs;
        AssembleResult *result;
        bool partial; /* the package being added is extracted file by file: a missing object is a
                       * file not extracted yet, left out */
} Builder;

static int builder_parent(Builder *b, const char *rel, int *ret_fd)
{
        const char *slash = strrchr(rel, '/');
        _cleanup_free_ char *parent = slash ? strndup(rel, slash - rel) : strdup("");
        int r;

        if (!parent)
                return -ENOMEM;
        if (b->parent && streq(b->parent, parent)) {
                *ret_fd = b->parent_fd;
                return 0;
        }
        b->parent_fd = safe_close(b->parent_fd);
        free(b->parent);
        b->parent = NULL;
        r = tree_open_dir(b->root_fd, parent, &b->parent_fd);
        if (r < 0)
                return r;
        b->parent = TAKE_PTR(parent);
        *ret_fd = b->parent_fd;
        return 0;
}

static int builder_add(Builder *b, const PackageInfo *p, const PackageFile *f, char **ret_reason)
{
        const char *rel = f->path + 1; /* index paths are normalized absolute */
        const char *base = strrchr(f->path, '/') + 1;
        int pfd, r;

        r = builder_parent(b, rel, &pfd);
        if (r < 0) {
                string_set_printf(ret_reason, "cannot create the directory of %s from %s: %s", f->path,
                                  p->name, strerror(-r));
                return r;
        }
        if (S_ISDIR(f->mode)) {
                PackageFile *nd;

                if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST) {
                        r = -errno;
                        string_set_printf(ret_reason, "cannot create directory %s from %s: %s", f->path,
                                          p->name, strerror(-r));
                        return r;
                }
                nd = reallocarray(b->dirs, b->n_dirs + 1, sizeof(PackageFile));
                if (!nd)
                        return -ENOMEM;
                b->dirs = nd;
                b->dirs[b->n_dirs++] = (PackageFile){ .path = (char *) f->path, .mode = f->mode };
        } else if (S_ISLNK(f->mode)) {
                if (symlinkat(f->link, pfd, base) < 0 && errno != EEXIST) {
                        r = -errno;
                        string_set_printf(ret_reason, "cannot create symlink %s from %s: %s", f->path,
                                          p->name, strerror(-r));
                        return r;
                }
        } else if (S_ISREG(f->mode)) {
                _cleanup_free_ char *object = NULL;

                r = cache_object_name(p->digest_algo, f->digest, f->mode, &object);
                if (r < 0) {
                        string_set_printf(ret_reason, "index entry for %s in %s has a bad digest", f->path,
                                          p->name);
                        return r;
                }
                if (linkat(b->cache->objects_fd, object, pfd, base, 0) < 0) {
                        if (errno == EEXIST)
                                return 0; /* the same path from an earlier package in the set wins */
                        if (errno == ENOENT && b->partial) {
                                b->result->left_out++;
                                return 0;
                        }
                        if (errno != EMLINK && errno != EXDEV) {
                                r = -errno;
                                string_set_printf(ret_reason, "cannot link %s from %s to object %s: %s%s",
                                                  f->path, p->name, object, strerror(-r),
                                                  r == -ENOENT ? " (run retrace-server-cache verify)" : "");
                                return r;
                        }
                        r = copy_object(b->cache->objects_fd, object, pfd, base, f->mode);
                        if (r < 0) {
                                string_set_printf(ret_reason, "cannot copy object %s to %s: %s", object,
                                                  f->path, strerror(-r));
                                return r;
                        }
                        b->result->copied++;
                }
        } else
                return 0; /* devices, fifos, sockets: not created without privileges, not needed by gdb */
        b->result->files++;
        return 0;
}

static int builder_finish_dirs(Builder *b)
{
        /* Deepest first, so a read-only parent never blocks a child. Modes keep u+rwx so that the
         * cache can always remove the tree; the sandbox mounts roots read-only anyway. */
        for (size_t i = b->n_dirs; i > 0; i--) {
                _cleanup_close_ int fd =
                        open_in_tree(b->root_fd, b->dirs[i - 1].path + 1, O_RDONLY | O_DIRECTORY);

                if (fd < 0)
                        continue;
                (void) fchmod(fd, (b->dirs[i - 1].mode & 01777) | 0700);
        }
        return 0;
}

/* The files of the packages ids into the tree at root_fd. */
static int build_packages(Cache *c, int root_fd, const int64_t *ids, size_t n, AssembleResult *result,
                          char **ret_reason)
{
        Builder b = { .cache = c, .root_fd = root_fd, .parent_fd = -EBADF, .result = result };
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++) {
                PackageInfo p = {};
                PackageFile *files = NULL;
                size_t n_files = 0;

                bool extracted = true;

                r = cache_index_get_package(c->index, ids[i], &p);
                if (r >= 0)
                        r = cache_index_get_extracted(c->index, ids[i], &extracted);
                b.partial = !extracted;
                if (r >= 0)
                        r = cache_index_get_files(c->index, ids[i], &files, &n_files);
                for (size_t j = 0; r >= 0 && j < n_files; j++)
                        r = builder_add(&b, &p, &files[j], ret_reason);
                if (r >= 0)
                        r = builder_finish_dirs(&b);
                package_file_array_free(files, n_files);
                package_info_done(&p);
                free(b.dirs);
                b.dirs = NULL;
                b.n_dirs = 0;
        }
        b.parent_fd = safe_close(b.parent_fd);
        free(b.parent);
        return r;
}

static int build_tree(Cache *c, int root_fd, const AssembleSet *set, AssembleResult *result,
                      char **ret_reason)
{
        static const char *const mount_points[] = { "dev", "proc", "sys", "tmp" };
        int r;

        r = build_packages(c, root_fd, set->ids, set->n, result, ret_reason);
        if (r >= 0 && set->n_sysroot > 0) {
                /* A tree of its own: the sysroot's symlinks (absolute ones too) resolve inside it. */
                _cleanup_close_ int sys_fd = -EBADF;

                r = tree_open_dir(root_fd, set->sysroot_dir, &sys_fd);
                if (r < 0)
                        string_set_printf(ret_reason, "cannot create the sysroot /%s: %s", set->sysroot_dir,
                                          strerror(-r));
                else
                        r = build_packages(c, sys_fd, set->sysroot_ids, set->n_sysroot, result, ret_reason);
        }
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(mount_points); i++)
                if (mkdirat(root_fd, mount_points[i], 0755) < 0 && errno != EEXIST)
                        r = -errno;
        return r;
}

/* Records the root (its own bytes and packages) for eviction. */
static int record_root(Cache *c, const char *path, const char *key, const int64_t *ids, size_t n)
{
        uint64_t bytes = 0;
        int r;

        r = cache_root_bytes(path, &bytes);
        if (r < 0)
                return r;
        r = cache_index_begin(c->index);
        if (r < 0)
                return r;
        r = cache_index_record_root(c->index, key, bytes, ids, n);
        if (r < 0) {
                (void) cache_index_rollback(c->index);
                return r;
        }
        return cache_index_commit(c->index);
}

static int assemble_locked(Cache *c, const AssembleSet *set, AssembleResult *ret, char **ret_reason)
{
        _cleanup_free_ char *key = NULL, *tmpname = NULL, *path = NULL;
        _cleanup_free_ int64_t *ids = NULL;
        _cleanup_close_ int tmp_fd = -EBADF;
        size_t n = set->n + set->n_sysroot;
        char **shas;
        AssembleResult result = {};
        int r;

        /* Every package of the root, the sysroot's after the others: what the root is recorded with. */
        ids = calloc(n ? n : 1, sizeof(int64_t));
        if (!ids)
                return -ENOMEM;
        if (set->n > 0)
                memcpy(ids, set->ids, set->n * sizeof(int64_t));
        if (set->n_sysroot > 0)
                memcpy(ids + set->n, set->sysroot_ids, set->n_sysroot * sizeof(int64_t));
        shas = calloc(n + 1, sizeof(char *));
        if (!shas)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                PackageInfo p = {};
                bool extracted = true;
                uint64_t generation = 0;

                r = cache_index_get_package(c->index, ids[i], &p);
                if (r < 0) {
                        strv_free(shas);
                        string_set_printf(ret_reason, "package #%" PRId64 " is not in the index", ids[i]);
                        return r;
                }
                /* A package in the sysroot is another entry of the key than the same one at /. */
                if (i >= set->n) {
                        if (asprintf(&shas[i], "%s/%s", set->sysroot_dir, p.sha256) < 0)
                                shas[i] = NULL;
                } else
                        shas[i] = TAKE_PTR(p.sha256);
                package_info_done(&p);
                if (!shas[i]) {
                        strv_free(shas);
                        return -ENOMEM;
                }
                /* A package extracted file by file: its generation is part of the key, so that a
                 * root built before more of its files were extracted is not reused. */
                if (cache_index_get_extracted(c->index, ids[i], &extracted) >= 0 && !extracted &&
                    cache_index_get_partial(c->index, ids[i], &generation) >= 0 && generation > 0) {
                        char *g = NULL;

                        if (asprintf(&g, "%s:%" PRIu64, shas[i], generation) < 0) {
                                strv_free(shas);
                                return -ENOMEM;
                        }
                        free(shas[i]);
                        shas[i] = g;
                }
        }
        r = cache_root_key(shas, n, &key);
        strv_free(shas);
        if (r < 0)
                return r;
        key[32] = '\0'; /* 128 bits name a set well enough and keep paths short */
        path = path_join(c->dir, "roots");
        if (!path)
                return -ENOMEM;
        free(result.path);
        result.path = path_join(path, key);
        if (!result.path)
                return -ENOMEM;

        if (utimensat(c->roots_fd, key, NULL, AT_SYMLINK_NOFOLLOW) >= 0) {
                bool known = false;

                result.reused = true;
                /* A root from before roots were recorded: record it now, so that eviction knows
                 * its packages. */
                if (cache_index_root_known(c->index, key, &known) >= 0 && !known)
                        (void) record_root(c, result.path, key, ids, n);
                *ret = result;
                return 0;
        }
        if (errno != ENOENT) {
                r = -errno;
                assemble_result_done(&result);
                return r;
        }

        r = cache_make_tmpdir(c, "root-", &tmpname, &tmp_fd);
        if (r >= 0)
                r = build_tree(c, tmp_fd, set, &result, ret_reason);
        if (r >= 0 && fchmod(tmp_fd, 0755) < 0)
                r = -errno;
        if (r >= 0 && renameat2(c->tmp_fd, tmpname, c->roots_fd, key, RENAME_NOREPLACE) < 0) {
                r = -errno;
                if (r == -EEXIST) /* built concurrently by someone else: use theirs */
                        result.reused = true, r = 0;
        }
        if (tmpname && (r < 0 || result.reused)) {
                _cleanup_free_ char *full = NULL;

                if (asprintf(&full, "%s/tmp/%s", c->dir, tmpname) >= 0)
                        (void) path_rm_rf(full);
        }
        if (r < 0) {
                assemble_result_done(&result);
                return r;
        }
        r = record_root(c, result.path, key, ids, n);
        if (r < 0) {
                string_set_printf(ret_reason, "cannot record the root in the index: %s",
                                  cache_index_strerror(c->index));
                assemble_result_done(&result);
                return r;
        }
        (void) cache_prune_roots(c, key, CACHE_ROOT_MIN_AGE_SEC, NULL);
        *ret = result;
        return 0;
}

int cache_assemble(Cache *c, const int64_t *ids, size_t n, AssembleResult *ret, char **ret_reason)
{
        _cleanup_close_ int use_fd = -EBADF;
        int r;

        r = cache_use_lock(c, NULL, NULL, &use_fd); /* eviction waits */
        if (r < 0)
                return r;
        r = cache_lock(c, LOCK_SH);
        if (r < 0)
                return r;
        r = assemble_locked(c, &(AssembleSet){ .ids = ids, .n = n }, ret, ret_reason);
        cache_unlock(c);
        return r;
}

int cache_assemble_sysroot(Cache *c, const AssembleSet *set, AssembleResult *ret, char **ret_reason)
{
        _cleanup_close_ int use_fd = -EBADF;
        int r;

        if (set->n_sysroot > 0 && (isempty(set->sysroot_dir) || !path_is_filename(set->sysroot_dir)))
                return -EINVAL;
        r = cache_use_lock(c, NULL, NULL, &use_fd); /* eviction waits */
        if (r < 0)
                return r;
        r = cache_lock(c, LOCK_SH);
        if (r < 0)
                return r;
        r = assemble_locked(c, set, ret, ret_reason);
        cache_unlock(c);
        return r;
}
