/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-crashdata.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "common-macro.h"
#include "common-string.h"

static const char *const task_type_table[_TASK_TYPE_MAX] = {
        [TASK_TYPE_RETRACE] = "0",
        [TASK_TYPE_DEBUG] = "1",
        [TASK_TYPE_VMCORE] = "2",
        [TASK_TYPE_RETRACE_INTERACTIVE] = "3",
        [TASK_TYPE_VMCORE_INTERACTIVE] = "4",
};

DEFINE_STRING_TABLE_TO_STRING(task_type, TaskType, _TASK_TYPE_MAX)
DEFINE_STRING_TABLE_FROM_STRING(task_type, TaskType, _TASK_TYPE_MAX, _TASK_TYPE_INVALID)

bool task_type_is_vmcore(TaskType t)
{
        return IN_SET(t, TASK_TYPE_VMCORE, TASK_TYPE_VMCORE_INTERACTIVE);
}

bool task_type_is_interactive(TaskType t)
{
        return IN_SET(t, TASK_TYPE_RETRACE_INTERACTIVE, TASK_TYPE_VMCORE_INTERACTIVE);
}

/* PROTOCOL.md, "Crash data files that may appear". */
static const CrashFile crash_files[] = {
        { "coredump", 0 },
        { "executable", 512 },
        { "package", 128 },
        { "packages", 1024 * 1024 },
        { "os_release", 128 },
        { "os_info", 8 * 1024 },
        { "os_release_in_rootdir", 128 },
        { "rootdir", 256 },
        { "release", 128 },
        { "vmcore", 0 },
        { "vmcore.vmss", 0 },
        { "vmcore.vmsn", 0 },
        { "vmcore.vmem", 0 },
};

const CrashFile *crash_file_lookup(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(crash_files); i++)
                if (streq(name, crash_files[i].name))
                        return &crash_files[i];
        return NULL;
}

static bool file_present(int dirfd, const char *name)
{
        struct stat st;

        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode);
}

const char *crash_files_find_missing(TaskType type, int dirfd)
{
        static const char *const coredump_required[] = { "coredump", "executable", "package" };

        if (task_type_is_vmcore(type)) {
                /* Any of the vmcore names will do. */
                for (size_t i = 0; i < ELEMENTSOF(crash_files); i++)
                        if (string_startswith(crash_files[i].name, "vmcore") &&
                            file_present(dirfd, crash_files[i].name))
                                return NULL;
                return "vmcore";
        }
        for (size_t i = 0; i < ELEMENTSOF(coredump_required); i++)
                if (!file_present(dirfd, coredump_required[i]))
                        return coredump_required[i];
        return NULL;
}
