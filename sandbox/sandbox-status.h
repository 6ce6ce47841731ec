/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox-error.h"

/* Exit status of retrace-sandbox when it is not the command's own. */
#define SANDBOX_EXIT_TIMEOUT     124 /* --timeout expired; everything inside was killed */
#define SANDBOX_EXIT_SETUP       125 /* the sandbox could not be set up; nothing was run */
#define SANDBOX_EXIT_CANNOT_EXEC 126 /* the command exists but could not be executed */
#define SANDBOX_EXIT_NOT_FOUND   127 /* the command was not found inside the sandbox */

typedef struct SandboxResult {
        bool setup_failed;
        SandboxError setup_error;
        bool exec_failed;
        int exec_error; /* errno of execve() */
        bool exited;    /* the command exited with exit_code ... */
        int exit_code;
        int signal; /* ... or was killed by signal (0: neither, e.g. after a setup failure) */
        bool timed_out;
        bool output_limit_hit;
        uint64_t output_bytes; /* passed on */
        uint64_t output_dropped;
        uint64_t wall_usec;
        uint64_t cpu_usec;
        uint64_t peak_memory; /* bytes */
        bool cgroup_used;     /* the sandbox had a cgroup v2 of its own ... */
        char cgroup_path[256];
        char cgroup_problem[SANDBOX_MESSAGE_MAX]; /* ... or why not ("" with --cgroup no) */
        bool pids_limit_hit;                      /* pids.max refused a fork */
        bool memory_limit_hit;                    /* memory.max made the kernel kill inside */
} SandboxResult;

/* The exit status retrace-sandbox reports for this result: the command's status, 128+signal, or one
 * of SANDBOX_EXIT_*. */
int sandbox_result_exit_status(const SandboxResult *r);

/* One JSON object (with a trailing newline) describing the result, for --status-fd. */
int sandbox_result_to_json(const SandboxResult *r, char **ret);
/* Reads such an object back (what a caller of retrace-sandbox needs: how the command ended, whether
 * limits were hit, the time and memory it took); -EBADMSG when it is not one. */
int sandbox_result_from_json(const char *text, size_t len, SandboxResult *ret);
