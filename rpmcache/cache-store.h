/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cache-index.h"
#include "common-macro.h"

/* CacheDir layout:
 *   index.sqlite   package index (WAL)
 *   objects/       file objects (cache-objects.h)
 *   roots/         assembled roots, one directory per package set
 *   tmp/           staging for imports and roots being built; emptied by gc
 *   locks/         one flock file per package being extracted (locks/<sha256>)
 *   lock           flock: importers and assemblers hold it shared, gc exclusive
 *   evict.lock     flock: extraction, assembly and pinning a root hold it shared, eviction
 *                  exclusive (cache-evict.h) */
typedef struct CacheLimits {
        uint64_t max_rpm_size;
        uint64_t max_file_size;
        unsigned max_package_files;
        unsigned keep_roots;
        uint64_t max_size;     /* CacheMaxSize: objects + roots (cache-evict.h); 0: no limit */
        uint64_t partial_size; /* CachePartialExtractSize: debuginfo packages above it (installed size)
                                * are extracted only for the files asked for (cache-extract.h) */
        const char *repo_dir;  /* RepoDir: the stored RPMs (packages/<xx>/<sha256>.rpm) that packages
                                * not yet extracted are extracted from; NULL: none */
} CacheLimits;

typedef struct Cache {
        char *dir;
        int dir_fd;
        int objects_fd;
        int roots_fd;
        int tmp_fd;
        int lock_fd;
        char *repo_dir; /* copy of limits.repo_dir (limits.repo_dir points here) */
        CacheIndex *index;
        CacheLimits limits;
        /* The lock under which the caller uses index (the daemon's cache mutex), when it has one:
         * a lookup that must extract a package releases it for the extraction (which uses index
         * connections of its own), so that other threads use the index meanwhile, and takes it
         * again before touching the index. NULL: none. */
        void (*index_unlock)(void *userdata);
        void (*index_lock)(void *userdata);
        void *index_lock_userdata;
} Cache;

/* Opens (creating when missing) the cache in dir. */
int cache_open(const char *dir, const CacheLimits *limits, Cache **ret);
Cache *cache_close(Cache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Cache *, cache_close);

/* flock(2) on CacheDir/lock: LOCK_SH for work that adds objects or links to them, LOCK_EX for gc. */
int cache_lock(Cache *c, int operation);
void cache_unlock(Cache *c);
/* A shared lock on a file description of its own, for one of several threads of a process (flock
 * locks belong to the open file: threads sharing lock_fd would release each other's). Closing the
 * fd releases it. While the lock is taken exclusively, keep_waiting (may be NULL) is asked every
 * 50 ms whether to go on waiting; -ECANCELED when it says no. */
int cache_lock_shared(Cache *c, bool (*keep_waiting)(void *userdata), void *userdata, int *ret_fd);

/* Makes a fresh private directory under tmp/ whose name starts with prefix; returns its name
 * (relative to tmp/) and an fd to it. */
int cache_make_tmpdir(Cache *c, const char *prefix, char **ret_name, int *ret_fd);

typedef struct CacheDiskUse {
        uint64_t objects;
        uint64_t object_bytes; /* st_blocks * 512 */
        uint64_t roots;
} CacheDiskUse;
/* Walks objects/ and roots/. */
int cache_disk_use(Cache *c, CacheDiskUse *ret);

/* verify: re-hashes every object referenced by the index. cb (may be NULL) is called for each bad
 * or missing object with a reason; returns the number of bad objects. */
typedef void (*CacheVerifyCallback)(const char *object, const char *reason, void *userdata);
int cache_verify(Cache *c, CacheVerifyCallback cb, void *userdata, uint64_t *ret_checked);

typedef struct CacheGcResult {
        uint64_t objects_removed;
        uint64_t bytes_removed;
        uint64_t roots_removed;
        uint64_t tmp_removed;
} CacheGcResult;
/* Drops objects no package references, roots beyond keep_roots (least recently used first, and
 * only those unused for min_root_age_sec), and leftovers in tmp/. Takes the lock exclusively, so
 * it waits for running imports and assemblies and is safe while the daemon runs. */
int cache_gc(Cache *c, uint64_t min_root_age_sec, CacheGcResult *ret);
/* Prunes roots only (least recently used beyond keep_roots, unused for min_root_age_sec); keep
 * is never removed. Called after each assembly. Caller holds the lock shared. */
int cache_prune_roots(Cache *c, const char *keep, uint64_t min_root_age_sec, uint64_t *ret_removed);

/* A root in use: whoever runs in roots/<name> holds a shared flock on the directory (cache_root_pin(),
 * the returned fd; closing it unpins). cache_root_in_use() says 1 while anyone holds one; pruning,
 * gc and eviction never remove such a root. */
int cache_root_pin(Cache *c, const char *name, int *ret_fd);
int cache_root_in_use(Cache *c, const char *name);
/* Moves roots/<name> into tmp/ (atomic) and deletes it; the index's record is the caller's. */
int cache_remove_root(Cache *c, const char *name);

/* The names of the objects extracted packages reference (sorted; free each and the array), and a
 * lookup in them. */
int cache_referenced_objects(CacheIndex *idx, char ***ret, size_t *ret_n);
bool cache_object_referenced(char *const *sorted, size_t n, const char *name);

typedef struct RetraceConfig RetraceConfig;
/* The cache limits configured in retrace-server.conf. */
void cache_limits_from_config(const RetraceConfig *cfg, CacheLimits *ret);
