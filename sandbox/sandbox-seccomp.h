/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include <stddef.h>

/* The sandbox's seccomp filter: denied calls fail with EPERM, clone3 with ENOSYS; see
 * sandbox/README.md for the list. Generating it costs about a millisecond, so the helper does it
 * outside while init sets up the mounts, and hands the compiled program in through a pipe. */

/* Compiles the filter and writes the BPF program (struct sock_filter[]) to fd. */
int sandbox_seccomp_export(bool allow_ptrace, int fd);
/* Installs a program written by sandbox_seccomp_export() on the calling thread (and everything it
 * starts). Needs no_new_privs. */
int sandbox_seccomp_load(const void *program, size_t size);
