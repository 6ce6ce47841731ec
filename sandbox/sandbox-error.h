/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "common-macro.h"

#define SANDBOX_MESSAGE_MAX 512

/* What went wrong while setting up a sandbox, for the caller to show. The library does not print:
 * functions that fail fill this with the step that failed and, where known, how to fix it. */
typedef struct SandboxError {
        int error;                         /* positive errno */
        char message[SANDBOX_MESSAGE_MAX]; /* "cannot mount proc on /proc" */
} SandboxError;

/* Records error and message (when e is not NULL) and returns -|error|, for `return sandbox_error_set(…)`. */
int sandbox_error_set(SandboxError *e, int error, const char *format, ...) _printf_(3, 4);
