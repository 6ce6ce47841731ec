/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cache-debuginfod.h"
#include "cache-plugin.h"
#include "cache-store.h"
#include "common-config.h"
#include "daemon-queue.h"
#include "daemon-store.h"

/* Everything a worker needs to retrace a task (coredump or vmcore). The cache index is shared by the workers
 * and the HTTP threads: cache_lock serializes its use. */
typedef struct Pipeline {
        const RetraceConfig *config;
        TaskStore *store;
        Cache *cache;
        pthread_mutex_t cache_lock;
        Plugin **plugins;
        size_t n_plugins;
        uint64_t roots_reused, roots_assembled; /* for /metrics */
        /* Tasks whose end could not be written to the store (full disk, locked database): they stay
         * PENDING there, are not queued again, and pipeline_retry_unsaved() writes their
         * FINISHED_FAILURE with a growing delay. */
        pthread_mutex_t unsaved_lock;
        struct UnsavedTask *unsaved;
        size_t n_unsaved;
        uint64_t cache_bytes; /* objects + roots, measured by the last eviction pass */
        bool cache_bytes_measured;
        /* identical uploads (daemon-pipeline-reuse.c): content hashes of the tasks running now */
        pthread_mutex_t reuse_lock;
        pthread_cond_t reuse_cond;
        char **reuse_running;
} Pipeline;

typedef struct UnsavedTask {
        uint64_t id;
        int64_t next_usec;  /* monotonic */
        int64_t delay_usec; /* doubles after every failed attempt, at most UNSAVED_MAX_DELAY_USEC */
} UnsavedTask;

#define UNSAVED_FIRST_DELAY_USEC (2 * 1000000LL)
#define UNSAVED_MAX_DELAY_USEC   (300 * 1000000LL)

/* Whether the task's end waits to be written: the maintenance loop must not queue it again. */
bool pipeline_task_unsaved(Pipeline *p, uint64_t id);
/* Tries to write FINISHED_FAILURE for every unsaved task that is due; called by the maintenance loop. */
void pipeline_retry_unsaved(Pipeline *p);

/* Missing debuginfo: restarts the finished tasks waiting for build-ids of which a sync brought one
 * (looked up again only after the index changed); *ret_restarted counts them. */
int pipeline_retry_waiting(Pipeline *p, unsigned *ret_restarted);
/* The start of RetryMissingDebuginfo's window (CLOCK_REALTIME µs): tasks waiting since then count. */
int64_t pipeline_waiting_since(const Pipeline *p);

/* Sets up the identical-upload bookkeeping (before any task runs). */
void pipeline_reuse_init(Pipeline *p);

/* Loads every plugin (*.conf) of PluginDir; a bad file is an error naming it. */
int pipeline_load_plugins(Pipeline *p, char **ret_error);
void pipeline_done(Pipeline *p);

/* The releases tasks can be retraced for: those the cache holds packages of. */
int pipeline_supported_releases(Pipeline *p, char ***ret);

/* The release ids /settings lists: for every synced release whose cores a debugger here reads (another
 * architecture than the host's needs gdb_foreign_package in the host's release) its spellings by clients
 * (the plugin's clientrelease templates) that contain no space, the first template's first, then our own
 * ids. */
int pipeline_client_releases(Pipeline *p, char ***ret);
/* Maps a release id as a client spells it ("fedora-40-x86_64", "rhel-9.4-x86_64", ours) to the synced
 * release it names (*ret_release). -ENOENT with *ret_message saying why: a release that a plugin
 * reads but that was never synced names the retrace-server-reposync to run; any other lists the
 * supported releases. */
int pipeline_map_release(Pipeline *p, const char *id, char **ret_release, char **ret_message);

/* Runs one task (a TaskRunFunc for the queue): analyze, prepare, run gdb (crash for a vmcore) in the
 * sandbox, collect. Results go to SaveDir/<id>/results/{log,backtrace,exploitable,…}; the status to
 * the store. When the
 * job is cancelled the task is left as it is (deleted, or requeued at the next start). */
void pipeline_run(void *userdata, TaskJob *job);

/* An interactive session's root (daemon-interact.h): the packages of spec extracted again where they were
 * evicted, the root assembled (or reused) and pinned. ret_fds[0] holds the cache lock, ret_fds[1] the
 * root's pin: close both when the session ends. A failure may name its cause in *ret_reason. */
typedef struct InteractiveSpec InteractiveSpec;
int pipeline_interactive_root(Pipeline *p, const InteractiveSpec *spec, char **ret_root, int ret_fds[2],
                              char **ret_reason);

/* Measures the package cache and evicts least recently used packages down to CacheMaxSize (nothing
 * without one); skipped while a task is preparing its root (the next task's end tries again).
 * Called at start and after each task. */
void pipeline_evict(Pipeline *p);
/* The package cache's use, limit, hits, misses and evictions in Prometheus' text format. */
void pipeline_render_cache_metrics(Pipeline *p, FILE *f);

/* Whether nvr.arch is in the cache (for release, when not NULL): /checkpackage. */
int pipeline_package_known(Pipeline *p, const char *nvr, const char *arch, const char *release, bool *ret);

/* debuginfod: the file kind names for build_id from the synced packages (cache_debuginfod_find()
 * under cache_lock, which an extraction releases); a failure other than none is logged. */
int pipeline_debuginfod_find(Pipeline *p, DebuginfodKind kind, const char *build_id, const char *arg,
                             DebuginfodFile *ret);

/* Which release a crash comes from, given its files (any may be NULL): os_release (or release)
 * through the plugins' abrtparser, else os_info's ID/NAME and VERSION_ID, else guessparser over
 * the release tag of package. arch completes the release id. Pure apart from the plugins. */
int pipeline_detect_release(Pipeline *p, const char *os_release, const char *os_info, const char *package,
                            const char *arch, const Plugin **ret_plugin, char **ret_release);
