/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Checked number parsers: the whole string must be a number in range (no sign for unsigned,
 * no leading whitespace, no trailing garbage); -EINVAL or -ERANGE otherwise. */
int parse_uint64(const char *s, uint64_t *ret);
int parse_int64(const char *s, int64_t *ret);
int parse_uint(const char *s, unsigned *ret);
int parse_int(const char *s, int *ret);
/* "yes/no", "true/false", "on/off", "1/0" (case-insensitive). */
int parse_boolean(const char *s, bool *ret);
/* A byte size with optional binary suffix: 512, 10K, 50M, 1G, 2T (also KiB, MiB, …). */
int parse_size(const char *s, uint64_t *ret);
/* A duration in seconds with optional suffix s, min, h, d: "90", "15min", "2h", "7d". */
int parse_seconds(const char *s, uint64_t *ret);
