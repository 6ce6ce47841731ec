/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The HTTP layer's defences against clients that hold connections or guess passwords
 * (daemon-http-guard.c), and the worker pools that keep slow work off libmicrohttpd's event loops. Not
 * for other parts. */

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common-config.h"

/* A pool of threads running jobs in order, except that one client (WorkItem.key, see
 * http_guard_client_key()) runs on at most half of the threads at once. A job's connection is suspended
 * while it waits and runs; the job answers and resumes it. */
typedef struct WorkItem {
        struct WorkItem *next;
        void (*run)(struct WorkItem *w);
        uint8_t key[17];
} WorkItem;

typedef struct WorkSlot {
        struct WorkPool *pool;
        bool busy;
        uint8_t key[17]; /* the client whose work runs */
} WorkSlot;

typedef struct WorkPool {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        WorkItem *head, **tail;
        pthread_t *threads;
        WorkSlot *slots; /* one per thread */
        unsigned n_threads;
        unsigned per_client; /* threads one client may hold */
        unsigned queued;
        bool stopping;
} WorkPool;

int work_pool_start(WorkPool *p, unsigned n_threads, const char *name);
/* Runs w on a thread of the pool; once the pool is stopping, at once in the caller. */
void work_pool_submit(WorkPool *p, WorkItem *w);
/* Runs what is queued, then ends the threads. */
void work_pool_stop(WorkPool *p);

/* Where a connection is: only the request head and the body are under a deadline (a request being
 * worked on, or its answer going out, is not the client's doing). */
typedef enum ConnPhase {
        CONN_HEAD, /* waiting for (the rest of) a request head: RequestHeadTimeout */
        CONN_BODY, /* receiving a body: MinUploadRate over UploadRateWindow */
        CONN_BUSY, /* the request is being answered */
} ConnPhase;

typedef struct HttpGuard HttpGuard;

/* Starts the sweeper thread that closes connections over their deadline. */
int http_guard_new(const RetraceConfig *cfg, HttpGuard **ret);
HttpGuard *http_guard_free(HttpGuard *g);
/* MHD_OPTION_NOTIFY_CONNECTION, with the guard as cls. */
void http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
void http_guard_set_phase(struct MHD_Connection *c, ConnPhase phase);
/* n bytes of a body arrived. */
void http_guard_body(struct MHD_Connection *c, size_t n);
/* Connections closed for their head or their upload rate, for /metrics. */
void http_guard_counts(HttpGuard *g, uint64_t *ret_slow_head, uint64_t *ret_slow_body,
                       uint64_t *ret_limited);

/* The client of c as a key (family and address, IPv6 by /64); behind TrustedProxy the address the proxy
 * names in X-Forwarded-For. Also its text. */
void http_guard_client_key(HttpGuard *g, struct MHD_Connection *c, uint8_t key[static 17],
                           char address[static INET6_ADDRSTRLEN]);

/* A password check from the client of c (behind TrustedProxy: the address the proxy names). Returns
 * false, with the seconds after which to try again, when the address or all clients together are over
 * their budget of failed checks: the check must not be made (answer 429). Otherwise the check holds one
 * unit of both budgets until http_guard_password_end(), which gives it back when the password was right
 * and logs failures (at once for the first from an address, then one line per address and interval). */
bool http_guard_password_begin(HttpGuard *g, struct MHD_Connection *c, unsigned *ret_retry_after);
void http_guard_password_end(HttpGuard *g, struct MHD_Connection *c, bool ok, const char *what);

/* A debuginfod request from the client of c: false, with the seconds after which to try again, when
 * the address or all clients together are over DebuginfodRequestsPerAddress / DebuginfodRequestsTotal
 * (answer 429); otherwise it takes one token of both. */
bool http_guard_request_begin(HttpGuard *g, struct MHD_Connection *c, unsigned *ret_retry_after);
/* debuginfod requests answered 429, for /metrics. */
uint64_t http_guard_requests_limited(HttpGuard *g);
