/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-crashdata.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common-fd.h"
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

const char *crash_files_find_foreign(TaskType type, int dirfd)
{
        static const char *const coredump_only[] = { "coredump", "executable" };

        if (!task_type_is_vmcore(type)) {
                for (size_t i = 0; i < ELEMENTSOF(crash_files); i++)
                        if (string_startswith(crash_files[i].name, "vmcore") &&
                            file_present(dirfd, crash_files[i].name))
                                return crash_files[i].name;
                return NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(coredump_only); i++)
                if (file_present(dirfd, coredump_only[i]))
                        return coredump_only[i];
        return NULL;
}

int crash_executable_check(const char *text, size_t len, const char **ret_why)
{
        static const char *const mounts[] = { "crash", "vmlinux", "tmp", "proc", "dev", "sys" };
        const char *p, *end;

        /* The pipeline strips surrounding white space (ABRT writes no newline, others may). */
        while (len > 0 && strchr(" \t\n\r", text[0]) && text[0] != '\0')
                text++, len--;
        while (len > 0 && strchr(" \t\n\r", text[len - 1]) && text[len - 1] != '\0')
                len--;
        *ret_why = NULL;
        if (len == 0 || text[0] != '/') {
                *ret_why = "must hold the absolute path of the program";
                return -EINVAL;
        }
        if (len > 511) {
                *ret_why = "is longer than 511 bytes";
                return -EINVAL;
        }
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) text[i] < 0x20 || text[i] == 0x7f) {
                        *ret_why = "contains a control character";
                        return -EINVAL;
                }
        end = text + len;
        for (p = text + 1;;) {
                const char *slash = memchr(p, '/', (size_t) (end - p));
                size_t n = (size_t) ((slash ?: end) - p);

                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
                        *ret_why = "must be a plain absolute path (no empty, '.' or '..' components)";
                        return -EINVAL;
                }
                if (p == text + 1)
                        for (size_t i = 0; i < ELEMENTSOF(mounts); i++)
                                if (n == strlen(mounts[i]) && memcmp(p, mounts[i], n) == 0) {
                                        *ret_why = "names a path the sandbox adds to the root (/crash, "
                                                   "/vmlinux, /tmp, /proc, /dev, /sys), not a program of "
                                                   "the crashed system";
                                        return -EINVAL;
                                }
                if (!slash)
                        break;
                p = slash + 1;
        }
        return 0;
}

int crash_executable_resolve(int root_fd, const char *executable, const char **ret_why)
{
        struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS };
        char proc[64], resolved[PATH_MAX], root[PATH_MAX];
        const char *inside;
        struct stat st;
        ssize_t n, m;
        int fd, r;

        *ret_why = NULL;
        r = crash_executable_check(executable, strlen(executable), ret_why);
        if (r < 0)
                return r;
        while (*executable == '/')
                executable++;
        fd = fd_openat2(root_fd, executable, &how);
        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 && errno == ELOOP) {
                /* Symlinks on the way (e.g. /bin → usr/bin): followed, but never out of the root. */
                how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
                fd = fd_openat2(root_fd, executable, &how);
                if (fd < 0 && IN_SET(errno, ENOENT, ENOTDIR)) {
                        *ret_why = "leads through symlinks to nothing in the assembled root";
                        return -ELOOP;
                }
        }
        if (fd < 0) {
                *ret_why = "does not resolve inside the assembled root";
                return -errno;
        }
        r = 0;
        if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode)) {
                *ret_why = "is not a regular file in the assembled root";
                r = -EINVAL;
        }
        if (r >= 0) {
                (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
                n = readlink(proc, resolved, sizeof(resolved) - 1);
                (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", root_fd);
                m = readlink(proc, root, sizeof(root) - 1);
                if (n < 0 || m < 0)
                        r = -errno;
                else {
                        resolved[n] = '\0';
                        root[m] = '\0';
                        inside = streq(root, "/") ? resolved : resolved + m;
                        if ((!streq(root, "/") &&
                             (strncmp(resolved, root, (size_t) m) != 0 || inside[0] != '/')) ||
                            crash_executable_check(inside, strlen(inside), ret_why) < 0) {
                                *ret_why =
                                        "leads to a file the sandbox adds to the root, not a program of it";
                                r = -EINVAL;
                        }
                }
        }
        (void) close(fd);
        return r;
}
