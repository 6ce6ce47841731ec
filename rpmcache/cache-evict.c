/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-evict.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache-objects.h"
#include "common-fd.h"
#include "common-path.h"
#include "common-string.h"

static int open_evict_lock(Cache *c)
{
        int fd = openat(c->dir_fd, "evict.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

        return fd < 0 ? -errno : fd;
}

int cache_use_lock(Cache *c, bool (*keep_waiting)(void *userdata), void *userdata, int *ret_fd)
{
        _cleanup_close_ int fd = open_evict_lock(c);

        if (fd < 0)
                return fd;
        /* Polled: eviction may run for a while, and the caller may be told to give up meanwhile. */
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

int cache_record_use(CacheIndex *idx, const int64_t *ids, size_t n, uint64_t misses)
{
        int r;

        r = cache_index_begin(idx);
        if (r < 0)
                return r;
        r = cache_index_touch_packages(idx, ids, n, (int64_t) time(NULL));
        if (r >= 0)
                r = cache_index_counter_add(idx, "hits", n > misses ? n - misses : 0);
        if (r >= 0)
                r = cache_index_counter_add(idx, "misses", misses);
        if (r < 0) {
                (void) cache_index_rollback(idx);
                return r;
        }
        return cache_index_commit(idx);
}

int cache_use(CacheIndex *idx, CacheUse *ret)
{
        CacheUse u = {};
        int r;

        r = cache_index_use(idx, &u.object_bytes, &u.root_bytes);
        if (r >= 0)
                r = cache_index_counter_get(idx, "hits", &u.hits);
        if (r >= 0)
                r = cache_index_counter_get(idx, "misses", &u.misses);
        if (r >= 0)
                r = cache_index_counter_get(idx, "evicted-packages", &u.evicted_packages);
        if (r >= 0)
                r = cache_index_counter_get(idx, "evicted-bytes", &u.evicted_bytes);
        if (r < 0)
                return r;
        *ret = u;
        return 0;
}

static _Thread_local uint64_t root_bytes_sum;

static int add_root_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        if (flag == FTW_D || flag == FTW_DP || flag == FTW_SL || flag == FTW_SLN ||
            (flag == FTW_F && (!S_ISREG(st->st_mode) || st->st_nlink == 1)))
                root_bytes_sum += (uint64_t) st->st_blocks * 512;
        return 0;
}

int cache_root_bytes(const char *path, uint64_t *ret)
{
        root_bytes_sum = 0;
        if (nftw(path, add_root_entry, 16, FTW_PHYS) < 0)
                return -errno;
        *ret = root_bytes_sum;
        return 0;
}

/* ---- eviction */

typedef struct IdSet {
        int64_t *ids;
        size_t n, alloc;
} IdSet;

static bool id_set_contains(const IdSet *s, int64_t id)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->ids[i] == id)
                        return true;
        return false;
}

static int id_set_add(IdSet *s, int64_t id)
{
        if (id_set_contains(s, id))
                return 0;
        if (ARRAY_RESERVE(s->ids, s->alloc, s->n + 1) < 0)
                return -ENOMEM;
        s->ids[s->n++] = id;
        return 0;
}

/* Roots on disk: pinned ones add their recorded packages to pinned; records of roots that are gone
 * are dropped. */
static int find_pinned(Cache *c, CacheIndex *idx, IdSet *pinned, uint64_t *ret_pinned_roots)
{
        _cleanup_strv_free_ char **recorded = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        int r;

        r = cache_index_list_roots(idx, &recorded);
        if (r < 0)
                return r;
        STRV_FOREACH (k, recorded)
                if (faccessat(c->roots_fd, *k, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
                        (void) cache_index_forget_root(idx, *k);
        r = dir_open_at(c->roots_fd, ".", &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ int64_t *ids = NULL;
                size_t n = 0;

                if (de->d_name[0] == '.')
                        continue;
                r = cache_root_in_use(c, de->d_name);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                (*ret_pinned_roots)++;
                r = cache_index_root_packages(idx, de->d_name, &ids, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        r = id_set_add(pinned, ids[i]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

typedef struct RemoveState {
        Cache *cache;
        char **referenced;
        size_t n_referenced;
        uint64_t bytes;
} RemoveState;

static int remove_object(int algo, const char *digest, mode_t mode, void *userdata)
{
        RemoveState *s = userdata;
        _cleanup_free_ char *name = NULL;
        struct stat st;
        int r;

        r = cache_object_name(algo, digest, mode, &name);
        if (r == -EINVAL)
                return 0;
        if (r < 0)
                return r;
        if (cache_object_referenced(s->referenced, s->n_referenced, name))
                return 0;
        if (fstatat(s->cache->objects_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (unlinkat(s->cache->objects_fd, name, 0) < 0)
                return errno == ENOENT ? 0 : -errno;
        s->bytes += (uint64_t) st.st_blocks * 512;
        return 0;
}

/* Evicts the packages of victims: their roots go, they are marked not extracted (first: a crash
 * half-way leaves unreferenced objects for gc, never an extracted package with objects missing),
 * then their objects that no extracted package references any more are deleted. */
static int evict_batch(Cache *c, CacheIndex *idx, IdSet *victims, CacheEvictResult *res)
{
        RemoveState s = { .cache = c };
        size_t kept = 0;
        int r;

        for (size_t i = 0; i < victims->n; i++) {
                _cleanup_strv_free_ char **roots = NULL;
                bool busy = false;

                r = cache_index_package_roots(idx, victims->ids[i], &roots);
                if (r < 0)
                        return r;
                STRV_FOREACH (k, roots)
                        if (cache_root_in_use(c, *k) != 0)
                                busy = true;
                if (busy) /* pinned without a record of it: leave the package */
                        continue;
                STRV_FOREACH (k, roots) {
                        r = cache_remove_root(c, *k);
                        if (r < 0)
                                return r;
                        r = cache_index_forget_root(idx, *k);
                        if (r < 0)
                                return r;
                        res->roots++;
                }
                victims->ids[kept++] = victims->ids[i];
        }
        victims->n = kept;
        if (kept == 0)
                return 0;

        r = cache_index_begin(idx);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < victims->n; i++)
                r = cache_index_set_extracted(idx, victims->ids[i], false);
        if (r >= 0)
                r = cache_index_counter_add(idx, "evicted-packages", victims->n);
        if (r < 0) {
                (void) cache_index_rollback(idx);
                return r;
        }
        r = cache_index_commit(idx);
        if (r < 0)
                return r;
        res->packages += victims->n;

        r = cache_referenced_objects(idx, &s.referenced, &s.n_referenced);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < victims->n; i++)
                r = cache_index_foreach_package_object(idx, victims->ids[i], remove_object, &s);
        for (size_t i = 0; i < s.n_referenced; i++)
                free(s.referenced[i]);
        free(s.referenced);
        res->bytes += s.bytes;
        (void) cache_index_counter_add(idx, "evicted-bytes", s.bytes);
        return r;
}

/* ---- the daemon's gdb indexes: CacheDir/gdb-index/<build-id>.gdb-index (daemon/daemon-gdbindex.c) */

#define GDB_INDEX_DIR "gdb-index"

static bool gdb_index_name(const char *name, char build_id[static 129])
{
        size_t n = strlen(name);

        if (n <= STRLEN(".gdb-index") || n - STRLEN(".gdb-index") > 128 ||
            !string_endswith(name, ".gdb-index"))
                return false;
        n -= STRLEN(".gdb-index");
        if (strspn(name, "0123456789abcdef") != n)
                return false;
        memcpy(build_id, name, n);
        build_id[n] = '\0';
        return true;
}

int cache_gdb_index_bytes(Cache *c, uint64_t *ret)
{
        _cleanup_closedir_ DIR *d = NULL;
        uint64_t sum = 0;
        int r;

        r = dir_open_at(c->dir_fd, GDB_INDEX_DIR, &d);
        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;

                if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
                    S_ISREG(st.st_mode))
                        sum += (uint64_t) st.st_blocks * 512;
        }
        *ret = sum;
        return 0;
}

/* Whether some package holding build_id's debug file is in the store (whole or in part); true when
 * the index knows no package with it (a dwz alt file without a build-id link: its index is tiny). */
static int gdb_index_wanted(CacheIndex *idx, const char *build_id, bool *ret)
{
        BuildIdHit *hits = NULL;
        size_t n = 0;
        bool wanted = true;
        int r;

        r = cache_index_lookup_build_id(idx, build_id, NULL, &hits, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                bool extracted = false;
                uint64_t generation = 0;

                if (i == 0)
                        wanted = false;
                if ((cache_index_get_extracted(idx, hits[i].package.id, &extracted) >= 0 && extracted) ||
                    (cache_index_get_partial(idx, hits[i].package.id, &generation) >= 0 && generation > 0)) {
                        wanted = true;
                        break;
                }
        }
        build_id_hit_array_free(hits, n);
        *ret = wanted;
        return 0;
}

/* Deletes the indexes whose debug files were evicted with their packages (an index is of use only
 * with its debug file; a later task that extracts it again builds the index again). */
static int evict_gdb_indexes(Cache *c, CacheIndex *idx, CacheEvictResult *res)
{
        _cleanup_closedir_ DIR *d = NULL;
        int r;

        r = dir_open_at(c->dir_fd, GDB_INDEX_DIR, &d);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                char build_id[129];
                struct stat st;
                bool wanted;

                if (!gdb_index_name(de->d_name, build_id))
                        continue;
                r = gdb_index_wanted(idx, build_id, &wanted);
                if (r < 0)
                        return r;
                if (wanted || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                res->gdb_indexes++;
                res->bytes += (uint64_t) st.st_blocks * 512;
        }
        return 0;
}

static int current_use(Cache *c, CacheIndex *idx, uint64_t *ret)
{
        uint64_t objects, roots, indexes;
        int r;

        r = cache_index_use(idx, &objects, &roots);
        if (r < 0)
                return r;
        r = cache_gdb_index_bytes(c, &indexes);
        if (r < 0)
                return r;
        *ret = objects + roots + indexes;
        return 0;
}

int cache_evict(Cache *c, CacheIndex *idx, uint64_t max_size, bool wait, CacheEvictResult *ret)
{
        _cleanup_close_ int lock_fd = -EBADF;
        _cleanup_free_ CacheLruEntry *lru = NULL;
        IdSet pinned = {};
        CacheEvictResult res = {};
        size_t n_lru = 0, next = 0;
        uint64_t use;
        int r;

        lock_fd = open_evict_lock(c);
        if (lock_fd < 0)
                return lock_fd;
        while (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (!wait) {
                        res.busy = true;
                        goto done;
                }
                (void) usleep(50 * 1000);
        }
        r = find_pinned(c, idx, &pinned, &res.pinned_roots);
        if (r < 0)
                goto finish;
        r = current_use(c, idx, &use);
        if (r < 0)
                goto finish;
        res.use_before = res.use_after = use;
        if (max_size == 0 || use <= max_size)
                goto finish;
        r = cache_index_lru_extracted(idx, &lru, &n_lru);
        if (r < 0)
                goto finish;
        while (use > max_size && next < n_lru) {
                IdSet victims = {};
                uint64_t estimate = 0;

                /* Enough packages, by their files' sizes, to get under the limit; shared objects
                 * free less, so the use is measured again after each batch. */
                for (; next < n_lru && estimate < use - max_size; next++) {
                        if (id_set_contains(&pinned, lru[next].id))
                                continue;
                        r = id_set_add(&victims, lru[next].id);
                        if (r < 0)
                                break;
                        estimate += MAX(lru[next].bytes, 1u);
                }
                if (r >= 0 && victims.n > 0)
                        r = evict_batch(c, idx, &victims, &res);
                free(victims.ids);
                if (r >= 0 && res.packages > 0)
                        r = evict_gdb_indexes(c, idx, &res);
                if (r < 0)
                        goto finish;
                r = current_use(c, idx, &use);
                if (r < 0)
                        goto finish;
        }
        res.use_after = use;
        r = 0;
finish:
        free(pinned.ids);
        if (r < 0)
                return r;
done:
        if (ret)
                *ret = res;
        return 0;
}
