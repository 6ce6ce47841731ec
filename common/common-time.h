/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

/* Microseconds on CLOCK_MONOTONIC: for durations and deadlines (never jumps with the wall clock). */
int64_t now_monotonic_usec(void);
/* Microseconds since the epoch on CLOCK_REALTIME: for what is stored or shown as a date. */
int64_t now_realtime_usec(void);
