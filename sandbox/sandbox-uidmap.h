/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "sandbox-error.h"

/* The sandbox maps exactly one id: inside_uid inside is host_uid outside (the same for gids). */
typedef struct SandboxIds {
        uid_t inside_uid, host_uid;
        gid_t inside_gid, host_gid;
} SandboxIds;

/* The uid the sandbox uses when started by root: root is never mapped inside. */
#define SANDBOX_ROOT_FALLBACK_ID 65534

/* An ordinary caller is mapped to itself; root to SANDBOX_ROOT_FALLBACK_ID on both sides. */
void sandbox_ids_choose(uid_t caller_uid, gid_t caller_gid, SandboxIds *ret);

/* The one line written to uid_map/gid_map: "INSIDE HOST 1\n". */
int sandbox_idmap_format(unsigned inside, unsigned host, char *buf, size_t size);

/* Writes uid_map, "deny" to setgroups, and gid_map of process pid (which has just entered a new
 * user namespace). Must run in the parent user namespace. */
int sandbox_ids_write_maps(pid_t pid, const SandboxIds *ids, SandboxError *e);

/* Explains why a user namespace could not be created (error is the errno of clone/unshare), with
 * the fix: names the sysctl that disables them when one does. Never NULL. */
const char *sandbox_userns_problem(int error, char *buf, size_t size);
