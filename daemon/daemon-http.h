/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "common-config.h"
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
        _REFUSAL_MAX,
} Refusal;

typedef struct Pipeline Pipeline;

typedef struct HttpServer {
        const RetraceConfig *config;
        TaskStore *store;
        Pipeline *pipeline; /* releases, /checkpackage; may be NULL */

        /* Hooks into the task queue; any may be NULL. */
        void *userdata;
        bool (*queue_is_full)(void *userdata);
        unsigned (*load)(void *userdata); /* running + queued tasks */
        unsigned (*queue_running)(void *userdata);
        unsigned (*queue_waiting)(void *userdata);
        void (*task_created)(void *userdata, uint64_t id);
        void (*task_deleted)(void *userdata, uint64_t id);

        /* Internal. */
        struct MHD_Daemon *mhd;
        int save_dirfd;
        int webui_dirfd; /* WebUIDir, -EBADF when it cannot be opened */
        uint64_t refused[_REFUSAL_MAX];
} HttpServer;

/* Listens on config->listen ("ADDR:PORT", "[ADDR]:PORT"); HTTPS when TLSCertificate and TLSKey are
 * set. Error messages name the cause in *ret_error. */
int http_server_start(HttpServer *s, char **ret_error);
void http_server_stop(HttpServer *s);
