/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-limits.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sys/utsname.h>

uint64_t sandbox_limits_default(int resource)
{
        switch (resource) {
        case RLIMIT_AS:
                return 8ULL << 30; /* memory: see README.md, "Limits" */
        case RLIMIT_CORE:
                return 0;
        case RLIMIT_FSIZE:
                return 1ULL << 30;
        case RLIMIT_NOFILE:
                return 1024;
        case RLIMIT_NPROC:
                return SANDBOX_RLIMIT_INFINITY; /* follows --pids-max: see sandbox_limits_apply() */
        case RLIMIT_MEMLOCK:
                return 8ULL << 20;
        case RLIMIT_MSGQUEUE:
                return 0;
        case RLIMIT_RTPRIO:
        case RLIMIT_NICE:
                return 0;
        default:
                return SANDBOX_RLIMIT_INFINITY;
        }
}

/* Since Linux 5.14 RLIMIT_NPROC counts the tasks of a uid per user namespace, so in the sandbox's
 * own namespace it counts exactly the sandbox's tasks. Before, it counted every process of the uid on
 * the host: wrong for a rootless caller, whose own processes would count. */
static bool nproc_counts_per_userns(void)
{
        struct utsname u;
        unsigned major, minor;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
                return false;
        return major > 5 || (major == 5 && minor >= 14);
}

static uint64_t limit_default(const SandboxConfig *c, int resource)
{
        /* The pids ceiling, enforced by the kernel as refused forks, where the rlimit is exact;
         * init's count enforces it everywhere (sandbox-init.c). */
        if (resource == RLIMIT_NPROC && c->pids_max != SANDBOX_CGROUP_UNLIMITED && nproc_counts_per_userns())
                return c->pids_max;
        return sandbox_limits_default(resource);
}

int sandbox_limits_apply(const SandboxConfig *c, SandboxError *e)
{
        for (int resource = 0; resource < RLIM_NLIMITS; resource++) {
                uint64_t value = c->rlimit_set[resource] ? c->rlimit[resource] : limit_default(c, resource);
                struct rlimit rl;

                if (!c->rlimit_set[resource] && value == SANDBOX_RLIMIT_INFINITY)
                        continue;
                if (getrlimit(resource, &rl) < 0)
                        return sandbox_error_set(e, errno, "cannot read RLIMIT %s",
                                                 sandbox_rlimit_to_string(resource));
                if ((rlim_t) value > rl.rlim_max) {
                        if (c->rlimit_set[resource])
                                return sandbox_error_set(
                                        e, EPERM,
                                        "--rlimit %s=%llu is above the caller's hard limit "
                                        "%llu; raise that limit first (ulimit -H) or ask for less",
                                        sandbox_rlimit_to_string(resource), (unsigned long long) value,
                                        (unsigned long long) rl.rlim_max);
                        value = rl.rlim_max;
                }
                rl.rlim_cur = rl.rlim_max = (rlim_t) value;
                if (setrlimit(resource, &rl) < 0)
                        return sandbox_error_set(e, errno, "cannot set RLIMIT %s",
                                                 sandbox_rlimit_to_string(resource));
        }
        return 0;
}
