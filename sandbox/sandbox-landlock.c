/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"
#include "sandbox-program.h"

static int ruleset_allow_execute(int ruleset_fd, const char *path)
{
        _cleanup_close_ int fd = -EBADF;
        struct landlock_path_beneath_attr rule = { .allowed_access = LANDLOCK_ACCESS_FS_EXECUTE };

        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        rule.parent_fd = fd;
        if (syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
                return -errno;
        return 0;
}

/* The ELF interpreter (PT_INTERP) of path into buf; an empty string when it has none. */
static int read_interp(const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = -EBADF;
        SandboxElfLayout l;
        char head[4096];
        ssize_t n;

        buf[0] = 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = pread(fd, head, sizeof(head), 0);
        if (n < 0)
                return -errno;
        if (sandbox_elf_parse_layout(head, (size_t) n, &l) < 0 || l.interp_size == 0)
                return 0; /* a script or a static program: only itself is allowed */
        if (l.interp_size >= size)
                return -ENAMETOOLONG;
        n = pread(fd, buf, l.interp_size, (off_t) l.interp_offset);
        if (n != (ssize_t) l.interp_size)
                return n < 0 ? -errno : -EBADMSG;
        buf[l.interp_size] = 0;
        return 0;
}

int sandbox_landlock_exec_only(const char *path)
{
        struct landlock_ruleset_attr attr = { .handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE };
        _cleanup_close_ int ruleset_fd = -EBADF;
        char interp[4096];
        long abi;
        int r;

        abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        if (abi < 1)
                return errno == ENOSYS || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
        r = read_interp(path, interp, sizeof(interp));
        if (r < 0)
                return r;
        ruleset_fd = (int) syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
        if (ruleset_fd < 0)
                return -errno;
        r = ruleset_allow_execute(ruleset_fd, path);
        if (r >= 0 && interp[0])
                r = ruleset_allow_execute(ruleset_fd, interp);
        if (r < 0)
                return r;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) < 0)
                return -errno;
        return 0;
}
