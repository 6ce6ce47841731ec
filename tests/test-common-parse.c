/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-log.h"
#include "common-parse.h"
#include "common-marker.h"
#include "tests.h"

TEST(uint64)
{
        uint64_t v;

        ASSERT_OK(parse_uint64("0", &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(parse_uint64("18446744073709551615", &v));
        ASSERT_TRUE(v == UINT64_MAX);
        ASSERT_ERROR(parse_uint64("18446744073709551616", &v), ERANGE);
        ASSERT_ERROR(parse_uint64("-1", &v), EINVAL);
        ASSERT_ERROR(parse_uint64(" 1", &v), EINVAL);
        ASSERT_ERROR(parse_uint64("1x", &v), EINVAL);
        ASSERT_ERROR(parse_uint64("", &v), EINVAL);
}

TEST(int)
{
        int i;
        unsigned u;

        ASSERT_OK(parse_int("-42", &i));
        ASSERT_EQ(i, -42);
        ASSERT_ERROR(parse_int("2147483648", &i), ERANGE);
        ASSERT_ERROR(parse_int("--1", &i), EINVAL);
        ASSERT_OK(parse_uint("4294967295", &u));
        ASSERT_ERROR(parse_uint("4294967296", &u), ERANGE);
}

TEST(boolean)
{
        bool b;

        ASSERT_OK(parse_boolean("Yes", &b));
        ASSERT_TRUE(b);
        ASSERT_OK(parse_boolean("off", &b));
        ASSERT_FALSE(b);
        ASSERT_ERROR(parse_boolean("maybe", &b), EINVAL);
}

TEST(size)
{
        uint64_t v;

        ASSERT_OK(parse_size("50M", &v));
        ASSERT_EQ(v, 50 * 1024 * 1024);
        ASSERT_OK(parse_size("1GiB", &v));
        ASSERT_EQ(v, 1024 * 1024 * 1024);
        ASSERT_OK(parse_size("512", &v));
        ASSERT_EQ(v, 512);
        ASSERT_ERROR(parse_size("5X", &v), EINVAL);
        ASSERT_ERROR(parse_size("M", &v), EINVAL);
        ASSERT_ERROR(parse_size("99999999999T", &v), ERANGE);
}

TEST(seconds)
{
        uint64_t v;

        ASSERT_OK(parse_seconds("15min", &v));
        ASSERT_EQ(v, 900);
        ASSERT_OK(parse_seconds("7d", &v));
        ASSERT_EQ(v, 7 * 86400);
        ASSERT_OK(parse_seconds("30", &v));
        ASSERT_EQ(v, 30);
        ASSERT_ERROR(parse_seconds("1y", &v), EINVAL);
}

TEST(log_level)
{
        ASSERT_EQ(log_level_from_string("debug"), LOG_DEBUG);
        ASSERT_EQ(log_level_from_string("error"), LOG_ERR);
        ASSERT_EQ(log_level_from_string("4"), LOG_WARNING);
        ASSERT_ERROR(log_level_from_string("loud"), EINVAL);
}

TEST(log_errno_return)
{
        /* log_error_errno() returns the negative error so callers can `return log_error_errno(r, …)`. */
        log_set_max_level(LOG_EMERG);
        ASSERT_EQ(log_error_errno(-ENOENT, "x: %m"), -ENOENT);
        ASSERT_EQ(log_error_errno(EPERM, "x: %m"), -EPERM);
        log_set_max_level(LOG_INFO);
}

TEST(output_markers)
{
        char name[OUTPUT_MARKER_NAME_MAX];
        static const char crash_line[] = "crash: command not found: @@retrace:bt_all@@";
        static const char local[] = "        buf = \"@@retrace:registers@@\"";

        ASSERT_TRUE(output_marker_parse("@@retrace:threads@@", 19, true, name));
        ASSERT_STREQ(name, "threads");
        /* gdb's markers are whole lines: a debuggee's string is never one. */
        ASSERT_FALSE(output_marker_parse(local, strlen(local), true, name));
        ASSERT_FALSE(output_marker_parse("@@retrace:threads@@ ", 20, true, name));
        ASSERT_FALSE(output_marker_parse("@@retrace:@@", 12, true, name));
        ASSERT_FALSE(output_marker_parse("@@retrace:threads", 17, true, name));
        ASSERT_FALSE(
                output_marker_parse("@@retrace:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@@", 50, true, name));
        /* crash prints the marker inside its complaint. */
        ASSERT_TRUE(output_marker_parse(crash_line, strlen(crash_line), false, name));
        ASSERT_STREQ(name, "bt_all");
        ASSERT_FALSE(output_marker_parse(crash_line, strlen(crash_line), true, name));
        ASSERT_FALSE(output_marker_parse("no marker here", 14, false, name));
}

DEFINE_TEST_MAIN(TEST_ENTRY(uint64), TEST_ENTRY(int), TEST_ENTRY(boolean), TEST_ENTRY(size),
                 TEST_ENTRY(seconds), TEST_ENTRY(log_level), TEST_ENTRY(log_errno_return),
                 TEST_ENTRY(output_markers))
