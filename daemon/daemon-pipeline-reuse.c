/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Identical uploads (ReuseIdenticalUploads): a coredump task whose crash files are byte for byte
 * those of a task that already finished successfully takes that task's result instead of running gdb
 * again; while an identical task is running, the later one waits for it. The content hash is kept in
 * the store; which hashes are running is known to this process only (one daemon per SaveDir). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common-macro.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-pipeline-task.h"
#include "daemon-queue.h"
#include "daemon-store.h"
#include "daemon-taskdir.h"

/* What the reused task keeps of its own: its log. */
static const char *const own_results[] = { "log", NULL };

void pipeline_reuse_init(Pipeline *p)
{
        pthread_mutex_init(&p->reuse_lock, NULL);
        pthread_cond_init(&p->reuse_cond, NULL);
}

static bool running_has(Pipeline *p, const char *hash)
{
        return strv_contains(p->reuse_running, hash);
}

static void running_remove(Pipeline *p, const char *hash)
{
        size_t n = strv_length(p->reuse_running);

        for (size_t i = 0; i < n; i++)
                if (streq(p->reuse_running[i], hash)) {
                        free(p->reuse_running[i]);
                        memmove(p->reuse_running + i, p->reuse_running + i + 1, (n - i) * sizeof(char *));
                        return;
                }
}

/* Finishes t with the result of task src. */
static int task_take_result(TaskRun *t, const ReusableTask *src, const char *hash)
{
        int r;

        r = task_dir_link_results(t->save_dir_fd, src->id, t->id, own_results);
        if (r < 0)
                return r;
        if (!task_dir_has_result(t->save_dir_fd, t->id, "backtrace"))
                return -ENOENT; /* the other task went away meanwhile */
        task_log(t, 'I',
                 "The crash files are identical to those of an earlier upload (sha256 %s, release %s): its "
                 "result is reused, the debugger does not run again",
                 hash, strna(src->release));
        if (src->duphash)
                task_log(t, 'I', "Crash bucket %s (of the reused result)", src->duphash);
        (void) task_store_set_stage(t->p->store, t->id, "Saving crash statistics");
        (void) task_store_add_stats(t->p->store, &(TaskStats){
                                                         .id = t->id,
                                                         .package = src->package,
                                                         .release = src->release,
                                                         .arch = src->arch,
                                                         .core_size = src->core_size,
                                                         .total_usec = now_monotonic_usec() - t->start_usec,
                                                         .success = true,
                                                         .duphash = src->duphash,
                                                 });
        task_log(t, 'I', "Retrace took %" PRIi64 " seconds",
                 (now_monotonic_usec() - t->start_usec + 500000) / 1000000);
        (void) task_store_finish(t->p->store, t->id, true, "Retrace job finished successfully");
        return 0;
}

int task_reuse_or_claim(TaskRun *t, int type)
{
        Pipeline *p = t->p;
        _cleanup_free_ char *old = NULL;
        int64_t begin = now_monotonic_usec(),
                deadline = begin + (int64_t) (p->config->task_timeout * 2 + 60) * 1000000;
        bool rerun, waited = false;
        char hash[65];
        int r;

        r = task_dir_content_hash(t->crash_fd, hash);
        if (r < 0) {
                task_log(t, 'W',
                         "Cannot hash the crash files (%s): the task runs without looking for an "
                         "identical upload",
                         strerror(-r));
                return 0;
        }
        (void) task_store_get_content_hash(p->store, t->id, &old);
        rerun = old && streq(old, TASK_CONTENT_HASH_RERUN);
        (void) task_store_set_content_hash(p->store, t->id, hash);

        pthread_mutex_lock(&p->reuse_lock);
        for (;;) {
                ReusableTask src = {};

                if (!rerun && task_store_find_reusable(p->store, hash, type, t->id, &src) >= 0) {
                        pthread_mutex_unlock(&p->reuse_lock);
                        r = task_take_result(t, &src, hash);
                        reusable_task_done(&src);
                        if (r >= 0)
                                return 1;
                        task_log(t, 'W',
                                 "Cannot take over the result of an identical upload (%s): running the "
                                 "task",
                                 strerror(-r));
                        return 0;
                }
                if (!running_has(p, hash))
                        break;
                if (task_job_cancelled(t->job) || now_monotonic_usec() > deadline) {
                        pthread_mutex_unlock(&p->reuse_lock);
                        return task_job_cancelled(t->job) ? -ECANCELED : 0;
                }
                if (!waited)
                        task_log(t, 'I',
                                 "An upload with identical crash files (sha256 %s) is being retraced: "
                                 "waiting "
                                 "for its result",
                                 hash);
                waited = true;
                {
                        struct timespec ts;

                        clock_gettime(CLOCK_REALTIME, &ts);
                        ts.tv_sec += 1;
                        (void) pthread_cond_timedwait(&p->reuse_cond, &p->reuse_lock, &ts);
                }
        }
        /* This task runs: identical ones wait for it. */
        r = strv_extend(&p->reuse_running, hash);
        pthread_mutex_unlock(&p->reuse_lock);
        if (r >= 0)
                t->reuse_hash = strdup(hash);
        if (waited)
                task_log(t, 'I', "The identical upload gave no result to reuse: running the task");
        return 0;
}

void task_reuse_release(TaskRun *t)
{
        Pipeline *p = t->p;

        if (!t->reuse_hash)
                return;
        pthread_mutex_lock(&p->reuse_lock);
        running_remove(p, t->reuse_hash);
        pthread_cond_broadcast(&p->reuse_cond);
        pthread_mutex_unlock(&p->reuse_lock);
        t->reuse_hash = mfree(t->reuse_hash);
}
