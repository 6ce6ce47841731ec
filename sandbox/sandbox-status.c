/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-json.h"
#include "common-macro.h"

int sandbox_result_exit_status(const SandboxResult *r)
{
        if (r->setup_failed)
                return SANDBOX_EXIT_SETUP;
        if (r->timed_out)
                return SANDBOX_EXIT_TIMEOUT;
        if (r->exec_failed)
                return r->exec_error == ENOENT ? SANDBOX_EXIT_NOT_FOUND : SANDBOX_EXIT_CANNOT_EXEC;
        if (r->exited)
                return r->exit_code;
        if (r->signal > 0)
                return 128 + r->signal;
        return SANDBOX_EXIT_SETUP;
}

int sandbox_result_to_json(const SandboxResult *r, char **ret)
{
        json_t *o = json_object(), *sig = json_null();
        char setup[SANDBOX_MESSAGE_MAX + 128];

        if (!o)
                return -ENOMEM;
        if (!r->exited && r->signal > 0) {
                const char *name = sigabbrev_np(r->signal);
                char full[32];

                (void) snprintf(full, sizeof(full), "SIG%s", strna(name));
                sig = name ? json_string_safe(full) : json_integer(r->signal);
        }
        (void) snprintf(setup, sizeof(setup), "%s: %s", r->setup_error.message,
                        strerror(r->setup_error.error));
        (void) json_object_set_new(o, "exit_status", json_integer(sandbox_result_exit_status(r)));
        (void) json_object_set_new(o, "exit_code", r->exited ? json_integer(r->exit_code) : json_null());
        (void) json_object_set_new(o, "signal", sig);
        (void) json_object_set_new(o, "timed_out", json_boolean(r->timed_out));
        (void) json_object_set_new(o, "output_limit_hit", json_boolean(r->output_limit_hit));
        (void) json_object_set_new(o, "output_bytes", json_integer((json_int_t) r->output_bytes));
        (void) json_object_set_new(o, "output_dropped", json_integer((json_int_t) r->output_dropped));
        (void) json_object_set_new(o, "wall_time_us", json_integer((json_int_t) r->wall_usec));
        (void) json_object_set_new(o, "cpu_time_us", json_integer((json_int_t) r->cpu_usec));
        (void) json_object_set_new(o, "peak_memory_bytes", json_integer((json_int_t) r->peak_memory));
        (void) json_object_set_new(o, "cgroup",
                                   r->cgroup_used ? json_string_safe(r->cgroup_path) : json_null());
        (void) json_object_set_new(
                o, "cgroup_problem",
                !r->cgroup_used && r->cgroup_problem[0] ? json_string_safe(r->cgroup_problem) : json_null());
        (void) json_object_set_new(o, "pids_limit_hit", json_boolean(r->pids_limit_hit));
        (void) json_object_set_new(o, "memory_limit_hit", json_boolean(r->memory_limit_hit));
        (void) json_object_set_new(o, "setup_error",
                                   r->setup_failed ? json_string_safe(setup) : json_null());
        (void) json_object_set_new(o, "exec_error",
                                   r->exec_failed ? json_string_safe(strerror(r->exec_error)) : json_null());
        return json_dump_take(o, false, ret);
}

int sandbox_result_from_json(const char *text, size_t len, SandboxResult *ret)
{
        _cleanup_(json_decrefp) json_t *o = json_loadb(text, len, 0, NULL);
        SandboxResult r = {};
        json_t *v;

        if (!json_is_object(o))
                return -EBADMSG;
        v = json_object_get(o, "exit_code");
        r.exited = json_is_integer(v);
        r.exit_code = r.exited ? (int) json_integer_value(v) : 0;
        r.timed_out = json_is_true(json_object_get(o, "timed_out"));
        r.output_limit_hit = json_is_true(json_object_get(o, "output_limit_hit"));
        r.setup_failed = json_is_string(json_object_get(o, "setup_error"));
        r.exec_failed = json_is_string(json_object_get(o, "exec_error"));
        r.pids_limit_hit = json_is_true(json_object_get(o, "pids_limit_hit"));
        r.memory_limit_hit = json_is_true(json_object_get(o, "memory_limit_hit"));
        r.output_bytes = (uint64_t) json_integer_value(json_object_get(o, "output_bytes"));
        r.output_dropped = (uint64_t) json_integer_value(json_object_get(o, "output_dropped"));
        r.wall_usec = (uint64_t) json_integer_value(json_object_get(o, "wall_time_us"));
        r.cpu_usec = (uint64_t) json_integer_value(json_object_get(o, "cpu_time_us"));
        r.peak_memory = (uint64_t) json_integer_value(json_object_get(o, "peak_memory_bytes"));
        *ret = r;
        return 0;
}
