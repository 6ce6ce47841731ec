/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes all of buf, retrying on EINTR and short writes. */
int fd_write_all(int fd, const void *buf, size_t len);
/* Reads until EOF, at most max bytes; -EFBIG when there is more. The result is NUL-terminated. */
int fd_read_full(int fd, size_t max, char **ret, size_t *ret_len);
/* Moves fd to at least 3 so it cannot be mistaken for stdin/stdout/stderr. */
int fd_move_above_stdio(int fd);
/* Closes every fd except those in keep (n entries, any order; negative entries are ignored). */
int fd_close_all_but(const int *keep, size_t n);
/* Opens the directory name (no symlink at the last component) relative to dir_fd for readdir();
 * "." reads dir_fd itself. */
int dir_open_at(int dir_fd, const char *name, DIR **ret);
struct open_how;
/* openat2(2): the fd, or -1 with errno set (ENOSYS before Linux 5.6). Retries the spurious EAGAIN
 * that RESOLVE_BENEATH and RESOLVE_IN_ROOT give when a rename or mount anywhere on the system raced
 * with the lookup. */
int fd_openat2(int dir_fd, const char *path, const struct open_how *how);
