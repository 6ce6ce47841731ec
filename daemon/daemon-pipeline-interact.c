/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Interactive use of a finished task: what the pipeline keeps of its environment (the packages of the
 * root, the bound files, the debugger's command line) and how a session gets the same root again. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cache-assemble.h"
#include "cache-evict.h"
#include "cache-extract.h"
#include "common-json.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-crashdata.h"
#include "daemon-interact.h"
#include "daemon-pipeline-task.h"

InteractiveSpec *interactive_spec_free(InteractiveSpec *s)
{
        if (!s)
                return NULL;
        free(s->kind);
        free(s->ids);
        free(s->sysroot_ids);
        free(s->sysroot_dir);
        free(s->crash_dir);
        free(s->vmlinux);
        free(s->init);
        strv_free(s->command);
        return mfree(s);
}

static json_t *ids_json(const int64_t *ids, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_integer(ids[i])) < 0)
                        return json_decref(a), NULL;
        return a;
}

int interactive_spec_to_json(const InteractiveSpec *s, char **ret)
{
        json_t *o, *cmd = json_array();

        STRV_FOREACH (c, s->command)
                if (cmd)
                        (void) json_array_append_new(cmd, json_string_safe(*c));
        o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "kind", json_string_safe(s->kind),
                      "ids", ids_json(s->ids, s->n_ids), "sysroot_ids",
                      ids_json(s->sysroot_ids, s->n_sysroot_ids), "sysroot_dir",
                      json_string_safe(s->sysroot_dir), "crash_dir", json_string_safe(s->crash_dir),
                      "vmlinux", json_string_safe(s->vmlinux), "init", json_string_safe(s->init), "command",
                      cmd, "finished", (json_int_t) s->finished);
        if (!o)
                return -ENOMEM;
        return json_dump_take(o, 0, ret);
}

static int ids_from_json(json_t *a, int64_t **ret, size_t *ret_n)
{
        size_t n = json_array_size(a), i;
        json_t *v;
        int64_t *ids;

        if (!json_is_array(a) || n > 1000000)
                return -EBADMSG;
        ids = calloc(n ?: 1, sizeof(int64_t));
        if (!ids)
                return -ENOMEM;
        json_array_foreach(a, i, v)
        {
                if (!json_is_integer(v)) {
                        free(ids);
                        return -EBADMSG;
                }
                ids[i] = json_integer_value(v);
        }
        *ret = ids;
        *ret_n = n;
        return 0;
}

static int string_dup_json(json_t *v, bool nullable, char **ret)
{
        if (nullable && json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return -EBADMSG;
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

int interactive_spec_from_json(const char *buf, size_t len, InteractiveSpec **ret)
{
        _cleanup_(interactive_spec_freep) InteractiveSpec *s = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        json_t *cmd, *c;
        size_t i;
        int r;

        o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o))
                return -EBADMSG;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = string_dup_json(json_object_get(o, "kind"), false, &s->kind);
        if (r >= 0)
                r = ids_from_json(json_object_get(o, "ids"), &s->ids, &s->n_ids);
        if (r >= 0)
                r = ids_from_json(json_object_get(o, "sysroot_ids"), &s->sysroot_ids, &s->n_sysroot_ids);
        if (r >= 0)
                r = string_dup_json(json_object_get(o, "sysroot_dir"), true, &s->sysroot_dir);
        if (r >= 0)
                r = string_dup_json(json_object_get(o, "crash_dir"), false, &s->crash_dir);
        if (r >= 0)
                r = string_dup_json(json_object_get(o, "vmlinux"), true, &s->vmlinux);
        if (r >= 0)
                r = string_dup_json(json_object_get(o, "init"), false, &s->init);
        if (r < 0)
                return r;
        if (!json_is_integer(json_object_get(o, "finished")))
                return -EBADMSG;
        s->finished = json_integer_value(json_object_get(o, "finished"));
        cmd = json_object_get(o, "command");
        if (!json_is_array(cmd) || json_array_size(cmd) == 0 || json_array_size(cmd) > 4096)
                return -EBADMSG;
        json_array_foreach(cmd, i, c)
        {
                if (!json_is_string(c))
                        return -EBADMSG;
                r = strv_extend(&s->command, json_string_value(c));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

void task_save_interactive(TaskRun *t, const char *kind, char *const *command, const char *crash_dir,
                           const char *vmlinux, const char *init)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_free_ char *json = NULL;
        InteractiveSpec s = {
                .kind = (char *) kind,
                .ids = t->root_ids,
                .n_ids = t->n_root_ids,
                .sysroot_ids = t->foreign ? t->ids : NULL,
                .n_sysroot_ids = t->foreign ? t->n_ids : 0,
                .sysroot_dir = t->foreign ? (char *) FOREIGN_SYSROOT : NULL,
                .crash_dir = (char *) crash_dir,
                .vmlinux = (char *) vmlinux,
                .init = (char *) init,
                .command = (char **) command,
                .finished = now_realtime_usec() / 1000000,
        };
        int r;

        if (!cfg->allow_interactive || (!task_type_is_interactive(t->type) && !cfg->interactive_any_task))
                return;
        r = interactive_spec_to_json(&s, &json);
        if (r >= 0)
                r = task_write_result(t, INTERACTIVE_SPEC_NAME, json);
        if (r < 0)
                task_log(t, 'W', "Cannot keep the environment for interactive sessions: %s", strerror(-r));
        else
                task_log(t, 'I', "The environment is kept for interactive %s sessions for %" PRIu64 " s",
                         kind, cfg->interactive_expiry);
}

int pipeline_interactive_root(Pipeline *p, const InteractiveSpec *s, char **ret_root, int ret_fds[2],
                              char **ret_reason)
{
        _cleanup_(extract_plan_freep) ExtractPlan *plan = NULL;
        _cleanup_close_ int lock_fd = -EBADF, use_fd = -EBADF, pin_fd = -EBADF;
        _cleanup_free_ char *reason = NULL;
        AssembleResult a = {};
        ExtractResult res = {};
        int r;

        r = cache_lock_shared(p->cache, NULL, NULL, &lock_fd);
        if (r >= 0)
                r = cache_use_lock(p->cache, NULL, NULL, &use_fd);
        if (r < 0)
                return r;
        /* Packages evicted since the task ran are extracted again. */
        pthread_mutex_lock(&p->cache_lock);
        r = cache_extract_plan_for(p->cache, s->ids, s->n_ids, NULL, 0, &plan);
        pthread_mutex_unlock(&p->cache_lock);
        if (r >= 0 && plan->n > 0)
                r = cache_extract_run(p->cache, plan, 0, &res, &reason);
        if (r >= 0 && s->n_sysroot_ids > 0) {
                plan = extract_plan_free(plan);
                pthread_mutex_lock(&p->cache_lock);
                r = cache_extract_plan_for(p->cache, s->sysroot_ids, s->n_sysroot_ids, NULL, 0, &plan);
                pthread_mutex_unlock(&p->cache_lock);
                if (r >= 0 && plan->n > 0)
                        r = cache_extract_run(p->cache, plan, 0, &res, &reason);
        }
        if (r < 0) {
                *ret_reason = TAKE_PTR(reason);
                return r;
        }
        pthread_mutex_lock(&p->cache_lock);
        if (s->n_sysroot_ids > 0)
                r = cache_assemble_sysroot(p->cache,
                                           &(AssembleSet){ .ids = s->ids,
                                                           .n = s->n_ids,
                                                           .sysroot_ids = s->sysroot_ids,
                                                           .n_sysroot = s->n_sysroot_ids,
                                                           .sysroot_dir = s->sysroot_dir },
                                           &a, &reason);
        else
                r = cache_assemble(p->cache, s->ids, s->n_ids, &a, &reason);
        pthread_mutex_unlock(&p->cache_lock);
        if (r < 0) {
                *ret_reason = TAKE_PTR(reason);
                return r;
        }
        r = cache_root_pin(p->cache, basename(a.path), &pin_fd);
        if (r < 0) {
                assemble_result_done(&a);
                return r;
        }
        __atomic_add_fetch(a.reused ? &p->roots_reused : &p->roots_assembled, 1, __ATOMIC_RELAXED);
        *ret_root = TAKE_PTR(a.path);
        assemble_result_done(&a);
        ret_fds[0] = TAKE_FD(lock_fd);
        ret_fds[1] = TAKE_FD(pin_fd);
        return 0;
}
