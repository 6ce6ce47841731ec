/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Defences of the HTTP layer. libmicrohttpd's own timeout fires only on a silent connection, so a client
 * that trickles its request head or its body a byte at a time would hold its slot for ever: every
 * connection is tracked here (MHD_OPTION_NOTIFY_CONNECTION) and a sweeper thread shuts down the socket of
 * one whose head is not complete within RequestHeadTimeout, or whose body falls below MinUploadRate over
 * an UploadRateWindow; libmicrohttpd then sees the connection end and closes it on its own thread.
 * Password checks are limited by token buckets of failures, per client address and in all, without
 * sleeping anywhere. And the worker pools that run requests while their connection is suspended. */
#include "daemon-http-guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common-log.h"
#include "common-macro.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-http-parse.h"

#define SWEEP_INTERVAL_USEC    (250 * 1000)
#define LOG_INTERVAL_USEC      (10 * 1000000LL) /* one summary line per address (or reason) per interval */
#define LOG_LINES_PER_INTERVAL 20               /* per-address lines; the rest are summed up in one */
#define RATE_TABLE_SIZE        1024             /* addresses whose failures are remembered */

/* ---- worker pools ---- */

/* How many of the pool's threads run work of this client now. */
static unsigned work_pool_running(const WorkPool *p, const uint8_t key[static 17])
{
        unsigned n = 0;

        for (unsigned i = 0; i < p->n_threads; i++)
                if (p->slots[i].busy && memcmp(p->slots[i].key, key, 17) == 0)
                        n++;
        return n;
}

/* The first queued item whose client runs fewer than its share of the threads: a client with many
 * requests cannot take every thread, the others' requests pass its queued ones. */
static WorkItem **work_pool_next(WorkPool *p)
{
        for (WorkItem **pp = &p->head; *pp; pp = &(*pp)->next)
                if (work_pool_running(p, (*pp)->key) < p->per_client)
                        return pp;
        return NULL;
}

static void *work_pool_thread(void *userdata)
{
        WorkSlot *slot = userdata;
        WorkPool *p = slot->pool;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                WorkItem **pp, *w;

                while (!(pp = work_pool_next(p)) && !(p->stopping && !p->head))
                        pthread_cond_wait(&p->wake, &p->lock);
                if (!pp)
                        break;
                w = *pp;
                *pp = w->next;
                if (!*pp)
                        p->tail = pp;
                p->queued--;
                slot->busy = true;
                memcpy(slot->key, w->key, sizeof(slot->key));
                pthread_mutex_unlock(&p->lock);
                w->next = NULL;
                w->run(w);
                pthread_mutex_lock(&p->lock);
                slot->busy = false;
                /* Work of the same client may have become eligible. */
                pthread_cond_broadcast(&p->wake);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

int work_pool_start(WorkPool *p, unsigned n_threads, const char *name)
{
        n_threads = MAX(n_threads, 1U);
        *p = (WorkPool){ .tail = &p->head, .per_client = MAX(n_threads / 2, 1U) };
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->wake, NULL);
        p->threads = calloc(n_threads, sizeof(pthread_t));
        p->slots = calloc(n_threads, sizeof(WorkSlot));
        if (!p->threads || !p->slots) {
                p->threads = mfree(p->threads);
                p->slots = mfree(p->slots);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < n_threads; i++) {
                int r;

                p->slots[i].pool = p;
                r = pthread_create(&p->threads[i], NULL, work_pool_thread, &p->slots[i]);
                if (r != 0) {
                        work_pool_stop(p);
                        return -r;
                }
                (void) pthread_setname_np(p->threads[i], name);
                p->n_threads++;
        }
        return 0;
}

void work_pool_submit(WorkPool *p, WorkItem *w)
{
        pthread_mutex_lock(&p->lock);
        if (p->stopping) {
                pthread_mutex_unlock(&p->lock);
                w->run(w);
                return;
        }
        w->next = NULL;
        *p->tail = w;
        p->tail = &w->next;
        p->queued++;
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);
}

void work_pool_stop(WorkPool *p)
{
        if (!p->threads)
                return;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        p->threads = mfree(p->threads);
        p->slots = mfree(p->slots);
        p->n_threads = 0;
}

/* ---- connections ---- */

typedef struct HttpConn {
        struct HttpConn *prev, *next;
        HttpGuard *guard;
        int fd;
        char address[INET6_ADDRSTRLEN];
        ConnPhase phase;
        int64_t phase_usec;      /* when the phase began */
        int64_t checkpoint_usec; /* CONN_BODY: the start of the current window */
        uint64_t body_bytes;     /* CONN_BODY: received so far (atomic) */
        uint64_t checkpoint_bytes;
        bool closed; /* shut down by the sweeper */
} HttpConn;

typedef struct RateEntry {
        bool used;
        uint8_t key[17]; /* family, then the address (IPv6: its /64) */
        double tokens;
        int64_t refill_usec;
        int64_t logged_usec;      /* the last line about this address */
        unsigned failed, refused; /* since that line */
        char address[INET6_ADDRSTRLEN];
} RateEntry;

typedef struct Reason {
        const char *what;
        uint64_t total, unlogged;
        int64_t logged_usec;
        char last[INET6_ADDRSTRLEN];
} Reason;

struct HttpGuard {
        const RetraceConfig *config;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_t sweeper;
        bool started, stopping;
        HttpConn *conns;
        Reason slow_head, slow_body;

        /* Password failures: per address, and all together. */
        RateEntry table[RATE_TABLE_SIZE];
        double total_tokens;
        int64_t total_refill_usec;
        uint64_t limited; /* checks answered 429 */
        unsigned lines;   /* per-address lines in this interval */
        int64_t lines_usec;
        unsigned unlogged_failed, unlogged_refused, unlogged_addresses;

        /* debuginfod requests: per address, and all together. */
        RateEntry requests[RATE_TABLE_SIZE];
        double requests_tokens;
        int64_t requests_refill_usec;
        uint64_t requests_limited;
};

static HttpConn *conn_of(struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *info =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return info ? info->socket_context : NULL;
}

static void address_text(const struct sockaddr *sa, char buf[static INET6_ADDRSTRLEN])
{
        const void *a =
                !sa                         ? NULL
                : sa->sa_family == AF_INET  ? (const void *) &((const struct sockaddr_in *) sa)->sin_addr
                : sa->sa_family == AF_INET6 ? (const void *) &((const struct sockaddr_in6 *) sa)->sin6_addr
                                            : NULL;

        if (!a || !inet_ntop(sa->sa_family, a, buf, INET6_ADDRSTRLEN))
                strcpy(buf, "?");
}

void http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
        HttpGuard *g = cls;
        HttpConn *conn = *socket_context;
        const union MHD_ConnectionInfo *info;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                conn = calloc(1, sizeof(HttpConn));
                if (!conn)
                        return; /* untracked: libmicrohttpd's own timeout still applies */
                conn->guard = g;
                info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
                conn->fd = info ? info->connect_fd : -1;
                info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
                address_text(info ? info->client_addr : NULL, conn->address);
                conn->phase = CONN_HEAD;
                conn->phase_usec = now_monotonic_usec();
                pthread_mutex_lock(&g->lock);
                conn->next = g->conns;
                if (g->conns)
                        g->conns->prev = conn;
                g->conns = conn;
                pthread_mutex_unlock(&g->lock);
                *socket_context = conn;
                return;
        }
        if (!conn)
                return;
        /* Called before libmicrohttpd closes the socket: once unlinked, the sweeper cannot touch it. */
        pthread_mutex_lock(&g->lock);
        if (conn->prev)
                conn->prev->next = conn->next;
        else
                g->conns = conn->next;
        if (conn->next)
                conn->next->prev = conn->prev;
        pthread_mutex_unlock(&g->lock);
        free(conn);
        *socket_context = NULL;
}

void http_guard_set_phase(struct MHD_Connection *c, ConnPhase phase)
{
        HttpConn *conn = conn_of(c);

        if (!conn)
                return;
        pthread_mutex_lock(&conn->guard->lock);
        conn->phase = phase;
        conn->phase_usec = conn->checkpoint_usec = now_monotonic_usec();
        __atomic_store_n(&conn->body_bytes, 0, __ATOMIC_RELAXED);
        conn->checkpoint_bytes = 0;
        pthread_mutex_unlock(&conn->guard->lock);
}

void http_guard_body(struct MHD_Connection *c, size_t n)
{
        HttpConn *conn = conn_of(c);

        if (conn)
                __atomic_add_fetch(&conn->body_bytes, n, __ATOMIC_RELAXED);
}

/* Logs a closed connection: the first at once, then one line per interval with a count. */
static void reason_note(Reason *r, const HttpConn *conn, int64_t now, const char *limit)
{
        r->total++;
        r->unlogged++;
        strcpy(r->last, conn->address);
        if (r->logged_usec != 0 && now - r->logged_usec < LOG_INTERVAL_USEC)
                return;
        if (r->unlogged == 1)
                log_warning("Closed a connection from %s: %s (%s)", r->last, r->what, limit);
        else
                log_warning("Closed %" PRIu64 " connections in the last %lld s: %s (%s; the last from %s)",
                            r->unlogged, LOG_INTERVAL_USEC / 1000000, r->what, limit, r->last);
        r->unlogged = 0;
        r->logged_usec = now;
}

static void reason_flush(Reason *r, int64_t now, const char *limit)
{
        if (r->unlogged > 0 && now - r->logged_usec >= LOG_INTERVAL_USEC) {
                log_warning("Closed %" PRIu64 " connections in the last %lld s: %s (%s; the last from %s)",
                            r->unlogged, LOG_INTERVAL_USEC / 1000000, r->what, limit, r->last);
                r->unlogged = 0;
                r->logged_usec = now;
        }
}

static void sweep_connections(HttpGuard *g, int64_t now)
{
        const RetraceConfig *cfg = g->config;
        int64_t head_usec = (int64_t) MIN(cfg->request_head_timeout, 86400U) * 1000000,
                window_usec = (int64_t) MIN(MAX(cfg->upload_rate_window, 1U), 86400U) * 1000000;
        char head_limit[64], body_limit[96];

        (void) snprintf(head_limit, sizeof(head_limit), "RequestHeadTimeout = %" PRIu64 " s",
                        cfg->request_head_timeout);
        (void) snprintf(body_limit, sizeof(body_limit),
                        "MinUploadRate = %" PRIu64 " bytes/s over UploadRateWindow = %" PRIu64 " s",
                        cfg->min_upload_rate, cfg->upload_rate_window);
        for (HttpConn *conn = g->conns; conn; conn = conn->next) {
                bool close_it = false;

                if (conn->closed || conn->fd < 0)
                        continue;
                if (conn->phase == CONN_HEAD && head_usec > 0 && now - conn->phase_usec > head_usec) {
                        close_it = true;
                        reason_note(&g->slow_head, conn, now, head_limit);
                } else if (conn->phase == CONN_BODY && cfg->min_upload_rate > 0 &&
                           now - conn->checkpoint_usec >= window_usec) {
                        uint64_t bytes = __atomic_load_n(&conn->body_bytes, __ATOMIC_RELAXED);
                        double needed =
                                (double) cfg->min_upload_rate * (double) (now - conn->checkpoint_usec) / 1e6;

                        if ((double) (bytes - conn->checkpoint_bytes) < needed) {
                                close_it = true;
                                reason_note(&g->slow_body, conn, now, body_limit);
                        } else {
                                conn->checkpoint_usec = now;
                                conn->checkpoint_bytes = bytes;
                        }
                }
                if (close_it) {
                        /* libmicrohttpd sees the end of the stream and closes the connection itself. */
                        (void) shutdown(conn->fd, SHUT_RDWR);
                        conn->closed = true;
                }
        }
        reason_flush(&g->slow_head, now, head_limit);
        reason_flush(&g->slow_body, now, body_limit);
}

static void rate_log_flush(HttpGuard *g, int64_t now);

static void *sweeper_thread(void *userdata)
{
        HttpGuard *g = userdata;

        pthread_mutex_lock(&g->lock);
        while (!g->stopping) {
                struct timespec ts;
                int64_t now;

                (void) clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += SWEEP_INTERVAL_USEC * 1000L;
                ts.tv_sec += ts.tv_nsec / 1000000000L;
                ts.tv_nsec %= 1000000000L;
                (void) pthread_cond_timedwait(&g->wake, &g->lock, &ts);
                if (g->stopping)
                        break;
                now = now_monotonic_usec();
                sweep_connections(g, now);
                rate_log_flush(g, now);
        }
        pthread_mutex_unlock(&g->lock);
        return NULL;
}

int http_guard_new(const RetraceConfig *cfg, HttpGuard **ret)
{
        HttpGuard *g = calloc(1, sizeof(HttpGuard));
        pthread_condattr_t attr;
        int r;

        if (!g)
                return -ENOMEM;
        g->config = cfg;
        g->slow_head.what = "its request head took too long";
        g->slow_body.what = "its upload was too slow";
        g->total_tokens = cfg->password_failures_total;
        g->total_refill_usec = now_monotonic_usec();
        g->requests_tokens = cfg->debuginfod_requests_total;
        g->requests_refill_usec = g->total_refill_usec;
        pthread_mutex_init(&g->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&g->wake, &attr);
        pthread_condattr_destroy(&attr);
        r = pthread_create(&g->sweeper, NULL, sweeper_thread, g);
        if (r != 0) {
                free(g);
                return -r;
        }
        (void) pthread_setname_np(g->sweeper, "http-sweeper");
        g->started = true;
        *ret = g;
        return 0;
}

HttpGuard *http_guard_free(HttpGuard *g)
{
        if (!g)
                return NULL;
        if (g->started) {
                pthread_mutex_lock(&g->lock);
                g->stopping = true;
                pthread_cond_broadcast(&g->wake);
                pthread_mutex_unlock(&g->lock);
                pthread_join(g->sweeper, NULL);
        }
        /* The connections were closed (and unlinked) by MHD_stop_daemon(). */
        return mfree(g);
}

void http_guard_counts(HttpGuard *g, uint64_t *ret_slow_head, uint64_t *ret_slow_body, uint64_t *ret_limited)
{
        pthread_mutex_lock(&g->lock);
        *ret_slow_head = g->slow_head.total;
        *ret_slow_body = g->slow_body.total;
        *ret_limited = g->limited;
        pthread_mutex_unlock(&g->lock);
}

/* ---- password checks ---- */

/* The address a check is counted against: the client's, or behind the trusted proxy the last address
 * of X-Forwarded-For (the one the proxy added). IPv6 counts by /64, which one client usually has. */
void http_guard_client_key(HttpGuard *g, struct MHD_Connection *c, uint8_t key[static 17],
                           char address[static INET6_ADDRSTRLEN])
{
        const union MHD_ConnectionInfo *info =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = info ? info->client_addr : NULL;
        struct sockaddr_storage forwarded = {};

        memset(key, 0, 17);
        address_text(sa, address);
        if (!isempty(g->config->trusted_proxy) && streq(address, g->config->trusted_proxy) &&
            parse_forwarded_for(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For"),
                                &forwarded) >= 0) {
                sa = (const struct sockaddr *) &forwarded;
                address_text(sa, address);
        }
        if (!sa)
                return;
        key[0] = (uint8_t) sa->sa_family;
        if (sa->sa_family == AF_INET)
                memcpy(key + 1, &((const struct sockaddr_in *) sa)->sin_addr, 4);
        else if (sa->sa_family == AF_INET6)
                memcpy(key + 1, &((const struct sockaddr_in6 *) sa)->sin6_addr, 8);
}

static void refill(double *tokens, int64_t *refill_usec, unsigned per_minute, int64_t now)
{
        *tokens = MIN((double) per_minute, *tokens + (double) (now - *refill_usec) * per_minute / 60e6);
        *refill_usec = now;
}

/* The address's entry; a new one replaces the entry touched longest ago when the table is full (its
 * address then starts again with a full budget; the total budget still holds). */
static RateEntry *rate_entry_in(HttpGuard *g, RateEntry *table, unsigned budget,
                                const uint8_t key[static 17], const char *address, int64_t now)
{
        RateEntry *free_slot = NULL, *oldest = NULL;

        for (size_t i = 0; i < RATE_TABLE_SIZE; i++) {
                RateEntry *e = &table[i];

                if (!e->used) {
                        if (!free_slot)
                                free_slot = e;
                        continue;
                }
                if (memcmp(e->key, key, 17) == 0)
                        return e;
                if (!oldest || e->refill_usec < oldest->refill_usec)
                        oldest = e;
        }
        if (!free_slot) {
                free_slot = oldest;
                if (free_slot->failed + free_slot->refused > 0) {
                        g->unlogged_failed += free_slot->failed;
                        g->unlogged_refused += free_slot->refused;
                        g->unlogged_addresses++;
                }
        }
        *free_slot = (RateEntry){ .used = true, .tokens = budget, .refill_usec = now };
        memcpy(free_slot->key, key, 17);
        (void) snprintf(free_slot->address, sizeof(free_slot->address), "%s", address);
        return free_slot;
}

static RateEntry *rate_entry(HttpGuard *g, const uint8_t key[static 17], const char *address, int64_t now)
{
        return rate_entry_in(g, g->table, g->config->password_failures_per_address, key, address, now);
}

/* One line about an address; past LOG_LINES_PER_INTERVAL lines in an interval, its counts go into
 * one line about all other addresses. */
static void rate_log_entry(HttpGuard *g, RateEntry *e, int64_t now)
{
        if (now - g->lines_usec >= LOG_INTERVAL_USEC) {
                g->lines = 0;
                g->lines_usec = now;
        }
        if (g->lines >= LOG_LINES_PER_INTERVAL) {
                g->unlogged_failed += e->failed;
                g->unlogged_refused += e->refused;
                g->unlogged_addresses++;
        } else {
                g->lines++;
                log_warning("Password checks from %s in the last %lld s: %u wrong, %u refused for too "
                            "many failures (429)",
                            e->address, LOG_INTERVAL_USEC / 1000000, e->failed, e->refused);
        }
        e->failed = e->refused = 0;
        e->logged_usec = now;
}

static void rate_log_flush(HttpGuard *g, int64_t now)
{
        for (size_t i = 0; i < RATE_TABLE_SIZE; i++) {
                RateEntry *e = &g->table[i];

                if (e->used && e->failed + e->refused > 0 && now - e->logged_usec >= LOG_INTERVAL_USEC)
                        rate_log_entry(g, e, now);
        }
        if (g->unlogged_addresses > 0 && now - g->lines_usec >= LOG_INTERVAL_USEC) {
                log_warning("Password checks from %u more addresses in the last %lld s: %u wrong, %u "
                            "refused for too many failures (429)",
                            g->unlogged_addresses, LOG_INTERVAL_USEC / 1000000, g->unlogged_failed,
                            g->unlogged_refused);
                g->unlogged_addresses = g->unlogged_failed = g->unlogged_refused = 0;
                g->lines = 0;
                g->lines_usec = now;
        }
}

static unsigned seconds_until_token(double tokens, unsigned per_minute)
{
        double s = per_minute > 0 ? (1.0 - tokens) * 60.0 / per_minute : 60.0;

        return (unsigned) MIN(MAX(ceil(s), 1.0), 3600.0);
}

/* Under g->lock: refills e's and the total bucket; 0 and one token taken from both when each holds
 * one, else the seconds until both do (nothing taken). */
static unsigned buckets_take(RateEntry *e, unsigned per_address, double *total_tokens,
                             int64_t *total_refill_usec, unsigned total, int64_t now)
{
        unsigned wait = 0;

        if (per_address > 0) {
                refill(&e->tokens, &e->refill_usec, per_address, now);
                if (e->tokens < 1.0)
                        wait = seconds_until_token(e->tokens, per_address);
        }
        if (total > 0) {
                refill(total_tokens, total_refill_usec, total, now);
                if (*total_tokens < 1.0)
                        wait = MAX(wait, seconds_until_token(*total_tokens, total));
        }
        if (wait > 0)
                return wait;
        if (per_address > 0)
                e->tokens -= 1.0;
        if (total > 0)
                *total_tokens -= 1.0;
        return 0;
}

bool http_guard_password_begin(HttpGuard *g, struct MHD_Connection *c, unsigned *ret_retry_after)
{
        unsigned per_address = g->config->password_failures_per_address,
                 total = g->config->password_failures_total, wait = 0;
        char address[INET6_ADDRSTRLEN];
        uint8_t key[17];
        int64_t now = now_monotonic_usec();
        RateEntry *e;

        if (per_address == 0 && total == 0)
                return true;
        http_guard_client_key(g, c, key, address);
        pthread_mutex_lock(&g->lock);
        e = rate_entry(g, key, address, now);
        wait = buckets_take(e, per_address, &g->total_tokens, &g->total_refill_usec, total, now);
        if (wait > 0) {
                e->refused++;
                g->limited++;
                if (e->logged_usec == 0 || now - e->logged_usec >= LOG_INTERVAL_USEC)
                        rate_log_entry(g, e, now);
                pthread_mutex_unlock(&g->lock);
                *ret_retry_after = wait;
                return false;
        }
        pthread_mutex_unlock(&g->lock);
        return true;
}

void http_guard_password_end(HttpGuard *g, struct MHD_Connection *c, bool ok, const char *what)
{
        unsigned per_address = g->config->password_failures_per_address,
                 total = g->config->password_failures_total;
        char address[INET6_ADDRSTRLEN];
        uint8_t key[17];
        int64_t now = now_monotonic_usec();
        RateEntry *e;

        if (ok && per_address == 0 && total == 0)
                return;
        /* Failures are logged through the table even without limits. */
        http_guard_client_key(g, c, key, address);
        pthread_mutex_lock(&g->lock);
        e = rate_entry(g, key, address, now);
        if (ok) {
                /* A right password costs nothing. */
                if (per_address > 0)
                        e->tokens = MIN((double) per_address, e->tokens + 1.0);
                if (total > 0)
                        g->total_tokens = MIN((double) total, g->total_tokens + 1.0);
                pthread_mutex_unlock(&g->lock);
                return;
        }
        if (now - g->lines_usec >= LOG_INTERVAL_USEC) {
                g->lines = 0;
                g->lines_usec = now;
        }
        if ((e->logged_usec == 0 || now - e->logged_usec >= LOG_INTERVAL_USEC) &&
            g->lines < LOG_LINES_PER_INTERVAL) {
                log_warning("Wrong %s from %s", what, address);
                e->logged_usec = now;
                g->lines++;
        } else
                e->failed++;
        pthread_mutex_unlock(&g->lock);
}

bool http_guard_request_begin(HttpGuard *g, struct MHD_Connection *c, unsigned *ret_retry_after)
{
        unsigned per_address = g->config->debuginfod_requests_per_address,
                 total = g->config->debuginfod_requests_total, wait = 0;
        char address[INET6_ADDRSTRLEN];
        uint8_t key[17];
        int64_t now = now_monotonic_usec();
        RateEntry *e;

        if (per_address == 0 && total == 0)
                return true;
        http_guard_client_key(g, c, key, address);
        pthread_mutex_lock(&g->lock);
        e = rate_entry_in(g, g->requests, per_address, key, address, now);
        wait = buckets_take(e, per_address, &g->requests_tokens, &g->requests_refill_usec, total, now);
        if (wait > 0) {
                g->requests_limited++;
                pthread_mutex_unlock(&g->lock);
                *ret_retry_after = wait;
                return false;
        }
        pthread_mutex_unlock(&g->lock);
        return true;
}

uint64_t http_guard_requests_limited(HttpGuard *g)
{
        uint64_t n;

        pthread_mutex_lock(&g->lock);
        n = g->requests_limited;
        pthread_mutex_unlock(&g->lock);
        return n;
}
