/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The PostgreSQL task store (daemon-store-pg.c) against a real server: RETRACE_TEST_PG_URI names a
 * cluster (tests/test_daemon_store_pg.py initialises one and runs this program); each case works in a
 * schema of its own. Leases: a task is claimable only once queued, claimed by one owner, oldest first;
 * another owner's writes to it are refused; renewals report lost leases; expired leases are requeued
 * up to the attempt limit, then the task fails; a released task is claimable at once. And the rest of
 * daemon-store.h, as the sqlite store answers it. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common-macro.h"
#include "common-string.h"
#include "daemon-store.h"
#include "tests.h"

/* A store on a fresh schema (search_path) of the cluster, as owner. */
static TaskStore *open_store(const char *schema, const char *owner, unsigned lease_sec)
{
        const char *uri = getenv("RETRACE_TEST_PG_URI");
        _cleanup_free_ char *full = NULL, *sql = NULL, *name = NULL;
        TaskStore *s = NULL;

        if (!uri)
                test_skip("RETRACE_TEST_PG_URI is not set: run tests/test_daemon_store_pg.py");
        ASSERT_TRUE(asprintf(&name, "%s_%d", schema, (int) getpid()) > 0);
        schema = name;
        {
                PGconn *c = PQconnectdb(uri);
                PGresult *r;

                ASSERT_EQ(PQstatus(c), CONNECTION_OK);
                ASSERT_TRUE(asprintf(&sql, "CREATE SCHEMA IF NOT EXISTS %s", schema) > 0);
                r = PQexec(c, sql);
                ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
                PQclear(r);
                PQfinish(c);
        }
        ASSERT_TRUE(asprintf(&full, "%s%coptions=-csearch_path%%3D%s", uri, strchr(uri, '?') ? '&' : '?',
                             schema) > 0);
        ASSERT_OK(task_store_open_options(
                &(TaskStoreOptions){ .uri = full, .owner = owner, .lease_sec = lease_sec, .connections = 2 },
                &s));
        ASSERT_TRUE(task_store_is_shared(s));
        ASSERT_STREQ(task_store_backend_name(s), "postgresql");
        return s;
}

static TaskStatus status_of(TaskStore *s, uint64_t id)
{
        _cleanup_(task_freep) Task *t = NULL;

        ASSERT_OK(task_store_get(s, id, &t));
        return t->status;
}

TEST(claims_and_leases)
{
        _cleanup_(task_store_freep) TaskStore *a = open_store("leases", "host-a:1", 2),
                                              *b = open_store("leases", "host-b:2", 2);
        _cleanup_free_ uint64_t *lost = NULL;
        char password[TASK_PASSWORD_LEN + 1];
        uint64_t t1, t2, id, unclaimed, claimed;
        size_t n_lost;

        ASSERT_OK(task_store_available(a));
        ASSERT_OK(task_store_create(a, TASK_TYPE_RETRACE, &t1, password));
        usleep(2000);
        ASSERT_OK(task_store_create(a, TASK_TYPE_RETRACE, &t2, password));
        /* held until its files are there */
        ASSERT_ERROR(task_store_claim(b, &id), ENOENT);
        ASSERT_OK(task_store_enqueue(a, t2));
        ASSERT_OK(task_store_enqueue(a, t1));
        ASSERT_ERROR(task_store_enqueue(a, t1), ENOENT); /* once only */
        ASSERT_OK(task_store_queue_depth(a, &unclaimed, &claimed));
        ASSERT_EQ(unclaimed, 2u);
        ASSERT_EQ(claimed, 0u);

        /* oldest first, each to one owner */
        ASSERT_OK(task_store_claim(a, &id));
        ASSERT_EQ(id, t1);
        ASSERT_OK(task_store_claim(b, &id));
        ASSERT_EQ(id, t2);
        ASSERT_ERROR(task_store_claim(a, &id), ENOENT);
        ASSERT_OK(task_store_queue_depth(b, &unclaimed, &claimed));
        ASSERT_EQ(unclaimed, 0u);
        ASSERT_EQ(claimed, 2u);

        /* another owner cannot write a claimed task's run */
        ASSERT_ERROR(task_store_set_stage(b, t1, "Generating backtrace"), ESTALE);
        ASSERT_ERROR(task_store_finish(b, t1, true, "Retrace job finished successfully"), ENOENT);
        ASSERT_EQ(status_of(a, t1), TASK_STATUS_PENDING);
        ASSERT_OK(task_store_set_stage(a, t1, "Generating backtrace"));

        /* renewal names the leases lost */
        ASSERT_OK(task_store_renew(a, (uint64_t[]){ t1, t2 }, 2, &lost, &n_lost));
        ASSERT_EQ(n_lost, 1u);
        ASSERT_EQ(lost[0], t2);
        lost = mfree(lost);

        /* released: claimable at once, by anyone */
        ASSERT_OK(task_store_release(b, t2));
        ASSERT_OK(task_store_claim(a, &id));
        ASSERT_EQ(id, t2);

        /* a's leases expire (no renewal): b's reaper requeues them, b claims one, a's writes are refused */
        sleep(3);
        ASSERT_EQ(task_store_reap(b, 3), 2);
        ASSERT_OK(task_store_claim(b, &id));
        ASSERT_ERROR(task_store_set_stage(a, id, "Generating backtrace"), ESTALE);
        ASSERT_OK(task_store_renew(a, &id, 1, &lost, &n_lost));
        ASSERT_EQ(n_lost, 1u);
        lost = mfree(lost);
        ASSERT_OK(task_store_finish(b, id, true, "Retrace job finished successfully"));
        ASSERT_EQ(status_of(a, id), TASK_STATUS_FINISHED_SUCCESS);
        ASSERT_OK(task_store_render_metrics(a, stdout));
}

TEST(attempt_limit)
{
        _cleanup_(task_store_freep) TaskStore *a = open_store("attempts", "host-a:1", 1);
        char password[TASK_PASSWORD_LEN + 1];
        uint64_t t, id;

        ASSERT_OK(task_store_create(a, TASK_TYPE_RETRACE, &t, password));
        ASSERT_OK(task_store_enqueue(a, t));
        for (int attempt = 1; attempt <= 2; attempt++) {
                ASSERT_OK(task_store_claim(a, &id));
                ASSERT_EQ(id, t);
                sleep(2);
                ASSERT_EQ(task_store_reap(a, 2), 1);
        }
        /* claimed twice, expired twice: failed, not queued again */
        ASSERT_EQ(status_of(a, t), TASK_STATUS_FINISHED_FAILURE);
        ASSERT_ERROR(task_store_claim(a, &id), ENOENT);
        /* the task manager's restart queues it again with a fresh count, held until its old results
         * are gone (enqueue), so that no worker starts while they are removed */
        ASSERT_OK(task_store_restart(a, t));
        ASSERT_ERROR(task_store_claim(a, &id), ENOENT);
        ASSERT_OK(task_store_enqueue(a, t));
        ASSERT_OK(task_store_claim(a, &id));
        ASSERT_EQ(id, t);
}

TEST(the_rest_of_the_interface)
{
        _cleanup_(task_store_freep) TaskStore *s = open_store("rest", NULL, 60);
        _cleanup_free_ char *hash = NULL;
        _cleanup_free_ FinishedTask *fin = NULL;
        _cleanup_free_ uint64_t *pending = NULL;
        char password[TASK_PASSWORD_LEN + 1];
        char *const missing[] = { (char *) "abcd (/usr/lib/libx.so)", NULL };
        uint64_t a, b, c, others, n;
        TaskStage *stages = NULL;
        TaskListEntry *list = NULL;
        WaitingTask *w = NULL;
        ReusableTask reuse;
        TaskStatistics st;
        TaskTotals totals;
        size_t k;

        ASSERT_OK(task_store_create(s, TASK_TYPE_RETRACE, &a, password));
        ASSERT_OK(task_store_check_password(s, a, password));
        ASSERT_ERROR(task_store_check_password(s, a, "nope"), EACCES);
        ASSERT_ERROR(task_store_check_password(s, 1, password), ENOENT);
        ASSERT_OK(task_store_create(s, TASK_TYPE_RETRACE, &b, password));
        ASSERT_OK(task_store_create(s, TASK_TYPE_VMCORE, &c, password));
        ASSERT_OK(task_store_set_stage(s, a, "Generating backtrace"));
        ASSERT_OK(task_store_set_content_hash(s, a, "h1"));
        ASSERT_OK(task_store_get_content_hash(s, a, &hash));
        ASSERT_STREQ(hash, "h1");
        hash = mfree(hash);
        ASSERT_OK(task_store_add_stats(s, &(TaskStats){ .id = a,
                                                        .package = "crashy-1-1",
                                                        .release = "r-1-x86_64",
                                                        .arch = "x86_64",
                                                        .run_usec = 5,
                                                        .total_usec = 9,
                                                        .success = true,
                                                        .missing_build_ids = missing,
                                                        .duphash = "d1" }));
        ASSERT_OK(task_store_finish(s, a, true, "Retrace job finished successfully"));
        ASSERT_OK(task_store_add_stats(
                s, &(TaskStats){ .id = b, .package = "crashy-1-1", .success = true, .duphash = "d1" }));
        ASSERT_OK(task_store_finish(s, b, true, "Retrace job finished successfully"));
        ASSERT_OK(task_store_list_stages(s, a, &stages, &k));
        ASSERT_EQ(k, 2u);
        ASSERT_STREQ(stages[0].stage, "Generating backtrace");
        task_stages_free(stages, k);
        ASSERT_OK(task_store_bucket(s, a, &hash, &others));
        ASSERT_STREQ(hash, "d1");
        ASSERT_EQ(others, 1u);
        ASSERT_OK(task_store_find_reusable(s, "h1", TASK_TYPE_RETRACE, b, &reuse));
        ASSERT_EQ(reuse.id, a);
        ASSERT_STREQ(reuse.package, "crashy-1-1");
        reusable_task_done(&reuse);
        ASSERT_ERROR(task_store_find_reusable(s, "h1", TASK_TYPE_RETRACE, a, &reuse), ENOENT);

        ASSERT_OK(task_store_set_waiting(s, a, "r-1-x86_64", missing,
                                         (char *const[]){ (char *) "abcd", NULL }));
        ASSERT_OK(task_store_set_waiting_stamp(s, a, 7));
        ASSERT_OK(task_store_get_waiting(s, a, 0, &w));
        ASSERT_EQ(w[0].stamp, 7);
        ASSERT_STREQ(w[0].build_ids[0], "abcd");
        waiting_tasks_free(w, 1);
        ASSERT_OK(task_store_list_waiting(s, 0, &w, &k));
        ASSERT_EQ(k, 1u);
        waiting_tasks_free(w, k);
        ASSERT_OK(task_store_clear_waiting(s, a));
        ASSERT_ERROR(task_store_get_waiting(s, a, 0, &w), ENOENT);

        ASSERT_OK(task_store_statistics(s, &st));
        ASSERT_EQ(st.rows[STATS_TOTALS][0].count, 2u);
        ASSERT_EQ(st.rows[STATS_TOTALS][0].success, 2u);
        ASSERT_EQ(st.n_rows[STATS_MISSING_BUILD_IDS], 1u);
        ASSERT_STREQ(st.rows[STATS_MISSING_BUILD_IDS][0].label, "abcd (/usr/lib/libx.so)");
        ASSERT_EQ(st.n_buckets, 1u);
        ASSERT_EQ(st.buckets[0].count, 2u);
        ASSERT_EQ(st.durations[TASK_STAGE_TOTAL].p95_usec, 9);
        task_statistics_done(&st);
        ASSERT_OK(task_store_totals(s, &totals));
        ASSERT_EQ(totals.finished, 2u);
        ASSERT_EQ(totals.stage_usec_sum[TASK_STAGE_RUN], 5);

        ASSERT_OK(task_store_list(s, NULL, "crashy", 10, &list, &k));
        ASSERT_EQ(k, 2u);
        task_list_entries_free(list, k);
        ASSERT_OK(task_store_list(s, "PENDING", NULL, 10, &list, &k));
        ASSERT_EQ(k, 1u);
        ASSERT_EQ(list[0].id, c);
        task_list_entries_free(list, k);
        ASSERT_OK(task_store_list(s, NULL, "100%_", 10, &list, &k)); /* wildcards are plain characters */
        ASSERT_EQ(k, 0u);
        task_list_entries_free(list, k);
        ASSERT_OK(task_store_count(s, TASK_STATUS_FINISHED_SUCCESS, &n));
        ASSERT_EQ(n, 2u);
        ASSERT_OK(task_store_list_finished(s, &fin, &k));
        ASSERT_EQ(k, 2u);
        ASSERT_OK(task_store_list_pending(s, &pending, &k));
        ASSERT_EQ(k, 1u);
        ASSERT_ERROR(task_store_restart(s, c), EBUSY);
        ASSERT_OK(task_store_restart(s, a));
        hash = mfree(hash);
        ASSERT_OK(task_store_get_content_hash(s, a, &hash));
        ASSERT_STREQ(hash, TASK_CONTENT_HASH_RERUN);
        ASSERT_OK(task_store_delete(s, b));
        ASSERT_ERROR(task_store_delete(s, b), ENOENT);
        ASSERT_ERROR(task_store_get(s, b, &(Task *){ NULL }), ENOENT);
}

DEFINE_TEST_MAIN(TEST_ENTRY(claims_and_leases), TEST_ENTRY(attempt_limit),
                 TEST_ENTRY(the_rest_of_the_interface))
