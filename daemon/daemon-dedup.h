/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

/* Identical vmcores stored once (DedupVmcores). SaveDir/.vmcores/<sha256> is a hard link to the first
 * crash file seen with that content; a later task's identical file is replaced by a hard link to it, so
 * every task keeps its own name for one inode and deleting any task (or the index entry) leaves the
 * others' file whole. Entries no task links to any more (a link count of 1) are pruned. */

#define DEDUP_MIN_SIZE (1024 * 1024) /* smaller crash files are not worth hashing */

/* Links the regular files of SaveDir/<id>/crash of at least DEDUP_MIN_SIZE bytes to identical ones of
 * earlier tasks (same SHA-256, same size, same first bytes, same file system), or records them in the
 * index. *ret_saved counts the bytes no longer stored twice. */
int dedup_task_crash_files(const char *save_dir, uint64_t id, uint64_t *ret_saved);

/* Removes the index entries no task links to any more; returns how many. */
int dedup_prune(const char *save_dir);
