/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _noreturn_     __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_  __attribute__((warn_unused_result))
#define _likely_(x)    (__builtin_expect(!!(x), 1))
#define _unlikely_(x)  (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define STRLEN(x)     (sizeof("" x "") - 1)

/* True when x equals one of the following values. */
#define IN_SET(x, ...)                                                         \
        ({                                                                     \
                const __typeof__(x) _in_set_values_[] = { __VA_ARGS__ };       \
                bool _in_set_found_ = false;                                   \
                for (size_t _i_ = 0; _i_ < ELEMENTSOF(_in_set_values_); _i_++) \
                        if ((x) == _in_set_values_[_i_]) {                     \
                                _in_set_found_ = true;                         \
                                break;                                         \
                        }                                                      \
                _in_set_found_;                                                \
        })

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hand ownership over: returns the value and resets the variable so its cleanup does nothing. */
#define TAKE_GENERIC(var, type, nullvalue) \
        ({                                 \
                type *_pvar_ = &(var);     \
                type _var_ = *_pvar_;      \
                *_pvar_ = (nullvalue);     \
                _var_;                     \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, __typeof__(p), NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)

/* qsort() that accepts an empty array with a NULL base (which qsort itself must not be given). */
static inline void qsort_safe(void *base, size_t nmemb, size_t size,
                              int (*compar)(const void *, const void *))
{
        if (nmemb <= 1)
                return;
        qsort(base, nmemb, size, compar);
}

/* Makes room for at least need elements of size bytes in *p, growing the allocation geometrically;
 * *allocated counts elements. -ENOMEM leaves *p as it was. */
static inline int array_reserve(void **p, size_t *allocated, size_t need, size_t size)
{
        size_t n;
        void *q;

        if (need <= *allocated)
                return 0;
        n = MAX(need, *allocated ? *allocated * 2 : 16);
        if (n > SIZE_MAX / size)
                return -ENOMEM;
        q = realloc(*p, n * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *allocated = n;
        return 0;
}
#define ARRAY_RESERVE(p, allocated, need) array_reserve((void **) &(p), &(allocated), (need), sizeof(*(p)))

static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static inline void freep(void *p)
{
        free(*(void **) p);
}

/* Closes fd unless it is negative; keeps errno intact so callers may log after it. */
static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd)
{
        (void) safe_close(*fd);
}

static inline void fclosep(FILE **f)
{
        if (*f)
                (void) fclose(*f);
}

static inline void closedirp(DIR **d)
{
        if (*d)
                (void) closedir(*d);
}

#define _cleanup_free_     _cleanup_(freep)
#define _cleanup_close_    _cleanup_(closep)
#define _cleanup_fclose_   _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Defines name##p(type *) that calls func(*p) when *p is not NULL, for _cleanup_(). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p)     \
        {                                       \
                if (*p)                         \
                        (void) func(*p);        \
        }

static inline int negative_errno(void)
{
        /* Some libc calls fail without setting errno; never return 0 or a positive value on failure. */
        return errno > 0 ? -errno : -EIO;
}

#define streq(a, b)     (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s)      (!(s) || (s)[0] == '\0')
#define strempty(s)     ((s) ? (s) : "")
#define strna(s)        ((s) ? (s) : "n/a")

/* Enums and their names, one pattern for all: a table "static const char *const NAME_table[MAX]"
 * indexed by the enum, then these define NAME_to_string() (NULL when out of range) and
 * NAME_from_string() (INVALID for an unknown or NULL name; needs streq()). */
#define DEFINE_STRING_TABLE_TO_STRING(name, type, max)                     \
        const char *name##_to_string(type i)                               \
        {                                                                  \
                return i >= 0 && (int) i < (max) ? name##_table[i] : NULL; \
        }
#define DEFINE_STRING_TABLE_FROM_STRING(name, type, max, invalid)         \
        type name##_from_string(const char *s)                            \
        {                                                                 \
                for (int i = 0; s && i < (max); i++)                      \
                        if (name##_table[i] && streq(name##_table[i], s)) \
                                return (type) i;                          \
                return (invalid);                                         \
        }
