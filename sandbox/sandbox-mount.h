/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "sandbox-config.h"
#include "sandbox-error.h"
#include "sandbox-uidmap.h"

typedef struct SandboxMountSources SandboxMountSources;

/* Opens every host object the tree is built from (the root directory's entries, bind sources) with
 * the caller's rights, before the sandbox switches to its own uid. */
int sandbox_mount_sources_open(const SandboxConfig *c, SandboxMountSources **ret, SandboxError *e);
SandboxMountSources *sandbox_mount_sources_free(SandboxMountSources *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SandboxMountSources *, sandbox_mount_sources_free);

/* Builds the sandbox's file system and makes it the root: a read-only tmpfs holding the entries of
 * c->root bound read-only, a fresh /proc, a minimal /dev, then c->mounts in order; pivot_root into it
 * and detach the host's tree. Runs in the sandbox's init, in new user, mount and pid namespaces, with
 * its capabilities there and already as the sandbox's uid (so that what it creates is owned by a
 * mapped id). with_tty adds /dev/tty. */
int sandbox_mount_build(const SandboxConfig *c, const SandboxMountSources *s, const SandboxIds *ids,
                        bool with_tty, SandboxError *e);
