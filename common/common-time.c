/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-time.h"

#include <time.h>

static int64_t clock_usec(clockid_t clock)
{
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_monotonic_usec(void)
{
        return clock_usec(CLOCK_MONOTONIC);
}

int64_t now_realtime_usec(void)
{
        return clock_usec(CLOCK_REALTIME);
}
