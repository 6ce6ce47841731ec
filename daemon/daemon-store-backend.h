/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What a backend of the task store implements (daemon-store-sqlite.c, daemon-store-pg.c); the
 * functions of daemon-store.h dispatch through it (daemon-store.c). Each backend embeds TaskStore as
 * the first member of its own structure. The HTTP and pipeline code never sees this header. */
#include "daemon-store.h"

typedef struct TaskStoreBackend {
        const char *name;
        TaskStore *(*free)(TaskStore *s);
        int (*create)(TaskStore *s, TaskType type, uint64_t *ret_id,
                      char ret_password[TASK_PASSWORD_LEN + 1]);
        int (*get)(TaskStore *s, uint64_t id, Task **ret);
        int (*check_password)(TaskStore *s, uint64_t id, const char *password);
        int (*set_stage)(TaskStore *s, uint64_t id, const char *stage);
        int (*finish)(TaskStore *s, uint64_t id, bool success, const char *stage);
        int (*delete)(TaskStore *s, uint64_t id);
        int (*list_stages)(TaskStore *s, uint64_t id, TaskStage **ret, size_t *ret_n);
        int (*restart)(TaskStore *s, uint64_t id);
        int (*list)(TaskStore *s, const char *status, const char *query, unsigned limit, TaskListEntry **ret,
                    size_t *ret_n);
        int (*count)(TaskStore *s, TaskStatus status, uint64_t *ret);
        int (*add_stats)(TaskStore *s, const TaskStats *st);
        int (*bucket)(TaskStore *s, uint64_t id, char **ret_hash, uint64_t *ret_others);
        int (*set_content_hash)(TaskStore *s, uint64_t id, const char *hash);
        int (*get_content_hash)(TaskStore *s, uint64_t id, char **ret);
        int (*find_reusable)(TaskStore *s, const char *hash, int type, uint64_t exclude, ReusableTask *ret);
        int (*set_waiting)(TaskStore *s, uint64_t id, const char *release, char *const *modules,
                           char *const *build_ids);
        int (*clear_waiting)(TaskStore *s, uint64_t id);
        int (*set_waiting_stamp)(TaskStore *s, uint64_t id, int64_t stamp);
        int (*list_waiting)(TaskStore *s, int64_t since_min, WaitingTask **ret, size_t *ret_n);
        int (*get_waiting)(TaskStore *s, uint64_t id, int64_t since_min, WaitingTask **ret);
        int (*list_finished)(TaskStore *s, FinishedTask **ret, size_t *ret_n);
        int (*statistics)(TaskStore *s, TaskStatistics *ret);
        int (*totals)(TaskStore *s, TaskTotals *ret);
        int (*set_notes)(TaskStore *s, uint64_t id, const char *notes, const char *case_ref);
        int (*list_pending)(TaskStore *s, uint64_t **ret_ids, size_t *ret_n);

        /* Shared queue (NULL in a single-node backend: the dispatcher answers -EOPNOTSUPP). */
        int (*available)(TaskStore *s);
        int (*claim)(TaskStore *s, uint64_t *ret_id);
        int (*wait_for_work)(TaskStore *s, unsigned timeout_ms);
        int (*renew)(TaskStore *s, const uint64_t *ids, size_t n, uint64_t **ret_lost, size_t *ret_n_lost);
        int (*release)(TaskStore *s, uint64_t id);
        int (*reap)(TaskStore *s, unsigned max_attempts);
        int (*enqueue)(TaskStore *s, uint64_t id);
        int (*queue_depth)(TaskStore *s, uint64_t *ret_unclaimed, uint64_t *ret_claimed);
        int (*render_metrics)(TaskStore *s, FILE *f);
} TaskStoreBackend;

struct TaskStore {
        const TaskStoreBackend *backend;
};

extern const TaskStoreBackend task_store_backend_sqlite;
extern const TaskStoreBackend task_store_backend_pg;

int sqlite_store_open(const char *path, TaskStore **ret);
int pg_store_open(const TaskStoreOptions *o, TaskStore **ret);

/* Shared by the backends. */
int store_password_hash(const char *password, uint8_t ret[32]);
int store_random_password(char ret[TASK_PASSWORD_LEN + 1]);
int store_random_task_id(uint64_t *ret);
