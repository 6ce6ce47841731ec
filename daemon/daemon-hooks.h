/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdint.h>

#include "common-config.h"
#include "daemon-store.h"

/* Site hooks (docs/hooks.md): the executables of HookDir/<stage>/ run in name order at each stage
 * of a task, as the daemon's user, with the task's id, type, directory and status in their
 * environment, under HookTimeout (their whole process group is killed when it runs out), their output
 * appended to the task's log (at most HOOK_MAX_OUTPUT bytes per hook). A hook that fails is logged;
 * it fails the task only when its stage is listed in HookRequired. */

#define HOOK_MAX_OUTPUT (64 * 1024)

typedef enum HookStage {
        HOOK_PRE_START,
        HOOK_START,
        HOOK_PRE_PREPARE_DEBUGINFO,
        HOOK_POST_PREPARE_DEBUGINFO,
        HOOK_PRE_PREPARE_ENVIRONMENT,
        HOOK_POST_PREPARE_ENVIRONMENT,
        HOOK_PRE_RETRACE,
        HOOK_POST_RETRACE,
        HOOK_SUCCESS,
        HOOK_FAIL,
        HOOK_PRE_REMOVE_TASK,
        HOOK_POST_REMOVE_TASK,
        HOOK_PRE_CLEAN_TASK,
        HOOK_POST_CLEAN_TASK,
        _HOOK_STAGE_MAX,
        _HOOK_STAGE_INVALID = -EINVAL,
} HookStage;

const char *hook_stage_to_string(HookStage s);
HookStage hook_stage_from_string(const char *s);

/* What a hook is told about its task. */
typedef struct HookTask {
        uint64_t id;
        TaskType type;
        const char *dir;     /* SaveDir/<id> (ArchiveDir/<id> in post_clean_task after archiving) */
        const char *status;  /* task_status_to_string() */
        const char *cleanup; /* pre/post_clean_task: "delete" or "archive"; NULL otherwise */
        int log_fd;          /* the task's log (O_APPEND); < 0: the daemon's log */
        char *dir_owned;     /* hook_task_from_store()'s */
} HookTask;

/* A task as the store knows it (for the removal and clean-up hooks, which log into the daemon's log);
 * -ENOENT for an unknown id. hook_task_done() frees it. */
int hook_task_from_store(const RetraceConfig *c, TaskStore *s, uint64_t id, HookTask *ret);
void hook_task_done(HookTask *t);

/* Parses HookRequired (stage names separated by commas or spaces) into a bit mask of stages; -EINVAL
 * with *ret_error naming the unknown stage. Only stages up to post_retrace can fail a task. */
int hooks_parse_required(const char *value, unsigned *ret_mask, char **ret_error);

/* Checks the hook keys of the configuration at startup: HookRequired's names, HookDir's existence (a
 * missing one is a warning, not an error). Fails with *ret_error saying what to fix. */
int hooks_check_config(const RetraceConfig *c, char **ret_error);

/* Runs every hook of stage for task (nothing when HookDir is not set or HookDir/<stage> does not
 * exist). Returns 0 when none failed or none of those that failed was required; -EPROTO with
 * *ret_failure (a line for the task's log and its failure) when a required one failed. */
int hooks_run(const RetraceConfig *c, HookStage stage, const HookTask *task, char **ret_failure);
