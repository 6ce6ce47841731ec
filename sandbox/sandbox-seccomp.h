/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/* Installs the sandbox's seccomp filter on the calling thread (and everything it starts). Denied
 * calls fail with EPERM, clone3 with ENOSYS; see sandbox/README.md for the list. Sets no_new_privs. */
int sandbox_seccomp_install(bool allow_ptrace);
