/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cache-debuginfod.h"
#include "common-config.h"
#include "daemon-http-guard.h"
#include "daemon-store.h"

/* Why an upload was refused, counted for /metrics. */
typedef enum Refusal {
        REFUSAL_HTTPS,
        REFUSAL_FULL,
        REFUSAL_METHOD,
        REFUSAL_CONTENT_TYPE,
        REFUSAL_NO_LENGTH,
        REFUSAL_PACKED_SIZE,
        REFUSAL_DISK,
        REFUSAL_UNPACKED_SIZE,
        REFUSAL_MALICIOUS,
        REFUSAL_BAD_ARCHIVE,
        REFUSAL_TYPE,
        REFUSAL_MISSING_FILE,
        REFUSAL_STORE, /* the shared task store cannot be reached */
        _REFUSAL_MAX,
} Refusal;

/* How a debuginfod request ended, counted for /metrics per endpoint. */
typedef enum DebuginfodOutcome {
        DEBUGINFOD_HIT,
        DEBUGINFOD_MISS,
        DEBUGINFOD_REFUSED, /* a bad source path, over X-DEBUGINFOD-MAXSIZE */
        DEBUGINFOD_ERROR,
        _DEBUGINFOD_OUTCOME_MAX,
} DebuginfodOutcome;

typedef struct InteractiveSpec InteractiveSpec;

typedef struct HttpServer {
        const RetraceConfig *config;
        TaskStore *store;
        /* Starts the names of this process's upload spools (task_spool_create()). */
        const char *spool_owner;
        /* The one way into the rest of the daemon: the task queue and the package cache (main.c wires
         * them to daemon-queue.c and daemon-pipeline.c). Any may be NULL. */
        void *userdata;
        /* Holds a place in the queue for an upload being received (-EAGAIN when full); released once
         * the upload became a task or failed. */
        int (*queue_reserve)(void *userdata);
        void (*queue_release)(void *userdata);
        unsigned (*load)(void *userdata); /* running + queued tasks */
        unsigned (*queue_running)(void *userdata);
        unsigned (*queue_waiting)(void *userdata);
        void (*task_created)(void *userdata, uint64_t id);
        /* Stops the task's work and removes it (directory and store row); how says who asked. */
        void (*task_delete)(void *userdata, uint64_t id, const char *how);
        /* The releases the cache holds packages of. */
        int (*supported_releases)(void *userdata, char ***ret);
        /* The synced release that a client's spelling of a release id names; -ENOENT with a message
         * (which release to sync, or the supported ones) when none. */
        int (*release_lookup)(void *userdata, const char *id, char **ret_release, char **ret_message);
        /* Whether nvr.arch is in the cache (for release, when not NULL). */
        int (*package_known)(void *userdata, const char *nvr, const char *arch, const char *release,
                             bool *ret);
        /* debuginfod: the file kind names for build_id (arg: the canonical source path, or the section
         * name) from the synced packages; -ENOENT when there is none. */
        int (*debuginfod_find)(void *userdata, DebuginfodKind kind, const char *build_id, const char *arg,
                               DebuginfodFile *ret);
        /* Task roots reused and assembled, for /metrics. */
        void (*root_counts)(void *userdata, uint64_t *ret_reused, uint64_t *ret_assembled);
        /* The package cache's metrics (use, limit, hits, misses, evictions), appended to /metrics. */
        void (*cache_metrics)(void *userdata, FILE *f);
        /* An interactive session's root (pipeline_interactive_root()): ret_fds hold it until closed. */
        int (*interactive_root)(void *userdata, const InteractiveSpec *spec, char **ret_root, int ret_fds[2],
                                char **ret_reason);

        /* Internal. */
        struct MHD_Daemon *mhd;
        int save_dirfd;
        int webui_dirfd; /* WebUIDir, -EBADF when it cannot be opened */
        uint64_t refused[_REFUSAL_MAX];
        uint64_t debuginfod_requests[_DEBUGINFOD_KIND_MAX][_DEBUGINFOD_OUTCOME_MAX];
        uint64_t debuginfod_bytes[_DEBUGINFOD_KIND_MAX];
        HttpGuard *guard;
        WorkPool requests;              /* answers requests off the event loops (HTTPWorkers) */
        WorkPool unpacks;               /* turns received uploads into tasks (UnpackWorkers) */
        struct InteractState *interact; /* tokens and sessions (daemon-http-interact.c) */
} HttpServer;

/* Listens on config->listen ("ADDR:PORT", "[ADDR]:PORT"); HTTPS when TLSCertificate and TLSKey are
 * set. Error messages name the cause in *ret_error. */
int http_server_start(HttpServer *s, char **ret_error);
void http_server_stop(HttpServer *s);
