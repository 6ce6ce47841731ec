/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-claim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "common-log.h"
#include "common-macro.h"

#define CLAIM_POLL_MS   2000 /* a notification lost (reconnect) delays a claim at most this long */
#define BACKOFF_MAX_SEC 30

/* Sleeps up to ms unless stopping; returns whether stopping. */
static bool claimer_sleep(Claimer *c, unsigned ms)
{
        struct timespec deadline;
        bool stop;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += ms / 1000;
        deadline.tv_nsec += (long) (ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&c->lock);
        if (!c->stopping)
                (void) pthread_cond_timedwait(&c->wake, &c->lock, &deadline);
        stop = c->stopping;
        pthread_mutex_unlock(&c->lock);
        return stop;
}

static bool claimer_stopping(Claimer *c)
{
        bool stop;

        pthread_mutex_lock(&c->lock);
        stop = c->stopping;
        pthread_mutex_unlock(&c->lock);
        return stop;
}

static void *claim_main(void *arg)
{
        Claimer *c = arg;
        unsigned backoff = 0;

        while (!claimer_stopping(c)) {
                uint64_t id;
                int r;

                if (task_queue_idle(c->queue) == 0) {
                        task_queue_wait_idle(c->queue, 1000);
                        continue;
                }
                r = task_store_claim(c->store, &id);
                if (r == -ENOENT) {
                        backoff = 0;
                        (void) task_store_wait_for_work(c->store, CLAIM_POLL_MS);
                        continue;
                }
                if (r < 0) {
                        if (backoff == 0)
                                log_warning_errno(
                                        r,
                                        "Cannot claim a task from the task store: %m; trying again "
                                        "with a backoff of up to %u s",
                                        (unsigned) BACKOFF_MAX_SEC);
                        backoff = backoff ? MIN(backoff * 2, (unsigned) BACKOFF_MAX_SEC) : 1;
                        if (claimer_sleep(c, backoff * 1000))
                                break;
                        continue;
                }
                if (backoff > 0)
                        log_info("Claiming tasks from the task store again");
                backoff = 0;
                r = task_queue_push(c->queue, id);
                if (r < 0) {
                        log_warning_errno(r, "Task %" PRIu64 " claimed but not queued: %m; giving it back",
                                          id);
                        (void) task_store_release(c->store, id);
                }
        }
        return NULL;
}

static void *lease_main(void *arg)
{
        Claimer *c = arg;
        unsigned period_ms = MAX(c->lease_sec * 1000 / 3, 500u);

        for (;;) {
                _cleanup_free_ uint64_t *ids = NULL, *lost = NULL;
                size_t n = 0, n_lost = 0;
                int r;

                if (task_queue_ids(c->queue, &ids, &n) >= 0) {
                        r = task_store_renew(c->store, ids, n, &lost, &n_lost);
                        if (r < 0)
                                log_warning_errno(
                                        r, "Cannot renew the leases of %zu task(s): %m; trying again", n);
                        for (size_t i = 0; r >= 0 && i < n_lost; i++) {
                                /* Not ours any more: another daemon may run it already. Stop at once;
                                 * the store refuses this daemon's writes to it (daemon-store-pg.c). */
                                log_warning(
                                        "Task %" PRIu64 ": this daemon lost its lease (the task was "
                                        "deleted, or its lease expired and it was requeued); its run stops",
                                        lost[i]);
                                (void) task_queue_cancel(c->queue, lost[i]);
                        }
                }
                r = task_store_reap(c->store, c->max_attempts);
                if (r < 0 && r != -ENOTCONN)
                        log_warning_errno(r, "Cannot requeue the tasks of dead daemons: %m");
                if (claimer_sleep(c, period_ms))
                        break;
        }
        return NULL;
}

int claimer_start(Claimer *c, TaskStore *store, TaskQueue *queue, unsigned lease_sec, unsigned max_attempts)
{
        int r;

        *c = (Claimer){
                .store = store, .queue = queue, .lease_sec = lease_sec, .max_attempts = max_attempts
        };
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->wake, NULL);
        r = -pthread_create(&c->lease_thread, NULL, lease_main, c);
        if (r < 0)
                return r;
        r = -pthread_create(&c->claim_thread, NULL, claim_main, c);
        if (r < 0) {
                claimer_stop(c);
                return r;
        }
        c->started = true;
        return 0;
}

void claimer_stop(Claimer *c)
{
        if (!c->store)
                return;
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_cond_broadcast(&c->wake);
        pthread_mutex_unlock(&c->lock);
        if (c->claim_thread)
                pthread_join(c->claim_thread, NULL);
        if (c->lease_thread)
                pthread_join(c->lease_thread, NULL);
        c->claim_thread = c->lease_thread = 0;
}

void claimer_release(Claimer *c, const uint64_t *ids, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (task_store_release(c->store, ids[i]) >= 0)
                        log_info("Task %" PRIu64 " given back to the shared queue", ids[i]);
}
