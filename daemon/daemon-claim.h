/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "daemon-queue.h"
#include "daemon-store.h"

/* A worker of a shared store (PostgreSQL): takes its tasks by claiming them rather than by uploads
 * pushed to its queue. The claim thread claims a task whenever a worker of the queue is idle, waiting
 * on LISTEN (with a timed poll) while there is none and backing off while the store is unreachable.
 * The lease thread renews the leases of every task queued or running here, cancels the run of a task
 * whose lease was lost (deleted, or requeued by a reaper after it expired), and reaps the leases of
 * dead daemons, every third of the lease time. */
typedef struct Claimer {
        TaskStore *store;
        TaskQueue *queue;
        unsigned lease_sec, max_attempts;

        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stopping;
        pthread_t claim_thread, lease_thread;
        bool started;
} Claimer;

int claimer_start(Claimer *c, TaskStore *store, TaskQueue *queue, unsigned lease_sec, unsigned max_attempts);
/* Stops claiming and renewing; the queue is freed by the caller, then claimer_release() gives the
 * leases of the tasks it held back to the store, so another daemon takes them at once. */
void claimer_stop(Claimer *c);
void claimer_release(Claimer *c, const uint64_t *ids, size_t n);
