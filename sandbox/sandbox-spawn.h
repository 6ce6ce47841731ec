/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "sandbox-config.h"
#include "sandbox-error.h"
#include "sandbox-status.h"

/* Runs c->argv in a new sandbox and waits for it: passes its stdout and stderr on to ours up to
 * c->output_limit bytes, kills everything inside when c->timeout_usec expires. Fills ret (always).
 * Returns 0 when the command was started (whatever its fate: see ret), or a negative errno when the
 * sandbox could not be set up, with e saying why and how to fix it. Must be called from a
 * single-threaded process that ignores SIGPIPE. */
int sandbox_run(const SandboxConfig *c, SandboxResult *ret, SandboxError *e);
