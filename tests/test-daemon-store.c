/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <unistd.h>

#include "common-macro.h"
#include "common-path.h"
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

TEST(statuses)
{
        ASSERT_STREQ(task_status_to_string(TASK_STATUS_FINISHED_FAILURE), "FINISHED_FAILURE");
        ASSERT_EQ(task_status_from_string("PENDING"), TASK_STATUS_PENDING);
        ASSERT_EQ(task_status_from_string("pending"), _TASK_STATUS_INVALID);
}

DEFINE_TEST_MAIN(TEST_ENTRY(create_get_password), TEST_ENTRY(lifecycle_survives_reopen),
                 TEST_ENTRY(statuses))
