/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Writes s as a JSON string (with quotes) to f. */
static void json_write_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

int sandbox_result_to_json(const SandboxResult *r, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "{\"exit_status\":%d", sandbox_result_exit_status(r));
        if (r->exited)
                fprintf(f, ",\"exit_code\":%d,\"signal\":null", r->exit_code);
        else if (r->signal > 0) {
                const char *name = sigabbrev_np(r->signal);

                fputs(",\"exit_code\":null,\"signal\":", f);
                if (name) {
                        char full[32];

                        (void) snprintf(full, sizeof(full), "SIG%s", name);
                        json_write_string(f, full);
                } else
                        fprintf(f, "%d", r->signal);
        } else
                fputs(",\"exit_code\":null,\"signal\":null", f);
        fprintf(f, ",\"timed_out\":%s,\"output_limit_hit\":%s,\"output_bytes\":%llu,\"output_dropped\":%llu",
                r->timed_out ? "true" : "false", r->output_limit_hit ? "true" : "false",
                (unsigned long long) r->output_bytes, (unsigned long long) r->output_dropped);
        fprintf(f, ",\"wall_time_us\":%llu,\"cpu_time_us\":%llu,\"peak_memory_bytes\":%llu",
                (unsigned long long) r->wall_usec, (unsigned long long) r->cpu_usec,
                (unsigned long long) r->peak_memory);
        fputs(",\"cgroup\":", f);
        if (r->cgroup_used)
                json_write_string(f, r->cgroup_path);
        else
                fputs("null", f);
        fputs(",\"cgroup_problem\":", f);
        if (!r->cgroup_used && r->cgroup_problem[0])
                json_write_string(f, r->cgroup_problem);
        else
                fputs("null", f);
        fprintf(f, ",\"pids_limit_hit\":%s,\"memory_limit_hit\":%s", r->pids_limit_hit ? "true" : "false",
                r->memory_limit_hit ? "true" : "false");
        fprintf(f, ",\"peak_tasks\":%llu,\"lock_wait_us\":%llu", (unsigned long long) r->peak_tasks,
                (unsigned long long) r->lock_wait_usec);
        fputs(",\"setup_error\":", f);
        if (r->setup_failed) {
                char text[SANDBOX_MESSAGE_MAX + 128];

                (void) snprintf(text, sizeof(text), "%s: %s", r->setup_error.message,
                                strerror(r->setup_error.error));
                json_write_string(f, text);
        } else
                fputs("null", f);
        fputs(",\"exec_error\":", f);
        if (r->exec_failed)
                json_write_string(f, strerror(r->exec_error));
        else
                fputs("null", f);
        fputs("}\n", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}
