/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Returns a pointer just after prefix when s starts with it, else NULL. */
char *string_startswith(const char *s, const char *prefix);
/* Returns a pointer to the suffix inside s when s ends with it, else NULL. */
char *string_endswith(const char *s, const char *suffix);
/* Removes leading and trailing whitespace in place; returns s. */
char *string_strip(char *s);
/* True when s has only characters from the set (an empty s qualifies). */
bool string_in_charset(const char *s, const char *charset);
/* Copies src into a buffer of size n, always NUL-terminated; -ENOBUFS when truncated. */
int string_copy(char *dst, size_t n, const char *src);

/* NULL-terminated string vectors. */
char **strv_free(char **l);
size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Appends a copy of s. */
int strv_extend(char ***l, const char *s);
/* Appends copies of the n strings of items. */
int strv_extend_many(char ***l, const char *const *items, size_t n);
/* Splits at any character of separators, dropping empty fields. */
int strv_split(const char *s, const char *separators, char ***ret);
/* Joins with separator; returns NULL on allocation failure. */
char *strv_join(char *const *l, const char *separator);

static inline void strv_freep(char ***l)
{
        strv_free(*l);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)

#define WHITESPACE " \t\n\r"

/* Formats into a new string that replaces *s (freeing the old one); does nothing when s is NULL.
 * For the "ret_reason"/"ret_error" out-parameters of library functions. On allocation failure *s
 * becomes NULL. */
void string_set_printf(char **s, const char *format, ...) __attribute__((format(printf, 2, 3)));
