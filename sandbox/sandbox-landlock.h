/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* --no-exec: from the command's execve() on, nothing inside may execute any file but the command
 * itself and its ELF interpreter (Landlock's LANDLOCK_ACCESS_FS_EXECUTE, Linux 5.13+). A debugger's
 * "shell", "pipe", "make" or "run" then fail with EACCES whatever the root holds. -EOPNOTSUPP when
 * the kernel has no Landlock (or it is disabled). Called in the command's process just before its
 * execve(), path as the sandbox sees it. */
int sandbox_landlock_exec_only(const char *path);
