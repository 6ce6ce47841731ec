/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-http-render.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>

#include "common-json.h"
#include "common-macro.h"
#include "common-string.h"

static const char *const stage_kind_names[_TASK_STAGE_KIND_MAX] = { "analyze", "prepare", "run", "total" };

/* Microseconds as seconds with millisecond precision, as the API always gave them. */
static json_t *json_seconds(int64_t usec)
{
        return json_real(round((double) usec / 1e3) / 1e3);
}

/* A remote task's fetch: {"phase", "done", "total", "text"}, null when none. */
static json_t *progress_json(const RemoteProgress *p)
{
        _cleanup_free_ char *text = NULL;

        if (!p || isempty(p->phase))
                return json_null();
        if (remote_progress_text(p, &text) < 0)
                return json_null();
        return json_pack("{s:s, s:I, s:I, s:o}", "phase", p->phase, "done", (json_int_t) p->done, "total",
                         (json_int_t) p->total, "text", json_string_safe(text));
}

int render_task_status(const Task *t, const TaskStage *stages, size_t n_stages, int64_t now_usec,
                       const bool has_result[3], const char *bucket, uint64_t bucket_others,
                       const char *waiting, const RemoteProgress *progress, char **ret)
{
        json_t *o = json_object(), *list = json_array(), *results = json_object();

        if (!o || !list || !results) {
                json_decref(o);
                json_decref(list);
                json_decref(results);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_stages; i++)
                (void) json_array_append_new(list, json_pack("{s:o, s:o}", "stage",
                                                             json_string_safe(stages[i].stage), "started",
                                                             json_seconds(stages[i].started_usec)));
        (void) json_object_set_new(results, "backtrace", json_boolean(has_result[0]));
        (void) json_object_set_new(results, "log", json_boolean(has_result[1]));
        (void) json_object_set_new(results, "exploitable", json_boolean(has_result[2]));
        (void) json_object_set_new(o, "id", json_integer((json_int_t) t->id));
        (void) json_object_set_new(o, "type", json_integer(t->type));
        (void) json_object_set_new(o, "status", json_string_safe(task_status_to_string(t->status)));
        (void) json_object_set_new(o, "stage", json_string_safe(t->stage));
        (void) json_object_set_new(o, "created", json_seconds(t->created_usec));
        (void) json_object_set_new(o, "now", json_seconds(now_usec));
        (void) json_object_set_new(o, "stages", list);
        (void) json_object_set_new(o, "finished",
                                   t->finished_usec > 0 ? json_seconds(t->finished_usec) : json_null());
        (void) json_object_set_new(o, "results", results);
        (void) json_object_set_new(o, "bucket",
                                   bucket ? json_pack("{s:o, s:I}", "hash", json_string_safe(bucket),
                                                      "others", (json_int_t) bucket_others)
                                          : json_null());
        (void) json_object_set_new(o, "waiting", json_string_safe(waiting));
        (void) json_object_set_new(o, "progress", progress_json(progress));
        (void) json_object_set_new(o, "notes", json_string_safe(t->notes ?: ""));
        (void) json_object_set_new(o, "case", json_string_safe(t->case_ref ?: ""));
        return json_dump_take(o, false, ret);
}

int render_task_list(const TaskListEntry *v, const RemoteProgress *progress, size_t n, char **ret)
{
        json_t *list = json_array();

        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_object();

                if (!e || json_array_append_new(list, e) < 0) {
                        json_decref(list);
                        return -ENOMEM;
                }
                (void) json_object_set_new(e, "id", json_integer((json_int_t) v[i].id));
                (void) json_object_set_new(e, "type", json_integer(v[i].type));
                (void) json_object_set_new(e, "status", json_string_safe(v[i].status ?: ""));
                (void) json_object_set_new(e, "stage", json_string_safe(v[i].stage ?: ""));
                (void) json_object_set_new(e, "created", json_seconds(v[i].created_usec));
                (void) json_object_set_new(e, "finished", json_seconds(v[i].finished_usec));
                (void) json_object_set_new(e, "package", json_string_safe(v[i].package ?: ""));
                (void) json_object_set_new(e, "release", json_string_safe(v[i].release ?: ""));
                (void) json_object_set_new(e, "arch", json_string_safe(v[i].arch ?: ""));
                (void) json_object_set_new(e, "progress", progress_json(progress ? &progress[i] : NULL));
                (void) json_object_set_new(e, "notes", json_string_safe(v[i].notes ?: ""));
                (void) json_object_set_new(e, "case", json_string_safe(v[i].case_ref ?: ""));
        }
        return json_dump_take(json_pack("{s:o}", "tasks", list), true, ret);
}

static json_t *stats_rows_json(const StatsRow *rows, size_t n, bool with_success)
{
        json_t *list = json_array();

        for (size_t i = 0; list && i < n; i++) {
                json_t *e = json_pack("{s:o, s:I}", "label", json_string_safe(rows[i].label), "count",
                                      (json_int_t) rows[i].count);

                if (e && with_success)
                        (void) json_object_set_new(e, "success", json_integer((json_int_t) rows[i].success));
                if (!e || json_array_append_new(list, e) < 0) {
                        json_decref(list);
                        return NULL;
                }
        }
        return list;
}

static json_t *strv_json(char *const *v, size_t max)
{
        json_t *a = json_array();
        size_t n = 0;

        for (char *const *p = v; a && p && *p && n < max; p++, n++)
                (void) json_array_append_new(a, json_string_safe(*p));
        return a;
}

/* Crash buckets: no task ids, /stats is public. */
static json_t *buckets_json(const StatsBucket *v, size_t n)
{
        json_t *list = json_array();

        for (size_t i = 0; list && i < n; i++) {
                json_t *e = json_pack("{s:o, s:I, s:o, s:o, s:o, s:o}", "hash", json_string_safe(v[i].hash),
                                      "count", (json_int_t) v[i].count, "first_seen",
                                      json_seconds(v[i].first_usec), "last_seen",
                                      json_seconds(v[i].last_usec), "releases", strv_json(v[i].releases, 20),
                                      "packages", strv_json(v[i].packages, 20));

                if (!e || json_array_append_new(list, e) < 0) {
                        json_decref(list);
                        return NULL;
                }
        }
        return list;
}

int render_statistics(const TaskStatistics *st, char **ret)
{
        static const char *const table_names[_STATS_TABLE_MAX] = {
                [STATS_TOTALS] = "totals", [STATS_RELEASES] = "releases",
                [STATS_ARCHES] = "arches", [STATS_PACKAGES] = "packages",
                [STATS_DAYS] = "days",     [STATS_MISSING_BUILD_IDS] = "missing_build_ids",
        };
        json_t *o = json_pack("{s:i}", "schema", 1), *durations = json_object();

        if (!o || !durations) {
                json_decref(o);
                json_decref(durations);
                return -ENOMEM;
        }
        for (size_t i = 0; i < _STATS_TABLE_MAX; i++)
                (void) json_object_set_new(
                        o, table_names[i],
                        stats_rows_json(st->rows[i], st->n_rows[i], i != STATS_MISSING_BUILD_IDS));
        for (size_t i = 0; i < _TASK_STAGE_KIND_MAX; i++)
                (void) json_object_set_new(durations, stage_kind_names[i],
                                           json_pack("{s:o, s:o}", "median",
                                                     json_seconds(st->durations[i].median_usec), "p95",
                                                     json_seconds(st->durations[i].p95_usec)));
        (void) json_object_set_new(o, "durations", durations);
        (void) json_object_set_new(o, "buckets", buckets_json(st->buckets, st->n_buckets));
        return json_dump_take(o, true, ret);
}

void render_metrics_totals(FILE *f, const TaskTotals *t)
{
        fprintf(f,
                "# HELP retrace_retraces_total Finished retraces by result.\n"
                "# TYPE retrace_retraces_total counter\n"
                "retrace_retraces_total{result=\"success\"} %" PRIu64 "\n"
                "retrace_retraces_total{result=\"failure\"} %" PRIu64 "\n"
                "# HELP retrace_stage_seconds Time spent per stage of finished retraces.\n"
                "# TYPE retrace_stage_seconds summary\n",
                t->succeeded, t->finished - t->succeeded);
        for (size_t i = 0; i < _TASK_STAGE_KIND_MAX; i++)
                fprintf(f,
                        "retrace_stage_seconds_sum{stage=\"%s\"} %.6f\n"
                        "retrace_stage_seconds_count{stage=\"%s\"} %" PRIu64 "\n",
                        stage_kind_names[i], (double) t->stage_usec_sum[i] / 1e6, stage_kind_names[i],
                        t->finished);
}
