/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon-remote.h"
#include "daemon-store.h"

/* The HTTP layer's renderings of what the store returns: JSON (with jansson, valid UTF-8 always) and
 * Prometheus text. Pure. */

/* GET /<id>/status: the task, the start of each stage, the server's clock, which results exist
 * (backtrace, log, exploitable), its crash bucket and how many other crashes share it (bucket NULL:
 * "bucket": null), what it waits for ("waiting": "waiting for debuginfo of …", or null), and how far
 * a remote task's fetch is ("progress": {phase, done, total, text}, or null when progress is NULL). */
int render_task_status(const Task *t, const TaskStage *stages, size_t n_stages, int64_t now_usec,
                       const bool has_result[3], const char *bucket, uint64_t bucket_others,
                       const char *waiting, const RemoteProgress *progress, char **ret);
/* GET /manager/tasks: {"tasks": [{id, type, status, stage, created, finished, package, release, arch,
 * progress}]}; progress (NULL, or n entries, an empty phase for none) as for render_task_status(). */
int render_task_list(const TaskListEntry *v, const RemoteProgress *progress, size_t n, char **ret);
/* GET /stats */
int render_statistics(const TaskStatistics *st, char **ret);
/* /metrics: retraces by result and the time per stage. */
void render_metrics_totals(FILE *f, const TaskTotals *t);
