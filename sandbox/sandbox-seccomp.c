/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/personality.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "common-macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

/* Denied outright: they change the mount tree or namespaces, reach into other processes or the
 * kernel, or widen the kernel's attack surface; gdb and crash reading a dump need none of them. */
static const char *const deny_always[] = {
        "mount",
        "umount",
        "umount2",
        "pivot_root",
        "chroot",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "unshare",
        "setns",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "bpf",
        "perf_event_open",
        "keyctl",
        "add_key",
        "request_key",
        "userfaultfd",
        "io_uring_setup",
        "open_by_handle_at",
        /* On 32-bit x86 socket() may come multiplexed through socketcall(), whose arguments are in
         * memory where the filter cannot check the address family. */
        "socketcall",
};

static const char *const deny_ptrace[] = { "ptrace", "process_vm_readv", "process_vm_writev" };

static const unsigned long clone_ns_flags[] = {
        CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
};

/* Adds a rule for a syscall by name; names this architecture or libseccomp does not know are
 * skipped (they cannot be called here anyway). */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
                    const struct scmp_arg_cmp *cmp)
{
        int nr = seccomp_syscall_resolve_name(name);

        if (nr == __NR_SCMP_ERROR)
                return 0;
        return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

static int add_arches(scmp_filter_ctx ctx)
{
        /* Cover every syscall entry path of this CPU: a 64-bit program can still enter the 32-bit
         * (int 0x80) and x32 tables, and those must be filtered too, not just let through. */
        static const uint32_t x86_64[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
        static const uint32_t aarch64[] = { SCMP_ARCH_ARM };
        const uint32_t *extra = NULL;
        size_t n = 0;
        int r;

        switch (seccomp_arch_native()) {
        case SCMP_ARCH_X86_64:
                extra = x86_64;
                n = ELEMENTSOF(x86_64);
                break;
        case SCMP_ARCH_AARCH64:
                extra = aarch64;
                n = ELEMENTSOF(aarch64);
                break;
        }
        for (size_t i = 0; i < n; i++) {
                r = seccomp_arch_add(ctx, extra[i]);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        return 0;
}

static int add_rules(scmp_filter_ctx ctx, bool allow_ptrace)
{
        const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
        int r;

        for (size_t i = 0; i < ELEMENTSOF(deny_always); i++) {
                r = add_rule(ctx, eperm, deny_always[i], 0, NULL);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; !allow_ptrace && i < ELEMENTSOF(deny_ptrace); i++) {
                r = add_rule(ctx, eperm, deny_ptrace[i], 0, NULL);
                if (r < 0)
                        return r;
        }

        /* clone3 passes its flags in memory the filter cannot read. ENOSYS makes glibc fall back to
         * clone, whose flags are checked below; EPERM would make programs (crash) give up. */
        r = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(clone_ns_flags); i++) {
                struct scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]);

                r = add_rule(ctx, eperm, "clone", 1, &cmp);
                if (r < 0)
                        return r;
        }

        /* Any address family but AF_UNIX: the network namespace has only lo, but families like
         * netlink or packet sockets still reach kernel code nothing here needs. */
        {
                struct scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_NE, AF_UNIX);

                r = add_rule(ctx, eperm, "socket", 1, &cmp);
                if (r < 0)
                        return r;
        }

        /* TIOCSTI pushes input into a terminal (TIOCLINUX does on a virtual console): the command
         * could type into the caller's shell. The kernel compares only the low 32 bits of cmd. */
        {
                static const unsigned long ioctls[] = { TIOCSTI, TIOCLINUX };

                for (size_t i = 0; i < ELEMENTSOF(ioctls); i++) {
                        struct scmp_arg_cmp cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, ioctls[i]);

                        r = add_rule(ctx, eperm, "ioctl", 1, &cmp);
                        if (r < 0)
                                return r;
                }
        }

        /* personality() with ADDR_NO_RANDOMIZE turns ASLR off for what is executed next. Deny every
         * value with that bit except 0xffffffff, the query: "bit set and some other low bit clear",
         * one rule per other bit, because a rule may test an argument only once. */
        for (unsigned bit = 0; bit < 32; bit++) {
                struct scmp_arg_cmp cmp;

                if ((1UL << bit) == ADDR_NO_RANDOMIZE)
                        continue;
                cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, ADDR_NO_RANDOMIZE | (1UL << bit), ADDR_NO_RANDOMIZE);
                r = add_rule(ctx, eperm, "personality", 1, &cmp);
                if (r < 0)
                        return r;
        }
        return 0;
}

int sandbox_seccomp_export(bool allow_ptrace, int fd)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        r = add_arches(ctx);
        if (r < 0)
                return r;
        r = add_rules(ctx, allow_ptrace);
        if (r < 0)
                return r;
        return seccomp_export_bpf(ctx, fd);
}

int sandbox_seccomp_load(const void *program, size_t size)
{
        struct sock_fprog prog = {
                .len = (unsigned short) (size / sizeof(struct sock_filter)),
                .filter = (struct sock_filter *) program,
        };

        if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
            size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -EINVAL;
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return -errno;
        return 0;
}
