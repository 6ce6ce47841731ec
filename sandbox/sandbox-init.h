/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "common-macro.h"
#include "sandbox-config.h"
#include "sandbox-uidmap.h"
#include "sandbox-usage.h"

/* What the sandbox's init (and the command before its execve) tells the helper outside, over a
 * pipe; each report is one write smaller than PIPE_BUF, so reports never interleave. */
typedef enum SandboxReportKind {
        SANDBOX_REPORT_SETUP_FAILED, /* error + message */
        SANDBOX_REPORT_EXEC_FAILED,  /* error */
        SANDBOX_REPORT_STATUS,       /* wait_status of the command */
} SandboxReportKind;

typedef struct SandboxReport {
        int32_t kind;
        int32_t error;
        int32_t wait_status;
        char message[SANDBOX_MESSAGE_MAX];
} SandboxReport;

typedef struct SandboxInitFds {
        int sync;   /* read: one byte once the id maps are written; hang-up/EOF: the helper is gone */
        int report; /* write: SandboxReport */
        int out;    /* write: the command's stdout */
        int err;    /* write: the command's stderr */
        int filter; /* read: the compiled seccomp filter, until EOF */
        int lock;   /* --lock, kept open by init (not by the command); -EBADF: none */
        SandboxUsage *usage; /* shared with the helper: what init measured */
        uint64_t memory_max; /* ceilings init enforces on the whole tree (UINT64_MAX: none; a */
        uint64_t pids_max;   /* cgroup enforces it, or "max") */
} SandboxInitFds;

/* The sandbox's pid 1, started by sandbox_run() in the new namespaces: sets up the file system, drops
 * every privilege, starts the command and reaps whatever is reparented to it. When the command ends
 * it reports the command's status and exits, and the kernel kills everything left in the pid
 * namespace. It dies with the helper (PR_SET_PDEATHSIG), taking the namespace with it. Every
 * SANDBOX_USAGE_POLL_USEC it sums the resident sets and counts the tasks of everything inside, and
 * kills everything when the sum passes fds->memory_max or the count fds->pids_max. */
_noreturn_ void sandbox_init_run(const SandboxConfig *c, const SandboxIds *ids, const SandboxInitFds *fds);
