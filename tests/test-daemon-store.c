/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "daemon-store.h"
#include "tests.h"

static char *make_dir(void)
{
        char *d = strdup("/tmp/test-daemon-store.XXXXXX");
        ASSERT_NOT_NULL(mkdtemp(d));
        return d;
}

TEST(create_get_password)
{
        _cleanup_free_ char *dir = make_dir(), *db = path_join(dir, "tasks.db");
        _cleanup_(task_store_freep) TaskStore *s = NULL;
        _cleanup_(task_freep) Task *t = NULL;
        char password[TASK_PASSWORD_LEN + 1], wrong[TASK_PASSWORD_LEN + 1];
        uint64_t id, id2, n;

        ASSERT_OK(task_store_open(db, &s));
        ASSERT_OK(task_store_create(s, TASK_TYPE_RETRACE, &id, password));
        ASSERT_TRUE(id >= 100000000 && id <= 999999999);
        ASSERT_EQ(strlen(password), TASK_PASSWORD_LEN);
        ASSERT_OK(task_store_create(s, TASK_TYPE_VMCORE, &id2, wrong));
        ASSERT_TRUE(id != id2);
        ASSERT_TRUE(strcmp(password, wrong) != 0);

        ASSERT_OK(task_store_check_password(s, id, password));
        ASSERT_ERROR(task_store_check_password(s, id, wrong), EACCES);
        ASSERT_ERROR(task_store_check_password(s, id, ""), EACCES);
        ASSERT_ERROR(task_store_check_password(s, 1, password), ENOENT);

        ASSERT_OK(task_store_get(s, id, &t));
        ASSERT_EQ(t->status, TASK_STATUS_PENDING);
        ASSERT_EQ(t->type, TASK_TYPE_RETRACE);
        ASSERT_STREQ(t->stage, "Analyzing crash data");
        ASSERT_TRUE(t->created_usec > 0);
        ASSERT_OK(task_store_count(s, TASK_STATUS_PENDING, &n));
        ASSERT_EQ(n, 2);
        ASSERT_OK(path_rm_rf(dir));
}

TEST(lifecycle_survives_reopen)
{
        _cleanup_free_ char *dir = make_dir(), *db = path_join(dir, "tasks.db");
        _cleanup_(task_store_freep) TaskStore *s = NULL;
        _cleanup_free_ uint64_t *ids = NULL;
        char password[TASK_PASSWORD_LEN + 1];
        uint64_t a, b, c, n;
        size_t k;
        Task *t = NULL;

        ASSERT_OK(task_store_open(db, &s));
        ASSERT_OK(task_store_create(s, TASK_TYPE_RETRACE, &a, password));
        ASSERT_OK(task_store_create(s, TASK_TYPE_RETRACE, &b, password));
        ASSERT_OK(task_store_create(s, TASK_TYPE_RETRACE, &c, password));
        ASSERT_OK(task_store_set_stage(s, b, "Generating backtrace"));
        ASSERT_OK(task_store_finish(s, c, true, "Retrace job finished successfully"));
        s = task_store_free(s);

        /* A restart finds the unfinished tasks, oldest first, and the finished one as it was. */
        ASSERT_OK(task_store_open(db, &s));
        ASSERT_OK(task_store_list_pending(s, &ids, &k));
        ASSERT_EQ(k, 2);
        ASSERT_EQ(ids[0], a);
        ASSERT_EQ(ids[1], b);
        ASSERT_OK(task_store_get(s, c, &t));
        ASSERT_EQ(t->status, TASK_STATUS_FINISHED_SUCCESS);
        ASSERT_STREQ(t->stage, "Retrace job finished successfully");
        ASSERT_TRUE(t->finished_usec >= t->created_usec);
        t = task_free(t);
        ASSERT_OK(task_store_get(s, b, &t));
        ASSERT_STREQ(t->stage, "Generating backtrace");
        ASSERT_TRUE(t->started_usec > 0);
        t = task_free(t);

        ASSERT_OK(task_store_delete(s, a));
        ASSERT_ERROR(task_store_delete(s, a), ENOENT);
        ASSERT_ERROR(task_store_get(s, a, &t), ENOENT);
        ASSERT_ERROR(task_store_set_stage(s, a, "x"), ENOENT);
        ASSERT_OK(task_store_count(s, TASK_STATUS_FINISHED_SUCCESS, &n));
        ASSERT_EQ(n, 1);
        ASSERT_OK(path_rm_rf(dir));
}

TEST(stages_restart_list)
{
        _cleanup_free_ char *dir = make_dir(), *db = path_join(dir, "tasks.db");
        _cleanup_(task_store_freep) TaskStore *s = NULL;
        char password[TASK_PASSWORD_LEN + 1];
        TaskListEntry *list = NULL;
        TaskStage *stages = NULL;
        size_t n = 0;
        uint64_t a, b;
        Task *t = NULL;

        ASSERT_OK(task_store_open(db, &s));
        ASSERT_OK(task_store_create(s, TASK_TYPE_RETRACE, &a, password));
        ASSERT_OK(task_store_create(s, TASK_TYPE_RETRACE, &b, password));
        ASSERT_OK(task_store_list_stages(s, a, &stages, &n));
        ASSERT_EQ(n, 0);
        task_stages_free(stages, n);

        ASSERT_OK(task_store_set_stage(s, a, "Analyzing crash data"));
        ASSERT_OK(task_store_set_stage(s, a, "Generating backtrace"));
        ASSERT_ERROR(task_store_restart(s, a), EBUSY); /* still running */
        ASSERT_OK(task_store_finish(s, a, true, "Retrace job finished successfully"));
        ASSERT_OK(task_store_list_stages(s, a, &stages, &n));
        ASSERT_EQ(n, 3);
        ASSERT_STREQ(stages[0].stage, "Analyzing crash data");
        ASSERT_STREQ(stages[2].stage, "Retrace job finished successfully");
        ASSERT_TRUE(stages[0].started_usec > 0 && stages[0].started_usec <= stages[2].started_usec);
        task_stages_free(stages, n);
        ASSERT_OK(task_store_add_stats(s, &(TaskStats){ .id = a,
                                                        .package = "crashy-1.0-1.tos1",
                                                        .release = "testos-1-x86_64",
                                                        .arch = "x86_64",
                                                        .success = true }));

        /* The list: newest first, filtered by status and by a plain substring (no LIKE wildcards). */
        ASSERT_OK(task_store_list(s, NULL, NULL, 10, &list, &n));
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(list[0].package ?: list[1].package, "crashy-1.0-1.tos1");
        task_list_entries_free(list, n);
        ASSERT_OK(task_store_list(s, "PENDING", NULL, 10, &list, &n));
        for (size_t i = 0; i < n; i++)
                ASSERT_NULL(list[i].package);
        task_list_entries_free(list, n);
        ASSERT_OK(task_store_list(s, NULL, "%", 10, &list, &n));
        ASSERT_EQ(n, 0);
        task_list_entries_free(list, n);
        ASSERT_OK(task_store_list(s, NULL, "tos1", 1, &list, &n));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(list[0].id, a);
        task_list_entries_free(list, n);
        ASSERT_OK(task_store_list(s, NULL, NULL, 1, &list, &n));
        ASSERT_EQ(n, 1); /* the limit holds */
        task_list_entries_free(list, n);

        /* Restart: PENDING again, history cleared; an unknown id is -ENOENT. */
        ASSERT_OK(task_store_restart(s, a));
        ASSERT_OK(task_store_get(s, a, &t));
        ASSERT_EQ(t->status, TASK_STATUS_PENDING);
        ASSERT_STREQ(t->stage, "Analyzing crash data");
        ASSERT_EQ(t->finished_usec, 0);
        t = task_free(t);
        ASSERT_OK(task_store_list_stages(s, a, &stages, &n));
        ASSERT_EQ(n, 0);
        task_stages_free(stages, n);
        ASSERT_ERROR(task_store_restart(s, 1), ENOENT);

        /* Delete takes the stage history with it. */
        ASSERT_OK(task_store_set_stage(s, b, "Analyzing crash data"));
        ASSERT_OK(task_store_delete(s, b));
        ASSERT_OK(task_store_list_stages(s, b, &stages, &n));
        ASSERT_EQ(n, 0);
        task_stages_free(stages, n);
        ASSERT_OK(path_rm_rf(dir));
}

/* The task manager's notes and case reference: read back, listed, filtered, kept by a restart, cleared. */
TEST(notes)
{
        _cleanup_free_ char *dir = make_dir(), *db = path_join(dir, "tasks.db");
        _cleanup_(task_store_freep) TaskStore *s = NULL;
        char password[TASK_PASSWORD_LEN + 1];
        TaskListEntry *list = NULL;
        size_t n = 0;
        uint64_t a, b;
        Task *t = NULL;

        ASSERT_OK(task_store_open(db, &s));
        ASSERT_OK(task_store_create(s, TASK_TYPE_RETRACE, &a, password));
        ASSERT_OK(task_store_create(s, TASK_TYPE_VMCORE, &b, password));
        ASSERT_OK(task_store_get(s, a, &t));
        ASSERT_NULL(t->notes);
        ASSERT_NULL(t->case_ref);
        t = task_free(t);
        ASSERT_OK(task_store_set_notes(s, a, "customer sees it weekly\nsecond line", "RHBZ#2024"));
        ASSERT_OK(task_store_get(s, a, &t));
        ASSERT_STREQ(t->notes, "customer sees it weekly\nsecond line");
        ASSERT_STREQ(t->case_ref, "RHBZ#2024");
        t = task_free(t);
        ASSERT_OK(task_store_list(s, NULL, "weekly", 10, &list, &n));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(list[0].id, a);
        ASSERT_STREQ(list[0].case_ref, "RHBZ#2024");
        task_list_entries_free(list, n);
        ASSERT_OK(task_store_list(s, NULL, "BZ#20", 10, &list, &n));
        ASSERT_EQ(n, 1);
        task_list_entries_free(list, n);
        ASSERT_OK(task_store_list(s, NULL, NULL, 10, &list, &n));
        ASSERT_EQ(n, 2);
        for (size_t i = 0; i < n; i++)
                if (list[i].id == b)
                        ASSERT_NULL(list[i].notes);
        task_list_entries_free(list, n);
        ASSERT_OK(task_store_finish(s, a, false, "Retrace job failed"));
        ASSERT_OK(task_store_restart(s, a));
        ASSERT_OK(task_store_get(s, a, &t));
        ASSERT_STREQ(t->case_ref, "RHBZ#2024");
        t = task_free(t);
        ASSERT_OK(task_store_set_notes(s, a, "", NULL));
        ASSERT_OK(task_store_get(s, a, &t));
        ASSERT_NULL(t->notes);
        ASSERT_NULL(t->case_ref);
        t = task_free(t);
        ASSERT_ERROR(task_store_set_notes(s, 1, "x", "y"), ENOENT);
        ASSERT_OK(path_rm_rf(dir));
}

TEST(statuses)
{
        ASSERT_STREQ(task_status_to_string(TASK_STATUS_FINISHED_FAILURE), "FINISHED_FAILURE");
        ASSERT_EQ(task_status_from_string("PENDING"), TASK_STATUS_PENDING);
        ASSERT_EQ(task_status_from_string("pending"), _TASK_STATUS_INVALID);
}

/* A store of schema 3 (as the daemon wrote it before crash buckets) gains them on open, keeping its
 * statistics; buckets count successful tasks only, and the public list names no task. */
TEST(buckets_and_migration_from_v3)
{
        _cleanup_free_ char *dir = make_dir(), *db = path_join(dir, "tasks.db"), *hash = NULL;
        _cleanup_(task_store_freep) TaskStore *s = NULL;
        TaskStatistics st;
        sqlite3 *raw = NULL;
        uint64_t others;
        const char *a = "85b1bf80c17514116437c95ea07ba098a2243824",
                   *b = "0eaddab22db73deec9288c4c14418a73c0267945";

        ASSERT_EQ(sqlite3_open(db, &raw), SQLITE_OK);
        ASSERT_EQ(
                sqlite3_exec(
                        raw,
                        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, password_hash BLOB NOT NULL, type "
                        "INTEGER NOT NULL, status TEXT NOT NULL, stage TEXT NOT NULL, created_usec INTEGER "
                        "NOT NULL, started_usec INTEGER, finished_usec INTEGER);"
                        "CREATE INDEX tasks_status ON tasks(status, created_usec);"
                        "CREATE TABLE stats (task_id INTEGER PRIMARY KEY, finished_usec INTEGER NOT NULL, "
                        "package TEXT, release TEXT, arch TEXT, core_size INTEGER NOT NULL, analyze_usec "
                        "INTEGER NOT NULL, prepare_usec INTEGER NOT NULL, run_usec INTEGER NOT NULL, "
                        "total_usec INTEGER NOT NULL, success INTEGER NOT NULL, missing_build_ids TEXT NOT "
                        "NULL);"
                        "CREATE TABLE task_stages (task_id INTEGER NOT NULL, stage TEXT NOT NULL, "
                        "started_usec INTEGER NOT NULL);"
                        "INSERT INTO stats VALUES (7, 1, 'old-1-1', 'r-1-x', 'x', 1, 1, 1, 1, 1, 1, '');"
                        "PRAGMA user_version = 3;",
                        NULL, NULL, NULL),
                SQLITE_OK);
        sqlite3_close(raw);

        ASSERT_OK(task_store_open(db, &s));
        ASSERT_OK(task_store_add_stats(s, &(TaskStats){ .id = 101,
                                                        .package = "hub-1-1",
                                                        .release = "r-1-x",
                                                        .success = true,
                                                        .duphash = a }));
        ASSERT_OK(task_store_add_stats(s, &(TaskStats){ .id = 102,
                                                        .package = "hub-1-2",
                                                        .release = "r-2-x",
                                                        .success = true,
                                                        .duphash = a }));
        ASSERT_OK(task_store_add_stats(s, &(TaskStats){ .id = 103,
                                                        .package = "hub-1-2",
                                                        .release = "r-2-x",
                                                        .success = true,
                                                        .duphash = b }));
        ASSERT_OK(task_store_add_stats(s, &(TaskStats){ .id = 104,
                                                        .package = "hub-1-2",
                                                        .release = "r-2-x",
                                                        .success = false,
                                                        .duphash = a }));
        ASSERT_OK(task_store_bucket(s, 102, &hash, &others));
        ASSERT_STREQ(hash, a);
        ASSERT_EQ(others, 1u);
        ASSERT_ERROR(task_store_bucket(s, 104, &hash, &others), ENOENT);
        ASSERT_ERROR(task_store_bucket(s, 7, &hash, &others), ENOENT);

        ASSERT_OK(task_store_statistics(s, &st));
        ASSERT_EQ(st.n_buckets, 2u);
        ASSERT_STREQ(st.buckets[0].hash, a);
        ASSERT_EQ(st.buckets[0].count, 2u);
        ASSERT_EQ(strv_length(st.buckets[0].releases), 2u);
        ASSERT_EQ(strv_length(st.buckets[0].packages), 2u);
        ASSERT_TRUE(st.buckets[0].first_usec <= st.buckets[0].last_usec);
        ASSERT_EQ(st.rows[STATS_TOTALS][0].count, 5u); /* the row of schema 3 is still there */
        task_statistics_done(&st);
        ASSERT_OK(path_rm_rf(dir));
}

DEFINE_TEST_MAIN(TEST_ENTRY(create_get_password), TEST_ENTRY(lifecycle_survives_reopen),
                 TEST_ENTRY(statuses), TEST_ENTRY(stages_restart_list),
                 TEST_ENTRY(buckets_and_migration_from_v3), TEST_ENTRY(notes))
