/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common-config.h"
#include "daemon-store.h"

/* Archiving finished tasks (ArchiveTaskAfter, ArchiveDir), as the old service did: SaveDir/<id> with its
 * crash files and results moves to ArchiveDir/<id> (rename(), or copy and remove across file systems),
 * with task.json describing the task as the store knew it (id, type, status, stage, times, notes, case);
 * then the task leaves the store, and the API answers 410 for it. Not to be confused with
 * daemon-archive.c, which reads uploaded archives. */

/* Archives task id: the pre_clean_task hooks, the move, the store's row, the post_clean_task hooks (told
 * the new place). A failure (ArchiveDir not writable, ArchiveDir/<id> taken) leaves the task where it was;
 * *ret_error says what to fix. */
int task_archive(const RetraceConfig *c, TaskStore *s, uint64_t id, char **ret_error);

/* Whether ArchiveDir/<id> exists (an id the store no longer knows was archived). */
bool task_archived(const RetraceConfig *c, uint64_t id);
