/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-uidmap.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common-fd.h"
#include "common-file.h"

void sandbox_ids_choose(uid_t caller_uid, gid_t caller_gid, SandboxIds *ret)
{
        if (caller_uid == 0)
                *ret = (SandboxIds){
                        .inside_uid = SANDBOX_ROOT_FALLBACK_ID,
                        .host_uid = SANDBOX_ROOT_FALLBACK_ID,
                        .inside_gid = SANDBOX_ROOT_FALLBACK_ID,
                        .host_gid = SANDBOX_ROOT_FALLBACK_ID,
                };
        else
                *ret = (SandboxIds){
                        .inside_uid = caller_uid,
                        .host_uid = caller_uid,
                        .inside_gid = caller_gid,
                        .host_gid = caller_gid,
                };
}

int sandbox_idmap_format(unsigned inside, unsigned host, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%u %u 1\n", inside, host);

        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

static int write_proc_file(pid_t pid, const char *name, const char *text, SandboxError *e)
{
        char path[64];
        _cleanup_close_ int fd = -EBADF;
        int r;

        (void) snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, name);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return sandbox_error_set(e, errno, "cannot open %s", path);
        r = fd_write_all(fd, text, strlen(text));
        if (r < 0)
                return sandbox_error_set(e, r, "cannot write \"%.*s\" to %s", (int) strcspn(text, "\n"),
                                         text, path);
        return 0;
}

int sandbox_ids_write_maps(pid_t pid, const SandboxIds *ids, SandboxError *e)
{
        char line[64];
        int r;

        r = sandbox_idmap_format(ids->inside_uid, ids->host_uid, line, sizeof(line));
        if (r < 0)
                return sandbox_error_set(e, r, "cannot format the uid map");
        r = write_proc_file(pid, "uid_map", line, e);
        if (r < 0)
                return r;
        /* Without this an unprivileged process may not write gid_map, and nothing inside may drop a
         * supplementary group to get around a "deny" permission for that group. */
        r = write_proc_file(pid, "setgroups", "deny", e);
        if (r < 0)
                return r;
        r = sandbox_idmap_format(ids->inside_gid, ids->host_gid, line, sizeof(line));
        if (r < 0)
                return sandbox_error_set(e, r, "cannot format the gid map");
        return write_proc_file(pid, "gid_map", line, e);
}

static bool sysctl_is(const char *path, const char *value)
{
        _cleanup_free_ char *line = NULL;

        if (file_read_line_at(AT_FDCWD, path, 64, &line) < 0)
                return false;
        return streq(line, value);
}

const char *sandbox_userns_problem(int error, char *buf, size_t size)
{
        if (sysctl_is("/proc/sys/user/max_user_namespaces", "0"))
                (void) snprintf(buf, size,
                                "user namespaces are disabled (sysctl user.max_user_namespaces=0); "
                                "enable them with: sysctl -w user.max_user_namespaces=10000");
        else if (sysctl_is("/proc/sys/kernel/unprivileged_userns_clone", "0"))
                (void) snprintf(buf, size,
                                "unprivileged user namespaces are disabled "
                                "(sysctl kernel.unprivileged_userns_clone=0); enable them with: "
                                "sysctl -w kernel.unprivileged_userns_clone=1");
        else if (sysctl_is("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"))
                (void) snprintf(buf, size,
                                "AppArmor restricts unprivileged user namespaces "
                                "(sysctl kernel.apparmor_restrict_unprivileged_userns=1); allow "
                                "retrace-sandbox in an AppArmor profile or set the sysctl to 0");
        else if (error == ENOSPC || error == EUSERS)
                (void) snprintf(buf, size,
                                "the limit on user or pid namespaces is reached "
                                "(sysctl user.max_user_namespaces, user.max_pid_namespaces); "
                                "raise it or end other sandboxes");
        else if (error == EPERM || error == EACCES)
                (void) snprintf(buf, size,
                                "creating namespaces is not permitted here (a container or a "
                                "seccomp filter may forbid it); run on a host that allows "
                                "unprivileged user namespaces");
        else
                (void) snprintf(buf, size, "cannot create the sandbox namespaces: %s", strerror(error));
        return buf;
}
