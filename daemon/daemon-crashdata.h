/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X-Task-Type values of PROTOCOL.md. */
typedef enum TaskType {
        TASK_TYPE_RETRACE = 0,
        TASK_TYPE_DEBUG = 1,
        TASK_TYPE_VMCORE = 2,
        TASK_TYPE_RETRACE_INTERACTIVE = 3,
        TASK_TYPE_VMCORE_INTERACTIVE = 4,
        _TASK_TYPE_MAX,
        _TASK_TYPE_INVALID = -EINVAL,
} TaskType;

/* "0" … "4" as in the X-Task-Type header. */
const char *task_type_to_string(TaskType t);
TaskType task_type_from_string(const char *s);
bool task_type_is_vmcore(TaskType t);
bool task_type_is_interactive(TaskType t);

/* A crash data file that an upload may contain, with its own byte limit (0: only the global one). */
typedef struct CrashFile {
        const char *name;
        uint64_t max_size;
} CrashFile;

/* The allowed top-level file of that name, or NULL: anything else makes an archive malicious. */
const CrashFile *crash_file_lookup(const char *name);

/* The first file that tasks of this type require and that is missing in dirfd, or NULL. */
const char *crash_files_find_missing(TaskType type, int dirfd);

/* The first file present in dirfd that tasks of this type may not carry, or NULL: a coredump task
 * (types 0, 1, 3) no vmcore file, a vmcore task (types 2, 4) no coredump or executable. */
const char *crash_files_find_foreign(TaskType type, int dirfd);

/* Checks the content of 'executable' (surrounding white space ignored, as the pipeline reads it): an
 * absolute path of at most 511 bytes without control characters, empty, "." or ".." components,
 * and not below a mount point the sandbox adds to the task's root (/crash, /vmlinux, /tmp, /proc,
 * /dev, /sys). Returns 0, or -EINVAL with *ret_why (static text) saying what is wrong. */
int crash_executable_check(const char *text, size_t len, const char **ret_why);

/* Resolves executable (checked by crash_executable_check()) inside the directory root_fd the way the
 * sandbox, whose / that directory becomes, will: symlinks are followed as if root_fd were / (openat2's
 * RESOLVE_IN_ROOT), so nothing leads out of it. Returns 0 when it is a regular file that no sandbox
 * mount shadows; -ENOENT when it does not exist and no symlink lies on its way (harmless: nothing
 * else can appear there inside the sandbox); else a negative errno with *ret_why (static text): a
 * symlink leading to nothing in the root or below a sandbox mount, or no regular file. */
int crash_executable_resolve(int root_fd, const char *executable, const char **ret_why);
