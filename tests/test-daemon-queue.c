/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon-queue.h"
#include "tests.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static unsigned concurrent, max_concurrent, n_done;
static uint64_t done[64];
static bool gate_open;
static int child_status = -1;

static void wait_for(bool (*cond)(void))
{
        struct timespec deadline;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 10;
        pthread_mutex_lock(&lock);
        while (!cond())
                ASSERT_TRUE(pthread_cond_timedwait(&changed, &lock, &deadline) == 0);
        pthread_mutex_unlock(&lock);
}

static void runner(void *userdata, TaskJob *job)
{
        pthread_mutex_lock(&lock);
        concurrent++;
        if (concurrent > max_concurrent)
                max_concurrent = concurrent;
        pthread_cond_broadcast(&changed);
        while (!gate_open && !task_job_cancelled(job))
                pthread_cond_wait(&changed, &lock);
        concurrent--;
        done[n_done++] = task_job_id(job);
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
}

static void reset(bool open)
{
        pthread_mutex_lock(&lock);
        concurrent = max_concurrent = n_done = 0;
        gate_open = open;
        pthread_mutex_unlock(&lock);
}

static void open_gate(void)
{
        pthread_mutex_lock(&lock);
        gate_open = true;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
}

static bool eight_done(void)
{
        return n_done == 8;
}

static bool one_running(void)
{
        return concurrent == 1;
}

static bool two_running(void)
{
        return concurrent == 2;
}

static bool two_done(void)
{
        return n_done == 2;
}

static bool three_done(void)
{
        return n_done == 3;
}

TEST(parallelism_is_bounded)
{
        TaskQueue *q = NULL;

        reset(false);
        ASSERT_OK(task_queue_new(2, 10, runner, NULL, &q));
        for (uint64_t i = 1; i <= 8; i++)
                ASSERT_OK(task_queue_push(q, i));
        wait_for(two_running);
        ASSERT_EQ(task_queue_running(q), 2);
        ASSERT_EQ(task_queue_waiting(q), 6);
        open_gate();
        wait_for(eight_done);
        ASSERT_EQ(max_concurrent, 2);
        q = task_queue_free(q);
}

TEST(capacity_duplicates_and_cancel_waiting)
{
        TaskQueue *q = NULL;

        reset(false);
        ASSERT_OK(task_queue_new(1, 2, runner, NULL, &q));
        ASSERT_OK(task_queue_push(q, 100));
        wait_for(one_running);
        ASSERT_OK(task_queue_push(q, 101));
        ASSERT_OK(task_queue_push(q, 102));
        ASSERT_TRUE(task_queue_is_full(q));
        ASSERT_ERROR(task_queue_push(q, 103), EAGAIN);
        ASSERT_ERROR(task_queue_push(q, 100), EEXIST);
        ASSERT_ERROR(task_queue_push(q, 102), EEXIST);
        ASSERT_TRUE(task_queue_cancel(q, 101));
        ASSERT_FALSE(task_queue_cancel(q, 999));
        ASSERT_FALSE(task_queue_is_full(q));
        open_gate();
        wait_for(two_done);
        ASSERT_EQ(done[0], 100);
        ASSERT_EQ(done[1], 102); /* 101 was dropped, the order of the rest kept */
        q = task_queue_free(q);
        ASSERT_EQ(n_done, 2);
}

TEST(reservations_hold_room)
{
        TaskQueue *q = NULL;

        reset(false);
        ASSERT_OK(task_queue_new(1, 2, runner, NULL, &q));
        /* Room: the idle worker and two places. */
        ASSERT_OK(task_queue_reserve(q));
        ASSERT_OK(task_queue_reserve(q));
        ASSERT_OK(task_queue_reserve(q));
        ASSERT_ERROR(task_queue_reserve(q), EAGAIN);
        task_queue_release(q);
        ASSERT_OK(task_queue_push(q, 100)); /* an upload became a task: its place passes to it */
        task_queue_release(q);
        wait_for(one_running);
        /* The worker is busy: two places, one still held. */
        ASSERT_OK(task_queue_reserve(q));
        ASSERT_ERROR(task_queue_reserve(q), EAGAIN);
        task_queue_release(q);
        task_queue_release(q);
        ASSERT_OK(task_queue_reserve(q));
        ASSERT_OK(task_queue_reserve(q));
        ASSERT_ERROR(task_queue_reserve(q), EAGAIN);
        task_queue_release(q);
        task_queue_release(q);
        task_queue_release(q); /* more releases than reservations do not make room */
        ASSERT_OK(task_queue_push(q, 101));
        ASSERT_OK(task_queue_push(q, 102));
        ASSERT_ERROR(task_queue_reserve(q), EAGAIN);
        open_gate();
        wait_for(three_done);
        q = task_queue_free(q);
}

static void child_runner(void *userdata, TaskJob *job)
{
        pid_t pid = fork();

        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                setpgid(0, 0);
                execlp("sleep", "sleep", "100", (char *) NULL);
                _exit(127);
        }
        setpgid(pid, pid);
        task_job_set_child(job, pid);
        pthread_mutex_lock(&lock);
        concurrent++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        int st;
        ASSERT_EQ(waitpid(pid, &st, 0), pid);
        task_job_set_child(job, 0);
        pthread_mutex_lock(&lock);
        child_status = st;
        n_done++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
}

static bool one_done(void)
{
        return n_done == 1;
}

TEST(cancel_running_kills_child)
{
        TaskQueue *q = NULL;

        reset(false);
        ASSERT_OK(task_queue_new(1, 4, child_runner, NULL, &q));
        ASSERT_OK(task_queue_push(q, 7));
        wait_for(one_running);
        ASSERT_TRUE(task_queue_cancel(q, 7));
        wait_for(one_done);
        ASSERT_TRUE(WIFSIGNALED(child_status) && WTERMSIG(child_status) == SIGKILL);
        q = task_queue_free(q);
}

TEST(free_cancels_running)
{
        TaskQueue *q = NULL;

        reset(false);
        ASSERT_OK(task_queue_new(1, 4, child_runner, NULL, &q));
        ASSERT_OK(task_queue_push(q, 8));
        ASSERT_OK(task_queue_push(q, 9));
        wait_for(one_running);
        q = task_queue_free(q); /* must not wait 100 s for sleep, must not start task 9 */
        ASSERT_EQ(n_done, 1);
        ASSERT_TRUE(WIFSIGNALED(child_status));
}

DEFINE_TEST_MAIN(TEST_ENTRY(parallelism_is_bounded), TEST_ENTRY(capacity_duplicates_and_cancel_waiting),
                 TEST_ENTRY(reservations_hold_room), TEST_ENTRY(cancel_running_kills_child),
                 TEST_ENTRY(free_cancels_running))
