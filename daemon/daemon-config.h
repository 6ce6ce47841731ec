/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The daemon's settings. Defaults come from daemon_config_init(); retrace-server.conf overrides
 * them (key names in parentheses). Sizes are bytes, durations seconds. */
typedef struct DaemonConfig {
        char *listen_address;        /* --listen ADDR:PORT (127.0.0.1) */
        uint16_t port;               /* (8080) */
        char *save_dir;              /* SaveDir: tasks.db and one directory per task */
        unsigned max_parallel_tasks; /* MaxParallelTasks (2) */
        unsigned max_queued_tasks;   /* MaxQueuedTasks (100): more answers 503 */
        uint64_t max_packed_size;    /* MaxPackedSize (50 MiB) */
        uint64_t max_unpacked_size;  /* MaxUnpackedSize (1 GiB) */
        uint64_t min_storage_left;   /* MinStorageLeft (1 GiB) */
        uint64_t max_archive_members;
        bool require_https;    /* RequireHTTPS (no) */
        bool allow_api_delete; /* AllowAPIDelete (no) */
        bool allow_interactive;
        bool allow_metrics; /* AllowMetrics (yes) */
} DaemonConfig;

int daemon_config_init(DaemonConfig *c, const char *save_dir);
void daemon_config_done(DaemonConfig *c);
