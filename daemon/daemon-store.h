/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon-crashdata.h"

#define TASK_PASSWORD_LEN 32 /* [A-Za-z0-9]: 190 bits from the kernel's random source */
#define TASK_ID_DIGITS    9  /* decimal, as the old server and its clients expect */

typedef enum TaskStatus {
        TASK_STATUS_PENDING,
        TASK_STATUS_FINISHED_SUCCESS,
        TASK_STATUS_FINISHED_FAILURE,
        _TASK_STATUS_MAX,
        _TASK_STATUS_INVALID = -EINVAL,
} TaskStatus;

const char *task_status_to_string(TaskStatus s);
TaskStatus task_status_from_string(const char *s);

typedef struct Task {
        uint64_t id;
        TaskType type;
        TaskStatus status;
        char *stage; /* the human status text of PROTOCOL.md */
        int64_t created_usec;
        int64_t started_usec;
        int64_t finished_usec;
        char *notes, *case_ref; /* the task manager's (NULL when none) */
} Task;

Task *task_free(Task *t);
static inline void task_freep(Task **t)
{
        task_free(*t);
}

typedef struct TaskStore TaskStore;

/* Opens (creating when needed) the sqlite task database at path: WAL, schema version checked. */
int task_store_open(const char *path, TaskStore **ret);

/* Where the tasks are: the sqlite file (single node), or PostgreSQL shared by several daemons. */
typedef struct TaskStoreOptions {
        const char *sqlite_path;   /* used without uri */
        const char *uri;           /* TaskStore: "postgresql://…" or any libpq connection string */
        const char *password_file; /* TaskStorePasswordFile: the password, else libpq's PGPASSWORD… */
        const char *owner;         /* this daemon's name in leases and /metrics */
        unsigned lease_sec;        /* TaskLeaseSec: a claim lasts this long unless renewed */
        unsigned connections;      /* connections kept open (at least 1) */
        unsigned retry_sec;        /* a lost connection is retried that long before an error (workers) */
} TaskStoreOptions;
/* Opens the store the options name and brings its schema up to date (migrations). */
int task_store_open_options(const TaskStoreOptions *o, TaskStore **ret);
const char *task_store_backend_name(TaskStore *s);
/* Whether several daemons share the store (PostgreSQL): tasks are then claimed, not pushed. */
bool task_store_is_shared(TaskStore *s);
TaskStore *task_store_free(TaskStore *s);
static inline void task_store_freep(TaskStore **s)
{
        task_store_free(*s);
}

/* A new PENDING task with a random unused id and a random password (stored only hashed). */
int task_store_create(TaskStore *s, TaskType type, uint64_t *ret_id,
                      char ret_password[TASK_PASSWORD_LEN + 1]);
/* -ENOENT for an unknown id. */
int task_store_get(TaskStore *s, uint64_t id, Task **ret);
/* 0 when password is the task's, -EACCES when not, -ENOENT for an unknown id; constant time. */
int task_store_check_password(TaskStore *s, uint64_t id, const char *password);
int task_store_set_stage(TaskStore *s, uint64_t id, const char *stage);
int task_store_finish(TaskStore *s, uint64_t id, bool success, const char *stage);
int task_store_delete(TaskStore *s, uint64_t id);

/* When each stage began (set_stage and finish record one each), oldest first. */
typedef struct TaskStage {
        char *stage;
        int64_t started_usec; /* CLOCK_REALTIME */
} TaskStage;
int task_store_list_stages(TaskStore *s, uint64_t id, TaskStage **ret, size_t *ret_n);
void task_stages_free(TaskStage *v, size_t n);
/* A finished task back to PENDING with its stage history cleared; -EBUSY while it is PENDING. A shared
 * store holds it, as a new task, until task_store_enqueue(). */
int task_store_restart(TaskStore *s, uint64_t id);

/* A row of the task manager's list. */
typedef struct TaskListEntry {
        uint64_t id;
        int type;
        char *status, *stage;
        int64_t created_usec, finished_usec; /* CLOCK_REALTIME; finished 0 while pending */
        char *package, *release, *arch;      /* from the statistics; NULL before the task finished */
        char *notes, *case_ref;              /* the task manager's; NULL when none */
} TaskListEntry;
void task_list_entries_free(TaskListEntry *v, size_t n);
/* The task manager's list: newest first, at most limit rows; status (a TaskStatus name) and query (a
 * substring of the id, package, release, notes or case reference) filter when not NULL. */
int task_store_list(TaskStore *s, const char *status, const char *query, unsigned limit, TaskListEntry **ret,
                    size_t *ret_n);
/* The task manager's notes (free text, at most TASK_NOTES_MAX bytes) and case (bug) reference (at most
 * TASK_CASE_REF_MAX bytes) of a task; empty or NULL clears one. The caller checks the limits. -ENOENT
 * for an unknown id. */
#define TASK_NOTES_MAX    4096
#define TASK_CASE_REF_MAX 64
int task_store_set_notes(TaskStore *s, uint64_t id, const char *notes, const char *case_ref);
/* Number of tasks with that status. */
int task_store_count(TaskStore *s, TaskStatus status, uint64_t *ret);
/* What the statistics keep of each finished task. */
typedef struct TaskStats {
        uint64_t id;
        const char *package, *release, *arch;
        uint64_t core_size;
        int64_t analyze_usec, prepare_usec, run_usec, total_usec;
        bool success;
        char *const *missing_build_ids;
        const char *duphash; /* the crash bucket (daemon-duphash.h), NULL when none */
} TaskStats;

int task_store_add_stats(TaskStore *s, const TaskStats *st);
/* The crash bucket of a successful task and how many other successful tasks share it; -ENOENT when
 * the task has none (not finished, failed, or no hash). */
int task_store_bucket(TaskStore *s, uint64_t id, char **ret_hash, uint64_t *ret_others);

/* Identical uploads. A task's content hash over its crash files (set when it starts to run);
 * TASK_CONTENT_HASH_RERUN marks a task the task manager restarted, which must run again rather than
 * reuse an earlier result. */
#define TASK_CONTENT_HASH_RERUN "rerun"
int task_store_set_content_hash(TaskStore *s, uint64_t id, const char *hash);
/* *ret NULL when the task has none. */
int task_store_get_content_hash(TaskStore *s, uint64_t id, char **ret);
/* The newest successful task of that type with that content hash, other than exclude, whose
 * statistics exist: its id and what its statistics say. -ENOENT when there is none. */
typedef struct ReusableTask {
        uint64_t id;
        char *package, *release, *arch, *duphash;
        uint64_t core_size;
} ReusableTask;
void reusable_task_done(ReusableTask *t);
int task_store_find_reusable(TaskStore *s, const char *hash, int type, uint64_t exclude, ReusableTask *ret);

/* Missing debuginfo: a finished task that failed or is degraded for want of build-ids waits for a
 * sync that brings them. modules: "path (build-id …)", build_ids alike in order. */
typedef struct WaitingTask {
        uint64_t id;
        char *release;
        char **modules, **build_ids;
        int64_t since_usec; /* when it first waited (CLOCK_REALTIME) */
        int64_t stamp;      /* the cache index's release stamp when last looked up, -1: never */
} WaitingTask;
void waiting_tasks_free(WaitingTask *v, size_t n);
int task_store_set_waiting(TaskStore *s, uint64_t id, const char *release, char *const *modules,
                           char *const *build_ids);
int task_store_clear_waiting(TaskStore *s, uint64_t id);
int task_store_set_waiting_stamp(TaskStore *s, uint64_t id, int64_t stamp);
/* Finished tasks waiting since since_min or later, oldest first. */
int task_store_list_waiting(TaskStore *s, int64_t since_min, WaitingTask **ret, size_t *ret_n);
/* One task's wait (an array of one); -ENOENT when it does not wait. */
int task_store_get_waiting(TaskStore *s, uint64_t id, int64_t since_min, WaitingTask **ret);

/* Finished tasks, oldest first, for garbage collection. */
typedef struct FinishedTask {
        uint64_t id;
        bool success;
        int64_t finished_usec; /* CLOCK_REALTIME */
} FinishedTask;
int task_store_list_finished(TaskStore *s, FinishedTask **ret, size_t *ret_n);

/* The statistics of /stats: rows of (label, count, success) per table, the durations per stage. */
typedef enum StatsTable {
        STATS_TOTALS,
        STATS_RELEASES,
        STATS_ARCHES,
        STATS_PACKAGES,
        STATS_DAYS,
        STATS_MISSING_BUILD_IDS, /* label: "build-id (module)", success unused */
        _STATS_TABLE_MAX,
} StatsTable;

typedef enum TaskStageKind {
        TASK_STAGE_ANALYZE,
        TASK_STAGE_PREPARE,
        TASK_STAGE_RUN,
        TASK_STAGE_TOTAL,
        _TASK_STAGE_KIND_MAX,
} TaskStageKind;

typedef struct StatsRow {
        char *label;
        uint64_t count, success;
} StatsRow;
void stats_rows_free(StatsRow *rows, size_t n);

typedef struct StatsDuration {
        int64_t median_usec, p95_usec;
} StatsDuration;

/* A crash bucket: successful tasks with one duplicate hash. No task ids: /stats is public. */
#define STATS_BUCKETS_MAX 50
typedef struct StatsBucket {
        char *hash;
        uint64_t count;
        int64_t first_usec, last_usec; /* when its first and last task finished (CLOCK_REALTIME) */
        char **releases, **packages;   /* distinct values */
} StatsBucket;
void stats_buckets_free(StatsBucket *v, size_t n);

typedef struct TaskStatistics {
        StatsRow *rows[_STATS_TABLE_MAX];
        size_t n_rows[_STATS_TABLE_MAX];
        StatsDuration durations[_TASK_STAGE_KIND_MAX];
        StatsBucket *buckets; /* the STATS_BUCKETS_MAX largest, largest first */
        size_t n_buckets;
} TaskStatistics;

int task_store_statistics(TaskStore *s, TaskStatistics *ret);
void task_statistics_done(TaskStatistics *st);

/* Finished retraces, successful ones, and the time spent per stage over all of them: /metrics. */
typedef struct TaskTotals {
        uint64_t finished, succeeded;
        int64_t stage_usec_sum[_TASK_STAGE_KIND_MAX];
} TaskTotals;
int task_store_totals(TaskStore *s, TaskTotals *ret);

/* Ids of PENDING tasks, oldest first (to requeue after a restart). */
int task_store_list_pending(TaskStore *s, uint64_t **ret_ids, size_t *ret_n);

/* The shared queue (PostgreSQL; -EOPNOTSUPP on sqlite). */
/* 0 when the store answers; -ENOTCONN while it cannot be reached (reconnects, without waiting long). */
int task_store_available(TaskStore *s);
/* Takes the oldest unclaimed PENDING task into a lease of this daemon (SKIP LOCKED); -ENOENT: none. */
int task_store_claim(TaskStore *s, uint64_t *ret_id);
/* Waits up to timeout_ms for a notification that a task may be claimable (LISTEN); 0 either way. */
int task_store_wait_for_work(TaskStore *s, unsigned timeout_ms);
/* Renews this daemon's leases on ids; *ret_lost: those it no longer holds (deleted, reaped, taken). */
int task_store_renew(TaskStore *s, const uint64_t *ids, size_t n, uint64_t **ret_lost, size_t *ret_n_lost);
/* Gives a claimed task back unfinished (shutdown): another daemon takes it at once. */
int task_store_release(TaskStore *s, uint64_t id);
/* Requeues PENDING tasks whose lease expired (their daemon died), failing those claimed max_attempts
 * times already; returns how many were requeued or failed. */
int task_store_reap(TaskStore *s, unsigned max_attempts);
/* A task created by task_store_create() is held until its files are in SaveDir; then this makes it
 * claimable and wakes the idle workers. */
int task_store_enqueue(TaskStore *s, uint64_t id);
/* PENDING tasks not claimed and claimed by some daemon (or held for their upload). */
int task_store_queue_depth(TaskStore *s, uint64_t *ret_unclaimed, uint64_t *ret_claimed);
/* The backend's own gauges for /metrics (per-daemon leases, queue depth); nothing on sqlite. */
int task_store_render_metrics(TaskStore *s, FILE *f);
