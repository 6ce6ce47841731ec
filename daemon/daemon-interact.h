/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Interactive sessions (task types 3 and 4, or any finished task with InteractiveAnyTask): what a
 * finished task keeps so that its debugger can be started again by hand, in the same sandbox. The
 * pipeline writes it (results/interactive.json) when the batch run succeeded; a session reads it,
 * re-assembles the root from the package cache (a reused tree in milliseconds when it is still
 * there) and runs the command on a pseudo-terminal (daemon-http-interact.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common-macro.h"

#define CRASH_MOUNT   "/crash"   /* where the task's crash files appear inside the sandbox */
#define VMLINUX_MOUNT "/vmlinux" /* the kernel's debug file, bound from the cache's object store */

#define INTERACTIVE_SPEC_NAME  "interactive.json" /* in the task's results/ */
#define INTERACTIVE_LOG_NAME   "interact-log"     /* the sessions' transcript, in results/ */
#define INTERACTIVE_INIT_MOUNT "/interact.init"   /* the debugger's command file inside the sandbox */

typedef struct InteractiveSpec {
        char *kind;   /* "gdb" or "crash" */
        int64_t *ids; /* the root's packages (cache index ids) */
        size_t n_ids;
        int64_t *sysroot_ids; /* a foreign core's packages, in /sysroot_dir */
        size_t n_sysroot_ids;
        char *sysroot_dir; /* NULL: none */
        char *crash_dir;   /* host directory bound read-only at CRASH_MOUNT */
        char *vmlinux;     /* host file bound read-only at VMLINUX_MOUNT; NULL: none */
        char *init;        /* the debugger's command file (bound at INTERACTIVE_INIT_MOUNT) */
        char **command;    /* the debugger's command line inside the sandbox */
        int64_t finished;  /* CLOCK_REALTIME seconds when the batch run ended */
} InteractiveSpec;

InteractiveSpec *interactive_spec_free(InteractiveSpec *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(InteractiveSpec *, interactive_spec_free);

int interactive_spec_to_json(const InteractiveSpec *s, char **ret);
/* Pure: -EBADMSG for anything but what interactive_spec_to_json() writes. */
int interactive_spec_from_json(const char *buf, size_t len, InteractiveSpec **ret);
