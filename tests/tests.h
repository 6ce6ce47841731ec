/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Minimal unit-test helpers: each failed assertion prints file:line and what differed, then exits 1.
 * A test that cannot run here calls test_skip() (exit 77), which becomes a failure when
 * RETRACE_TEST_STRICT=1 (CI sets it), because a skipped capability must not pass silently. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_EXIT_SKIP 77

#define _test_fail(...)                                         \
        do {                                                    \
                fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                   \
                fputc('\n', stderr);                            \
                exit(EXIT_FAILURE);                             \
        } while (0)

#define ASSERT_TRUE(expr)                                          \
        do {                                                       \
                if (!(expr))                                       \
                        _test_fail("assertion failed: %s", #expr); \
        } while (0)

#define ASSERT_FALSE(expr)    ASSERT_TRUE(!(expr))
#define ASSERT_NULL(expr)     ASSERT_TRUE((expr) == NULL)
#define ASSERT_NOT_NULL(expr) ASSERT_TRUE((expr) != NULL)

#define ASSERT_EQ(a, b)                                                            \
        do {                                                                       \
                intmax_t _a = (intmax_t) (a), _b = (intmax_t) (b);                 \
                if (_a != _b)                                                      \
                        _test_fail("%s == %s failed: %jd != %jd", #a, #b, _a, _b); \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                          \
        do {                                                                                        \
                const char *_a = (a), *_b = (b);                                                    \
                if (!_a || !_b || strcmp(_a, _b) != 0)                                              \
                        _test_fail("%s == %s failed: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)", \
                                   _b ? _b : "(null)");                                             \
        } while (0)

/* r >= 0 */
#define ASSERT_OK(expr)                                                          \
        do {                                                                     \
                intmax_t _r = (intmax_t) (expr);                                 \
                if (_r < 0)                                                      \
                        _test_fail("%s failed: %s", #expr, strerror((int) -_r)); \
        } while (0)

/* r == -err */
#define ASSERT_ERROR(expr, err)                                                     \
        do {                                                                        \
                intmax_t _r = (intmax_t) (expr);                                    \
                if (_r != -(intmax_t) (err))                                        \
                        _test_fail("%s returned %jd (%s), expected -%s", #expr, _r, \
                                   _r < 0 ? strerror((int) -_r) : "success", #err); \
        } while (0)

static inline bool test_strict(void)
{
        const char *e = getenv("RETRACE_TEST_STRICT");
        return e && strcmp(e, "1") == 0;
}

/* Skips the whole test program because a capability or tool is missing here. */
#define test_skip(...)                                                                                     \
        do {                                                                                               \
                fprintf(stderr,                                                                            \
                        "%s: ", test_strict() ? "FAIL (RETRACE_TEST_STRICT=1 forbids skipping)" : "SKIP"); \
                fprintf(stderr, __VA_ARGS__);                                                              \
                fputc('\n', stderr);                                                                       \
                exit(test_strict() ? EXIT_FAILURE : TEST_EXIT_SKIP);                                       \
        } while (0)

typedef void (*test_func_t)(void);

struct test_case {
        const char *name;
        test_func_t func;
};

#define TEST(n) static void test_##n(void)
#define TEST_ENTRY(n)        \
        {                    \
#n, test_##n \
        }

/* Runs every case in order; an argument restricts the run to cases whose name contains it. */
#define DEFINE_TEST_MAIN(...)                                                   \
        int main(int argc, char *argv[])                                        \
        {                                                                       \
                static const struct test_case cases[] = { __VA_ARGS__ };        \
                for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) { \
                        if (argc > 1 && !strstr(cases[i].name, argv[1]))        \
                                continue;                                       \
                        printf("== %s\n", cases[i].name);                       \
                        fflush(stdout);                                         \
                        cases[i].func();                                        \
                }                                                               \
                return EXIT_SUCCESS;                                            \
        }
