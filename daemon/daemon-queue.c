/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-queue.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common-macro.h"

struct TaskJob {
        uint64_t id;
        bool cancelled;
        pid_t child;
        TaskQueue *queue;
};

struct TaskQueue {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_cond_t done; /* a job ended: a worker is idle */
        bool stopping;

        uint64_t *waiting; /* ring buffer of capacity ids */
        unsigned capacity, head, n_waiting;
        unsigned n_reserved; /* uploads accepted that are not tasks yet */

        TaskJob **running; /* one slot per worker */
        unsigned n_workers;
        pthread_t *threads;
        unsigned n_threads;

        TaskRunFunc run;
        void *userdata;
};

uint64_t task_job_id(const TaskJob *j)
{
        return j->id;
}

bool task_job_cancelled(const TaskJob *j)
{
        bool c;

        pthread_mutex_lock(&j->queue->lock);
        c = j->cancelled;
        pthread_mutex_unlock(&j->queue->lock);
        return c;
}

void task_job_set_child(TaskJob *j, pid_t pid)
{
        pthread_mutex_lock(&j->queue->lock);
        j->child = pid;
        /* Cancelled before the child existed: do not let it run. */
        if (j->cancelled && pid > 0)
                (void) kill(-pid, SIGKILL);
        pthread_mutex_unlock(&j->queue->lock);
}

static void job_cancel_locked(TaskJob *j)
{
        j->cancelled = true;
        if (j->child > 0)
                (void) kill(-j->child, SIGKILL);
}

static void *worker_main(void *arg)
{
        TaskQueue *q = arg;
        unsigned slot;

        pthread_mutex_lock(&q->lock);
        slot = q->n_threads++;
        for (;;) {
                TaskJob job = { .queue = q };

                while (!q->stopping && q->n_waiting == 0)
                        pthread_cond_wait(&q->wake, &q->lock);
                if (q->stopping)
                        break;
                job.id = q->waiting[q->head];
                q->head = (q->head + 1) % q->capacity;
                q->n_waiting--;
                q->running[slot] = &job;
                pthread_mutex_unlock(&q->lock);

                q->run(q->userdata, &job);

                pthread_mutex_lock(&q->lock);
                q->running[slot] = NULL;
                pthread_cond_broadcast(&q->done);
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

int task_queue_new(unsigned workers, unsigned capacity, TaskRunFunc run, void *userdata, TaskQueue **ret)
{
        TaskQueue *q;

        if (workers == 0 || capacity == 0)
                return -EINVAL;
        q = calloc(1, sizeof(TaskQueue));
        if (!q)
                return -ENOMEM;
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->wake, NULL);
        pthread_cond_init(&q->done, NULL);
        q->capacity = capacity;
        q->n_workers = workers;
        q->run = run;
        q->userdata = userdata;
        q->waiting = calloc(capacity, sizeof(uint64_t));
        q->running = calloc(workers, sizeof(TaskJob *));
        q->threads = calloc(workers, sizeof(pthread_t));
        if (!q->waiting || !q->running || !q->threads) {
                task_queue_free(q);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < workers; i++) {
                int r = pthread_create(&q->threads[i], NULL, worker_main, q);
                if (r != 0) {
                        q->n_workers = i;
                        task_queue_free(q);
                        return -r;
                }
        }
        *ret = q;
        return 0;
}

TaskQueue *task_queue_free(TaskQueue *q)
{
        if (!q)
                return NULL;
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        for (unsigned i = 0; i < q->n_workers; i++)
                if (q->running && q->running[i])
                        job_cancel_locked(q->running[i]);
        pthread_cond_broadcast(&q->wake);
        pthread_cond_broadcast(&q->done);
        pthread_mutex_unlock(&q->lock);
        for (unsigned i = 0; q->threads && i < q->n_workers; i++)
                pthread_join(q->threads[i], NULL);
        pthread_cond_destroy(&q->wake);
        pthread_cond_destroy(&q->done);
        pthread_mutex_destroy(&q->lock);
        free(q->waiting);
        free(q->running);
        free(q->threads);
        return mfree(q);
}

static bool queue_has_locked(TaskQueue *q, uint64_t id)
{
        for (unsigned i = 0; i < q->n_waiting; i++)
                if (q->waiting[(q->head + i) % q->capacity] == id)
                        return true;
        for (unsigned i = 0; i < q->n_workers; i++)
                if (q->running[i] && q->running[i]->id == id)
                        return true;
        return false;
}

int task_queue_push(TaskQueue *q, uint64_t id)
{
        int r = 0;

        pthread_mutex_lock(&q->lock);
        if (q->stopping)
                r = -ESHUTDOWN;
        else if (queue_has_locked(q, id))
                r = -EEXIST;
        else if (q->n_waiting >= q->capacity)
                r = -EAGAIN;
        else {
                q->waiting[(q->head + q->n_waiting) % q->capacity] = id;
                q->n_waiting++;
                pthread_cond_signal(&q->wake);
        }
        pthread_mutex_unlock(&q->lock);
        return r;
}

bool task_queue_is_full(TaskQueue *q)
{
        bool full;

        pthread_mutex_lock(&q->lock);
        full = q->n_waiting >= q->capacity;
        pthread_mutex_unlock(&q->lock);
        return full;
}

static unsigned running_locked(TaskQueue *q)
{
        unsigned n = 0;

        for (unsigned i = 0; i < q->n_workers; i++)
                n += q->running[i] != NULL;
        return n;
}

int task_queue_reserve(TaskQueue *q)
{
        unsigned room;
        int r = 0;

        pthread_mutex_lock(&q->lock);
        /* An idle worker takes a task at once: it is room as much as a free place in the queue. */
        room = q->capacity + (q->n_workers - running_locked(q));
        if (q->stopping)
                r = -ESHUTDOWN;
        else if (q->n_waiting + q->n_reserved >= room)
                r = -EAGAIN;
        else
                q->n_reserved++;
        pthread_mutex_unlock(&q->lock);
        return r;
}

void task_queue_release(TaskQueue *q)
{
        pthread_mutex_lock(&q->lock);
        if (q->n_reserved > 0)
                q->n_reserved--;
        pthread_mutex_unlock(&q->lock);
}

unsigned task_queue_running(TaskQueue *q)
{
        unsigned n = 0;

        pthread_mutex_lock(&q->lock);
        for (unsigned i = 0; i < q->n_workers; i++)
                n += q->running[i] != NULL;
        pthread_mutex_unlock(&q->lock);
        return n;
}

unsigned task_queue_waiting(TaskQueue *q)
{
        unsigned n;

        pthread_mutex_lock(&q->lock);
        n = q->n_waiting;
        pthread_mutex_unlock(&q->lock);
        return n;
}

bool task_queue_cancel(TaskQueue *q, uint64_t id)
{
        bool found = false;

        pthread_mutex_lock(&q->lock);
        for (unsigned i = 0; i < q->n_waiting; i++) {
                unsigned pos = (q->head + i) % q->capacity;

                if (q->waiting[pos] != id)
                        continue;
                /* Close the gap, keeping the order of the rest. */
                for (unsigned k = i; k + 1 < q->n_waiting; k++)
                        q->waiting[(q->head + k) % q->capacity] =
                                q->waiting[(q->head + k + 1) % q->capacity];
                q->n_waiting--;
                found = true;
                break;
        }
        for (unsigned i = 0; !found && i < q->n_workers; i++)
                if (q->running[i] && q->running[i]->id == id) {
                        job_cancel_locked(q->running[i]);
                        found = true;
                }
        pthread_mutex_unlock(&q->lock);
        return found;
}

unsigned task_queue_idle(TaskQueue *q)
{
        unsigned busy;

        pthread_mutex_lock(&q->lock);
        busy = running_locked(q) + q->n_waiting;
        pthread_mutex_unlock(&q->lock);
        return busy < q->n_workers ? q->n_workers - busy : 0;
}

void task_queue_wait_idle(TaskQueue *q, unsigned timeout_ms)
{
        struct timespec deadline;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&q->lock);
        if (!q->stopping && running_locked(q) + q->n_waiting >= q->n_workers)
                (void) pthread_cond_timedwait(&q->done, &q->lock, &deadline);
        pthread_mutex_unlock(&q->lock);
}

int task_queue_ids(TaskQueue *q, uint64_t **ret, size_t *ret_n)
{
        uint64_t *ids;
        size_t n = 0;

        pthread_mutex_lock(&q->lock);
        ids = calloc(q->n_waiting + q->n_workers + 1, sizeof(uint64_t));
        if (ids) {
                for (unsigned i = 0; i < q->n_waiting; i++)
                        ids[n++] = q->waiting[(q->head + i) % q->capacity];
                for (unsigned i = 0; i < q->n_workers; i++)
                        if (q->running[i])
                                ids[n++] = q->running[i]->id;
        }
        pthread_mutex_unlock(&q->lock);
        if (!ids)
                return -ENOMEM;
        *ret = ids;
        *ret_n = n;
        return 0;
}
