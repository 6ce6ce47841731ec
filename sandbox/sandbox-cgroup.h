/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox-config.h"
#include "sandbox-error.h"
#include "sandbox-status.h"

/* The sandbox's own cgroup v2, beside the supervisor leaf of a delegated subtree (common-cgroup.h). */
typedef struct SandboxCgroup {
        int base_fd; /* the delegated cgroup; -EBADF when the sandbox has no cgroup */
        int fd;      /* the sandbox's cgroup, for CLONE_INTO_CGROUP */
        char name[64];
        char *path;
        bool pids, memory; /* which controllers its limits use */
} SandboxCgroup;

#define SANDBOX_CGROUP_NULL                     \
        {                                       \
                .base_fd = -EBADF, .fd = -EBADF \
        }

/* Creates the cgroup and writes pids.max, memory.max and memory.swap.max. A negative errno when no
 * delegated subtree is available, with the reason in e. */
int sandbox_cgroup_create(const SandboxConfig *c, SandboxCgroup *ret, SandboxError *e);
/* Moves pid into the cgroup (where CLONE_INTO_CGROUP could not be used). */
int sandbox_cgroup_attach(SandboxCgroup *cg, pid_t pid);
/* After everything inside has ended: peak memory and which limits were hit, into r. */
void sandbox_cgroup_collect(const SandboxCgroup *cg, SandboxResult *r);
/* Kills what is left and removes the cgroup. */
void sandbox_cgroup_destroy(SandboxCgroup *cg);
