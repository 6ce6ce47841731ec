/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "cache-plugin.h"
#include "cache-store.h"
#include "common-config.h"

/* RepoDir layout:
 *   packages/<xx>/<sha256>.rpm          every RPM ever synced (never deleted by a sync)
 *   metadata/<release>/<repo>/          repomd.xml and primary metadata of the last sync
 *   tmp/<release>/                      downloads in progress (emptied at the start of each sync)
 *   locks/<release>.lock                one sync per release at a time
 * Packages are imported into the cache during the sync, right after their download; a package
 * downloaded by an interrupted run is imported by the next one. */

typedef struct SyncCounters {
        const char *repo;
        uint64_t packages_total;
        uint64_t packages_done;
        uint64_t downloaded;
        uint64_t download_bytes; /* of finished downloads */
        uint64_t current_bytes;  /* of the download in progress */
        uint64_t imported;       /* new in the cache */
        uint64_t refused;
        uint64_t failed_repos;
        uint64_t redownloaded;    /* stored RPMs found damaged and downloaded again */
        uint64_t extracted;       /* packages extracted by the sync (CachePrefetch) */
        uint64_t extracted_bytes; /* objects they wrote */
} SyncCounters;

typedef struct SyncCallbacks {
        /* A finished sentence about something that went wrong but did not stop the sync
         * (a mirror that failed, a package refused), at a syslog level. */
        void (*message)(int level, const char *text, void *userdata);
        /* Counters changed (called often; the callee rate-limits its output). */
        void (*progress)(const SyncCounters *c, void *userdata);
        void *userdata;
} SyncCallbacks;

/* Syncs every enabled repository of plugin for version/arch into RepoDir and the cache. Takes the
 * release lock (-EBUSY when another sync of the release runs). Returns 0 when every repository
 * was synced from some mirror (refused packages are counted, not fatal), -ENOLINK when any
 * repository could not be synced from any mirror. */
int reposync_release(const RetraceConfig *cfg, Cache *cache, const Plugin *plugin, const char *version,
                     const char *arch, const SyncCallbacks *cb, SyncCounters *ret);
