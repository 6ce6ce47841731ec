/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cache-store.h"

/* Pure: the key of a package set, a hex sha256 over the sorted, de-duplicated sha256s of its RPMs,
 * so the same set always maps to the same root whatever the order it was asked in. */
int cache_root_key(char *const *sha256s, size_t n, char **ret);

typedef struct AssembleResult {
        char *path;        /* CacheDir/roots/<key> */
        bool reused;       /* an existing root was returned */
        uint64_t files;    /* entries created (0 when reused) */
        uint64_t copied;   /* regular files copied instead of hardlinked (EMLINK, EXDEV) */
        uint64_t left_out; /* files of partially extracted packages not extracted (yet) */
} AssembleResult;
void assemble_result_done(AssembleResult *r);

/* Builds (or reuses) the root for the packages ids: directories, hardlinks to objects (copies when a
 * hardlink is impossible), symlinks, modes; plus empty /dev, /proc, /sys and /tmp as mount points.
 * Every entry is created relative to the tree with symlinks resolved inside it (openat2
 * RESOLVE_IN_ROOT), so no symlink in any package can make assembly write outside the tree. The
 * root is built in tmp/ and renamed into roots/ when complete. On failure *ret_reason says what
 * went wrong with which path. Prunes least recently used roots beyond CacheKeepRoots afterwards. */
int cache_assemble(Cache *c, const int64_t *ids, size_t n, AssembleResult *ret, char **ret_reason);

/* Roots used within this many seconds are never pruned (a task may still be running in them). */
#define CACHE_ROOT_MIN_AGE_SEC (60 * 60)
