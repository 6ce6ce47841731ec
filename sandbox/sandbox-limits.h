/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "sandbox-config.h"
#include "sandbox-error.h"

/* The limit applied when --rlimit does not set one (SANDBOX_RLIMIT_INFINITY: leave as inherited). */
uint64_t sandbox_limits_default(int resource);

/* Sets soft and hard limit of every resource to the configured or default value. A default above the
 * caller's hard limit is lowered to it; an explicit value above it is an error (raising needs
 * privileges the sandbox does not have). */
int sandbox_limits_apply(const SandboxConfig *c, SandboxError *e);
