/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One task being worked on. The runner checks task_job_cancelled() between stages and registers the
 * process it waits for, so that cancelling (delete, shutdown) can kill it at once. */
typedef struct TaskJob TaskJob;

uint64_t task_job_id(const TaskJob *j);
bool task_job_cancelled(const TaskJob *j);
/* The process group running for this job (0: none). Killed with SIGKILL on cancel. */
void task_job_set_child(TaskJob *j, pid_t pid);

/* Runs one task to its end; the return value is only logged by the caller's runner itself. */
typedef void (*TaskRunFunc)(void *userdata, TaskJob *job);

typedef struct TaskQueue TaskQueue;

/* workers: tasks run at once (MaxParallelTasks); capacity: tasks that may wait (queue length). */
int task_queue_new(unsigned workers, unsigned capacity, TaskRunFunc run, void *userdata, TaskQueue **ret);
/* Stops the workers: queued tasks stay queued, running ones are cancelled; returns when all ended. */
TaskQueue *task_queue_free(TaskQueue *q);
static inline void task_queue_freep(TaskQueue **q)
{
        task_queue_free(*q);
}

/* Appends a task; -EAGAIN when capacity tasks already wait, -EEXIST when it is queued or running. */
int task_queue_push(TaskQueue *q, uint64_t id);
bool task_queue_is_full(TaskQueue *q);
/* Holds a place for an upload that is being received, so that concurrent uploads cannot together
 * accept more than there is room for (idle workers and free places in the queue, less the places
 * held); -EAGAIN when there is none. Each successful call is paired with task_queue_release(), once
 * the upload has become a queued task or has failed. */
int task_queue_reserve(TaskQueue *q);
void task_queue_release(TaskQueue *q);
unsigned task_queue_running(TaskQueue *q);
unsigned task_queue_waiting(TaskQueue *q);
/* Drops a waiting task, or cancels a running one (kills its child); false when neither. */
bool task_queue_cancel(TaskQueue *q, uint64_t id);

/* For a queue fed by claims from a shared store (daemon-claim.c): workers with nothing to do (neither
 * running nor a task waiting for them), waiting until one is (at most timeout_ms), and the ids of
 * every task waiting or running (whose leases are renewed). */
unsigned task_queue_idle(TaskQueue *q);
void task_queue_wait_idle(TaskQueue *q, unsigned timeout_ms);
int task_queue_ids(TaskQueue *q, uint64_t **ret, size_t *ret_n);
