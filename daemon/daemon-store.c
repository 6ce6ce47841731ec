/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The task store's interface (daemon-store.h) over its two backends: sqlite for a single node
 * (daemon-store-sqlite.c), PostgreSQL shared by several daemons (daemon-store-pg.c). */
#include "daemon-store-backend.h"

#include <gnutls/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common-macro.h"
#include "common-string.h"

static const char *const task_status_table[_TASK_STATUS_MAX] = {
        [TASK_STATUS_PENDING] = "PENDING",
        [TASK_STATUS_FINISHED_SUCCESS] = "FINISHED_SUCCESS",
        [TASK_STATUS_FINISHED_FAILURE] = "FINISHED_FAILURE",
};

DEFINE_STRING_TABLE_TO_STRING(task_status, TaskStatus, _TASK_STATUS_MAX)
DEFINE_STRING_TABLE_FROM_STRING(task_status, TaskStatus, _TASK_STATUS_MAX, _TASK_STATUS_INVALID)

Task *task_free(Task *t)
{
        if (!t)
                return NULL;
        free(t->stage);
        free(t->notes);
        free(t->case_ref);
        return mfree(t);
}

int store_password_hash(const char *password, uint8_t ret[32])
{
        return gnutls_hash_fast(GNUTLS_DIG_SHA256, password, strlen(password), ret) < 0 ? -EIO : 0;
}

int store_random_password(char ret[TASK_PASSWORD_LEN + 1])
{
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        size_t i = 0;

        while (i < TASK_PASSWORD_LEN) {
                uint8_t buf[64];

                if (getrandom(buf, sizeof(buf), 0) != sizeof(buf))
                        return negative_errno();
                /* Rejection sampling keeps every character equally likely: 248 = 4 × 62. */
                for (size_t k = 0; k < sizeof(buf) && i < TASK_PASSWORD_LEN; k++)
                        if (buf[k] < 248)
                                ret[i++] = alphabet[buf[k] % 62];
        }
        ret[TASK_PASSWORD_LEN] = '\0';
        return 0;
}

int store_random_task_id(uint64_t *ret)
{
        uint64_t v;

        if (getrandom(&v, sizeof(v), 0) != sizeof(v))
                return negative_errno();
        /* 9 decimal digits, never starting with 0: 100000000 … 999999999. */
        *ret = 100000000 + v % 900000000;
        return 0;
}

void task_stages_free(TaskStage *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].stage);
        free(v);
}

void task_list_entries_free(TaskListEntry *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].status);
                free(v[i].stage);
                free(v[i].package);
                free(v[i].release);
                free(v[i].arch);
                free(v[i].notes);
                free(v[i].case_ref);
        }
        free(v);
}

void reusable_task_done(ReusableTask *t)
{
        free(t->package);
        free(t->release);
        free(t->arch);
        free(t->duphash);
        *t = (ReusableTask){};
}

void waiting_tasks_free(WaitingTask *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].release);
                strv_free(v[i].modules);
                strv_free(v[i].build_ids);
        }
        free(v);
}

void stats_rows_free(StatsRow *rows, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(rows[i].label);
        free(rows);
}

void stats_buckets_free(StatsBucket *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].hash);
                strv_free(v[i].releases);
                strv_free(v[i].packages);
        }
        free(v);
}

void task_statistics_done(TaskStatistics *st)
{
        stats_buckets_free(st->buckets, st->n_buckets);
        for (size_t i = 0; i < _STATS_TABLE_MAX; i++)
                stats_rows_free(st->rows[i], st->n_rows[i]);
        *st = (TaskStatistics){};
}

int task_store_open(const char *path, TaskStore **ret)
{
        return sqlite_store_open(path, ret);
}

int task_store_open_options(const TaskStoreOptions *o, TaskStore **ret)
{
        if (!isempty(o->uri))
                return pg_store_open(o, ret);
        return sqlite_store_open(o->sqlite_path, ret);
}

const char *task_store_backend_name(TaskStore *s)
{
        return s->backend->name;
}

bool task_store_is_shared(TaskStore *s)
{
        return s->backend->claim != NULL;
}

TaskStore *task_store_free(TaskStore *s)
{
        return s ? s->backend->free(s) : NULL;
}

#define DISPATCH(op, ...) return s->backend->op ? s->backend->op(s, ##__VA_ARGS__) : -EOPNOTSUPP

int task_store_create(TaskStore *s, TaskType type, uint64_t *ret_id,
                      char ret_password[TASK_PASSWORD_LEN + 1])
{
        DISPATCH(create, type, ret_id, ret_password);
}
int task_store_get(TaskStore *s, uint64_t id, Task **ret)
{
        DISPATCH(get, id, ret);
}
int task_store_check_password(TaskStore *s, uint64_t id, const char *password)
{
        DISPATCH(check_password, id, password);
}
int task_store_set_stage(TaskStore *s, uint64_t id, const char *stage)
{
        DISPATCH(set_stage, id, stage);
}
int task_store_finish(TaskStore *s, uint64_t id, bool success, const char *stage)
{
        DISPATCH(finish, id, success, stage);
}
int task_store_delete(TaskStore *s, uint64_t id)
{
        DISPATCH(delete, id);
}
int task_store_list_stages(TaskStore *s, uint64_t id, TaskStage **ret, size_t *ret_n)
{
        DISPATCH(list_stages, id, ret, ret_n);
}
int task_store_restart(TaskStore *s, uint64_t id)
{
        DISPATCH(restart, id);
}
int task_store_list(TaskStore *s, const char *status, const char *query, unsigned limit, TaskListEntry **ret,
                    size_t *ret_n)
{
        DISPATCH(list, status, query, limit, ret, ret_n);
}
int task_store_count(TaskStore *s, TaskStatus status, uint64_t *ret)
{
        DISPATCH(count, status, ret);
}
int task_store_add_stats(TaskStore *s, const TaskStats *st)
{
        DISPATCH(add_stats, st);
}
int task_store_bucket(TaskStore *s, uint64_t id, char **ret_hash, uint64_t *ret_others)
{
        DISPATCH(bucket, id, ret_hash, ret_others);
}
int task_store_set_content_hash(TaskStore *s, uint64_t id, const char *hash)
{
        DISPATCH(set_content_hash, id, hash);
}
int task_store_get_content_hash(TaskStore *s, uint64_t id, char **ret)
{
        DISPATCH(get_content_hash, id, ret);
}
int task_store_find_reusable(TaskStore *s, const char *hash, int type, uint64_t exclude, ReusableTask *ret)
{
        DISPATCH(find_reusable, hash, type, exclude, ret);
}
int task_store_set_waiting(TaskStore *s, uint64_t id, const char *release, char *const *modules,
                           char *const *build_ids)
{
        DISPATCH(set_waiting, id, release, modules, build_ids);
}
int task_store_clear_waiting(TaskStore *s, uint64_t id)
{
        DISPATCH(clear_waiting, id);
}
int task_store_set_waiting_stamp(TaskStore *s, uint64_t id, int64_t stamp)
{
        DISPATCH(set_waiting_stamp, id, stamp);
}
int task_store_list_waiting(TaskStore *s, int64_t since_min, WaitingTask **ret, size_t *ret_n)
{
        DISPATCH(list_waiting, since_min, ret, ret_n);
}
int task_store_get_waiting(TaskStore *s, uint64_t id, int64_t since_min, WaitingTask **ret)
{
        DISPATCH(get_waiting, id, since_min, ret);
}
int task_store_list_finished(TaskStore *s, FinishedTask **ret, size_t *ret_n)
{
        DISPATCH(list_finished, ret, ret_n);
}
int task_store_statistics(TaskStore *s, TaskStatistics *ret)
{
        DISPATCH(statistics, ret);
}
int task_store_totals(TaskStore *s, TaskTotals *ret)
{
        DISPATCH(totals, ret);
}
int task_store_set_notes(TaskStore *s, uint64_t id, const char *notes, const char *case_ref)
{
        DISPATCH(set_notes, id, notes, case_ref);
}
int task_store_list_pending(TaskStore *s, uint64_t **ret_ids, size_t *ret_n)
{
        DISPATCH(list_pending, ret_ids, ret_n);
}

int task_store_available(TaskStore *s)
{
        /* A local file is always there; its errors are reported by each call. */
        return s->backend->available ? s->backend->available(s) : 0;
}
int task_store_claim(TaskStore *s, uint64_t *ret_id)
{
        DISPATCH(claim, ret_id);
}
int task_store_wait_for_work(TaskStore *s, unsigned timeout_ms)
{
        DISPATCH(wait_for_work, timeout_ms);
}
int task_store_renew(TaskStore *s, const uint64_t *ids, size_t n, uint64_t **ret_lost, size_t *ret_n_lost)
{
        DISPATCH(renew, ids, n, ret_lost, ret_n_lost);
}
int task_store_release(TaskStore *s, uint64_t id)
{
        DISPATCH(release, id);
}
int task_store_reap(TaskStore *s, unsigned max_attempts)
{
        DISPATCH(reap, max_attempts);
}
int task_store_enqueue(TaskStore *s, uint64_t id)
{
        DISPATCH(enqueue, id);
}
int task_store_queue_depth(TaskStore *s, uint64_t *ret_unclaimed, uint64_t *ret_claimed)
{
        DISPATCH(queue_depth, ret_unclaimed, ret_claimed);
}
int task_store_render_metrics(TaskStore *s, FILE *f)
{
        return s->backend->render_metrics ? s->backend->render_metrics(s, f) : 0;
}
