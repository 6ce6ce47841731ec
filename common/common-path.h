/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/* Joins two path parts with exactly one '/' between them; NULL on allocation failure. */
char *path_join(const char *a, const char *b);
/* A single path component: not empty, no '/', not "." or "..", no NUL, at most NAME_MAX bytes. */
bool path_is_filename(const char *p);
/* Absolute, no "." or ".." components, no "//", no trailing '/' (except "/" itself). */
bool path_is_normalized_absolute(const char *p);
/* Pure: path ('/' first) with "//" collapsed and "." and ".." segments resolved lexically. A ".."
 * above the root stays at "/" unless strict, which fails with -EINVAL; so does a relative path. */
int path_simplify(const char *path, bool strict, char **ret);
/* Pure: where a symlink at the absolute path link_path pointing to target leads, lexically, as a
 * normalized absolute path ("." and ".." resolved, ".." stops at "/"); NULL on allocation failure. */
char *path_resolve_link(const char *link_path, const char *target);
/* Creates every missing directory of path with mode; existing directories are fine. */
int path_mkdir_p(const char *path, unsigned mode);
/* Removes a directory tree without following symlinks; a missing path is fine. */
int path_rm_rf(const char *path);
