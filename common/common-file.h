/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Reads a whole regular file (dirfd-relative, no symlink at the last component) of at most max
 * bytes; -EFBIG when larger. The result is NUL-terminated; ret_len may be NULL. */
int file_read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len);
/* Writes a file atomically: temporary file in the same directory, fsync, rename over name. */
int file_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* Reads the first line of a file (without the newline), at most max bytes. */
int file_read_line_at(int dirfd, const char *name, size_t max, char **ret);
