/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-caps.h"

#include <errno.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "common-macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cap_t, cap_free);

int sandbox_caps_drop_bounding(void)
{
        unsigned n = cap_max_bits();

        for (unsigned cap = 0; cap < n; cap++)
                if (cap_drop_bound((cap_value_t) cap) < 0 && errno != EINVAL)
                        return negative_errno();
        return 0;
}

int sandbox_caps_drop_all(void)
{
        _cleanup_(cap_freep) cap_t empty = NULL;

        if (cap_reset_ambient() < 0 && errno != EINVAL)
                return negative_errno();
        empty = cap_init(); /* every set clear */
        if (!empty)
                return negative_errno();
        if (cap_set_proc(empty) < 0)
                return negative_errno();
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        return 0;
}
