/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Arms PR_SET_PDEATHSIG (SIGKILL) for the calling process, then checks that its parent is still
 * expected_parent (when > 0), so that a parent that died before the signal was armed is noticed:
 * -ESRCH then. The kernel sends the signal when the thread that started us ends. */
int sandbox_die_with_parent(pid_t expected_parent);

/* Takes an exclusive flock() on fd, waiting while another open file holds it, until deadline
 * (CLOCK_MONOTONIC µs; 0: no deadline): -ETIMEDOUT then. A lock the caller already holds through the
 * same open file (an fd passed to us) is simply kept. The lock belongs to the open file: it is held
 * while fd, or a copy of it in a child, is open. ret_waited_usec says how long it waited. */
int sandbox_lock_fd(int fd, uint64_t deadline, uint64_t *ret_waited_usec);
/* The same for the file path, opened (created 0600) here; ret_fd is the open file. */
int sandbox_lock_take(const char *path, uint64_t deadline, int *ret_fd, uint64_t *ret_waited_usec);
