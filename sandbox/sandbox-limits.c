/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-limits.h"

#include <sys/resource.h>

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
                return 512; /* processes and threads of the sandbox's uid inside its namespace */
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

int sandbox_limits_apply(const SandboxConfig *c, SandboxError *e)
{
        for (int resource = 0; resource < RLIM_NLIMITS; resource++) {
                uint64_t value =
                        c->rlimit_set[resource] ? c->rlimit[resource] : sandbox_limits_default(resource);
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
