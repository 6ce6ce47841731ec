/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cache-store.h"

/* The bounded cache (CacheMaxSize): the objects of extracted packages (their files' sizes, each
 * distinct object once) plus the daemon's gdb indexes plus the assembled roots' own bytes (directories,
 * symlinks, copies; their hardlinks to objects count as the objects) are kept under the limit by evicting
 * the least recently used packages: their roots are removed, they are marked not extracted, and their
 * objects that no remaining extracted package references are deleted. A later task extracts them
 * again from the stored RPM.
 *
 * Never a running task's: a task (or anyone running in a root) pins its root with a shared flock
 * on the root's directory (cache_root_pin()); eviction leaves every package of a pinned root and the
 * root itself. So that nothing is evicted between extracting a package, assembling a root with it
 * and pinning that root, those hold CacheDir/evict.lock shared (cache_use_lock()); eviction takes it
 * exclusively. */

/* A shared flock on CacheDir/evict.lock, on a file description of its own (closing the fd releases
 * it); keep_waiting (may be NULL) is asked every 50 ms while eviction holds it. */
int cache_use_lock(Cache *c, bool (*keep_waiting)(void *userdata), void *userdata, int *ret_fd);

/* A root needed the packages ids, misses of which had to be extracted for it: records their use
 * (last use = now) and the hit and miss counters. */
int cache_record_use(CacheIndex *idx, const int64_t *ids, size_t n, uint64_t misses);

typedef struct CacheEvictResult {
        bool busy;           /* evict.lock was held by others (wait = false): nothing done */
        uint64_t use_before; /* bytes */
        uint64_t use_after;
        uint64_t packages;    /* evicted */
        uint64_t bytes;       /* of objects deleted (st_blocks) */
        uint64_t roots;       /* removed */
        uint64_t gdb_indexes; /* CacheDir/gdb-index files deleted with their debug files (in bytes too) */
        uint64_t pinned_roots;
} CacheEvictResult;

/* Evicts until the cache is at most max_size bytes (0: nothing to do), or only pinned packages are
 * left. idx is an index connection the caller may use now (c->index or one of the caller's). With
 * wait = false gives up at once when evict.lock is busy. */
int cache_evict(Cache *c, CacheIndex *idx, uint64_t max_size, bool wait, CacheEvictResult *ret);

typedef struct CacheUse {
        uint64_t object_bytes;
        uint64_t root_bytes;
        uint64_t hits;   /* packages a root needed that were extracted already */
        uint64_t misses; /* packages extracted because a root or a lookup needed them */
        uint64_t evicted_packages;
        uint64_t evicted_bytes;
} CacheUse;
int cache_use(CacheIndex *idx, CacheUse *ret);

/* The bytes of the daemon's gdb indexes (CacheDir/gdb-index/<build-id>.gdb-index, built at extraction
 * by daemon/daemon-gdbindex.c): part of the use that CacheMaxSize bounds. After packages are evicted,
 * the indexes of debug files that no extracted package holds any more are deleted too. */
int cache_gdb_index_bytes(Cache *c, uint64_t *ret);

/* The bytes a root takes besides the objects it links (directories, symlinks, files with one link). */
int cache_root_bytes(const char *path, uint64_t *ret);
