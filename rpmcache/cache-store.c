/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache-objects.h"
#include "common-config.h"
#include "common-fd.h"
#include "common-path.h"
#include "common-string.h"

static int open_subdir(int dir_fd, const char *name, int *ret)
{
        int fd;

        if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

Cache *cache_close(Cache *c)
{
        if (!c)
                return NULL;
        cache_index_close(c->index);
        (void) safe_close(c->dir_fd);
        (void) safe_close(c->objects_fd);
        (void) safe_close(c->roots_fd);
        (void) safe_close(c->tmp_fd);
        (void) safe_close(c->lock_fd);
        free(c->dir);
        free(c->repo_dir);
        return mfree(c);
}

int cache_open(const char *dir, const CacheLimits *limits, Cache **ret)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        _cleanup_free_ char *index = NULL;
        int r;

        c = calloc(1, sizeof(Cache));
        if (!c)
                return -ENOMEM;
        c->dir_fd = c->objects_fd = c->roots_fd = c->tmp_fd = c->lock_fd = -EBADF;
        c->limits = *limits;
        c->dir = strdup(dir);
        if (!c->dir)
                return -ENOMEM;
        if (limits->repo_dir) {
                c->repo_dir = strdup(limits->repo_dir);
                if (!c->repo_dir)
                        return -ENOMEM;
                c->limits.repo_dir = c->repo_dir;
        }
        r = path_mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        c->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->dir_fd < 0)
                return -errno;
        r = open_subdir(c->dir_fd, "objects", &c->objects_fd);
        if (r < 0)
                return r;
        r = open_subdir(c->dir_fd, "roots", &c->roots_fd);
        if (r < 0)
                return r;
        r = open_subdir(c->dir_fd, "tmp", &c->tmp_fd);
        if (r < 0)
                return r;
        c->lock_fd = openat(c->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (c->lock_fd < 0)
                return -errno;
        index = path_join(dir, "index.sqlite");
        if (!index)
                return -ENOMEM;
        r = cache_index_open(index, &c->index);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int cache_lock(Cache *c, int operation)
{
        while (flock(c->lock_fd, operation) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

int cache_lock_shared(Cache *c, bool (*keep_waiting)(void *userdata), void *userdata, int *ret_fd)
{
        _cleanup_close_ int fd = openat(c->dir_fd, "lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return -errno;
        /* Polled, so that the caller can give up (a cancelled task) while gc holds the lock. */
        while (flock(fd, LOCK_SH | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (keep_waiting && !keep_waiting(userdata))
                        return -ECANCELED;
                (void) usleep(50 * 1000);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void cache_unlock(Cache *c)
{
        (void) flock(c->lock_fd, LOCK_UN);
}

int cache_make_tmpdir(Cache *c, const char *prefix, char **ret_name, int *ret_fd)
{
        _cleanup_free_ char *tmp = path_join(c->dir, "tmp"), *templ = NULL;
        const char *name;
        int fd;

        if (!tmp || asprintf(&templ, "%s/%sXXXXXX", tmp, prefix) < 0)
                return -ENOMEM;
        if (!mkdtemp(templ))
                return -errno;
        name = strrchr(templ, '/') + 1;
        fd = openat(c->tmp_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_name = strdup(name);
        if (!*ret_name) {
                (void) close(fd);
                return -ENOMEM;
        }
        *ret_fd = fd;
        return 0;
}

/* Calls cb(dir_fd, name, st) for every regular file under the two-level tree objects/<algo>/<xx>/. */
typedef int (*ObjectWalkCallback)(int dir_fd, const char *relpath, const struct stat *st, void *userdata);

static int walk_objects(Cache *c, ObjectWalkCallback cb, void *userdata)
{
        _cleanup_closedir_ DIR *top = NULL;
        int r;

        r = dir_open_at(c->objects_fd, ".", &top);
        if (r < 0)
                return r;
        for (struct dirent *a; (a = readdir(top));) {
                _cleanup_closedir_ DIR *algo = NULL;

                if (a->d_name[0] == '.')
                        continue;
                r = dir_open_at(c->objects_fd, a->d_name, &algo);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                for (struct dirent *x; (x = readdir(algo));) {
                        _cleanup_closedir_ DIR *sub = NULL;

                        if (x->d_name[0] == '.')
                                continue;
                        r = dir_open_at(dirfd(algo), x->d_name, &sub);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                continue;
                        for (struct dirent *o; (o = readdir(sub));) {
                                _cleanup_free_ char *rel = NULL;
                                struct stat st;

                                if (o->d_name[0] == '.')
                                        continue;
                                if (fstatat(dirfd(sub), o->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                                    !S_ISREG(st.st_mode))
                                        continue;
                                if (asprintf(&rel, "%s/%s/%s", a->d_name, x->d_name, o->d_name) < 0)
                                        return -ENOMEM;
                                r = cb(dirfd(sub), rel, &st, userdata);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return 0;
}

static int count_object(int dir_fd, const char *rel, const struct stat *st, void *userdata)
{
        CacheDiskUse *u = userdata;

        u->objects++;
        u->object_bytes += (uint64_t) st->st_blocks * 512;
        return 0;
}

int cache_disk_use(Cache *c, CacheDiskUse *ret)
{
        _cleanup_closedir_ DIR *d = NULL;
        CacheDiskUse u = {};
        int r;

        r = walk_objects(c, count_object, &u);
        if (r < 0)
                return r;
        r = dir_open_at(c->roots_fd, ".", &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        u.roots++;
        *ret = u;
        return 0;
}

typedef struct VerifyState {
        Cache *cache;
        CacheVerifyCallback cb;
        void *userdata;
        uint64_t checked;
        int bad;
} VerifyState;

static int verify_one(int algo, const char *digest, mode_t mode, void *userdata)
{
        VerifyState *s = userdata;
        _cleanup_free_ char *name = NULL, *hex = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        r = cache_object_name(algo, digest, mode, &name);
        if (r < 0)
                return 0;
        s->checked++;
        fd = openat(s->cache->objects_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                s->bad++;
                if (s->cb)
                        s->cb(name, errno == ENOENT ? "missing" : strerror(errno), s->userdata);
                return 0;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((st.st_mode & 07777) != cache_object_mode(mode)) {
                s->bad++;
                if (s->cb)
                        s->cb(name, "wrong permissions", s->userdata);
                return 0;
        }
        r = digest_fd(fd, algo, &hex, NULL);
        if (r < 0)
                return r;
        if (!streq(hex, digest)) {
                s->bad++;
                if (s->cb)
                        s->cb(name, "content does not match its digest", s->userdata);
        }
        return 0;
}

int cache_verify(Cache *c, CacheVerifyCallback cb, void *userdata, uint64_t *ret_checked)
{
        VerifyState s = { .cache = c, .cb = cb, .userdata = userdata };
        int r;

        r = cache_index_foreach_object(c->index, verify_one, &s);
        if (r < 0)
                return r;
        if (ret_checked)
                *ret_checked = s.checked;
        return s.bad;
}

/* ---- garbage collection */

typedef struct NameSet {
        char **names;
        size_t n, alloc;
} NameSet;

static int name_set_add(int algo, const char *digest, mode_t mode, void *userdata)
{
        NameSet *s = userdata;
        char *name;
        int r;

        r = cache_object_name(algo, digest, mode, &name);
        if (r == -EINVAL)
                return 0;
        if (r < 0)
                return r;
        if (s->n == s->alloc) {
                size_t na = s->alloc ? s->alloc * 2 : 1024;
                char **nn = reallocarray(s->names, na, sizeof(char *));

                if (!nn) {
                        free(name);
                        return -ENOMEM;
                }
                s->names = nn;
                s->alloc = na;
        }
        s->names[s->n++] = name;
        return 0;
}

static int compare_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int cache_referenced_objects(CacheIndex *idx, char ***ret, size_t *ret_n)
{
        NameSet s = {};
        int r;

        r = cache_index_foreach_object(idx, name_set_add, &s);
        if (r < 0) {
                for (size_t i = 0; i < s.n; i++)
                        free(s.names[i]);
                free(s.names);
                return r;
        }
        qsort_safe(s.names, s.n, sizeof(char *), compare_strp);
        *ret = s.names;
        *ret_n = s.n;
        return 0;
}

bool cache_object_referenced(char *const *sorted, size_t n, const char *name)
{
        return bsearch(&name, sorted, n, sizeof(char *), compare_strp) != NULL;
}

typedef struct GcState {
        NameSet *referenced;
        CacheGcResult *result;
} GcState;

static int gc_object(int dir_fd, const char *rel, const struct stat *st, void *userdata)
{
        GcState *g = userdata;
        const char *base = strrchr(rel, '/') + 1;

        if (bsearch(&rel, g->referenced->names, g->referenced->n, sizeof(char *), compare_strp))
                return 0;
        if (unlinkat(dir_fd, base, 0) < 0)
                return errno == ENOENT ? 0 : -errno;
        g->result->objects_removed++;
        g->result->bytes_removed += (uint64_t) st->st_blocks * 512;
        return 0;
}

typedef struct RootEntry {
        char *name;
        struct timespec used;
} RootEntry;

static int compare_roots_newest_first(const void *a, const void *b)
{
        const RootEntry *x = a, *y = b;

        if (x->used.tv_sec != y->used.tv_sec)
                return x->used.tv_sec < y->used.tv_sec ? 1 : -1;
        if (x->used.tv_nsec != y->used.tv_nsec)
                return x->used.tv_nsec < y->used.tv_nsec ? 1 : -1;
        return strcmp(x->name, y->name);
}

int cache_root_in_use(Cache *c, const char *name)
{
        _cleanup_close_ int fd = openat(c->roots_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? 1 : -errno;
        return 0;
}

int cache_root_pin(Cache *c, const char *name, int *ret_fd)
{
        _cleanup_close_ int fd = openat(c->roots_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        while (flock(fd, LOCK_SH) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int cache_remove_root(Cache *c, const char *name)
{
        _cleanup_free_ char *tmpname = NULL, *full = NULL;

        if (asprintf(&tmpname, "old-%s-%ld", name, (long) getpid()) < 0)
                return -ENOMEM;
        if (renameat(c->roots_fd, name, c->tmp_fd, tmpname) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (asprintf(&full, "%s/tmp/%s", c->dir, tmpname) < 0)
                return -ENOMEM;
        return path_rm_rf(full);
}

int cache_prune_roots(Cache *c, const char *keep, uint64_t min_root_age_sec, uint64_t *ret_removed)
{
        _cleanup_closedir_ DIR *d = NULL;
        RootEntry *roots = NULL;
        size_t n = 0;
        uint64_t removed = 0;
        time_t now = time(NULL);
        int r = 0;

        r = dir_open_at(c->roots_fd, ".", &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;
                RootEntry *nr;

                if (de->d_name[0] == '.' || fstatat(c->roots_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                nr = reallocarray(roots, n + 1, sizeof(RootEntry));
                if (!nr) {
                        r = -ENOMEM;
                        goto finish;
                }
                roots = nr;
                roots[n].name = strdup(de->d_name);
                roots[n].used = st.st_mtim;
                if (!roots[n].name) {
                        r = -ENOMEM;
                        goto finish;
                }
                n++;
        }
        qsort_safe(roots, n, sizeof(RootEntry), compare_roots_newest_first);
        for (size_t i = c->limits.keep_roots; i < n; i++) {
                if (keep && streq(roots[i].name, keep))
                        continue;
                if (roots[i].used.tv_sec + (time_t) min_root_age_sec > now)
                        continue;
                if (cache_root_in_use(c, roots[i].name) != 0)
                        continue;
                r = cache_remove_root(c, roots[i].name);
                if (r < 0)
                        goto finish;
                (void) cache_index_forget_root(c->index, roots[i].name);
                removed++;
        }
        if (ret_removed)
                *ret_removed = removed;
finish:
        for (size_t i = 0; i < n; i++)
                free(roots[i].name);
        free(roots);
        return r;
}

static int gc_tmp(Cache *c, uint64_t *ret_removed)
{
        _cleanup_closedir_ DIR *d = NULL;
        int r;

        r = dir_open_at(c->tmp_fd, ".", &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *full = NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (asprintf(&full, "%s/tmp/%s", c->dir, de->d_name) < 0)
                        return -ENOMEM;
                r = path_rm_rf(full);
                if (r < 0)
                        return r;
                (*ret_removed)++;
        }
        return 0;
}

int cache_gc(Cache *c, uint64_t min_root_age_sec, CacheGcResult *ret)
{
        NameSet referenced = {};
        CacheGcResult result = {};
        GcState g = { .referenced = &referenced, .result = &result };
        int r;

        r = cache_lock(c, LOCK_EX);
        if (r < 0)
                return r;
        /* With the lock held exclusively nobody is importing or assembling: everything in tmp/
         * is left over from an interrupted run. */
        r = gc_tmp(c, &result.tmp_removed);
        if (r < 0)
                goto finish;
        /* The per-package extraction locks too: they are taken only under the shared lock. */
        {
                _cleanup_free_ char *locks = path_join(c->dir, "locks");

                if (locks)
                        (void) path_rm_rf(locks);
        }
        r = cache_prune_roots(c, NULL, min_root_age_sec, &result.roots_removed);
        if (r < 0)
                goto finish;
        r = cache_index_foreach_object(c->index, name_set_add, &referenced);
        if (r < 0)
                goto finish;
        qsort_safe(referenced.names, referenced.n, sizeof(char *), compare_strp);
        r = walk_objects(c, gc_object, &g);
        if (r < 0)
                goto finish;
        *ret = result;
finish:
        cache_unlock(c);
        for (size_t i = 0; i < referenced.n; i++)
                free(referenced.names[i]);
        free(referenced.names);
        return r;
}

void cache_limits_from_config(const RetraceConfig *cfg, CacheLimits *ret)
{
        *ret = (CacheLimits){
                .max_rpm_size = cfg->cache_max_rpm_size,
                .max_file_size = cfg->cache_max_file_size,
                .max_package_files = cfg->cache_max_package_files,
                .keep_roots = cfg->cache_keep_roots,
                .max_size = cfg->cache_max_size,
                .partial_size = cfg->cache_partial_extract_size,
                .repo_dir = cfg->repo_dir,
        };
}
