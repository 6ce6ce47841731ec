/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-macro.h"
#include "common-string.h"
#include "tests.h"

TEST(startswith_endswith)
{
        ASSERT_STREQ(string_startswith("coredump", "core"), "dump");
        ASSERT_NULL(string_startswith("core", "coredump"));
        ASSERT_STREQ(string_endswith("vmcore.vmss", ".vmss"), ".vmss");
        ASSERT_NULL(string_endswith("vmcore", ".vmss"));
        ASSERT_STREQ(string_endswith("abc", ""), "");
}

TEST(strip)
{
        char a[] = "  \tfoo bar \n", b[] = "   ", c[] = "x";

        ASSERT_STREQ(string_strip(a), "foo bar");
        ASSERT_STREQ(string_strip(b), "");
        ASSERT_STREQ(string_strip(c), "x");
}

TEST(copy)
{
        char buf[4];

        ASSERT_OK(string_copy(buf, sizeof(buf), "abc"));
        ASSERT_STREQ(buf, "abc");
        ASSERT_ERROR(string_copy(buf, sizeof(buf), "abcd"), ENOBUFS);
        ASSERT_STREQ(buf, "abc");
}

TEST(charset)
{
        ASSERT_TRUE(string_in_charset("0123", "0123456789"));
        ASSERT_FALSE(string_in_charset("01a", "0123456789"));
        ASSERT_TRUE(string_in_charset("", "x"));
}

TEST(strv)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *j = NULL;

        ASSERT_OK(strv_split("  bash-5.2-1.fc38.x86_64\n glibc-2.37-1.fc38.x86_64\t\n", WHITESPACE, &l));
        ASSERT_EQ(strv_length(l), 2);
        ASSERT_STREQ(l[0], "bash-5.2-1.fc38.x86_64");
        ASSERT_STREQ(l[1], "glibc-2.37-1.fc38.x86_64");
        ASSERT_TRUE(strv_contains(l, "glibc-2.37-1.fc38.x86_64"));
        ASSERT_FALSE(strv_contains(l, "glibc"));
        ASSERT_OK(strv_extend(&l, "gdb"));
        ASSERT_EQ(strv_length(l), 3);
        j = strv_join(l, ",");
        ASSERT_STREQ(j, "bash-5.2-1.fc38.x86_64,glibc-2.37-1.fc38.x86_64,gdb");
}

TEST(strv_empty)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *j = NULL;

        ASSERT_OK(strv_split(" \n ", WHITESPACE, &l));
        ASSERT_EQ(strv_length(l), 0);
        j = strv_join(l, ",");
        ASSERT_STREQ(j, "");
}

DEFINE_TEST_MAIN(TEST_ENTRY(startswith_endswith), TEST_ENTRY(strip), TEST_ENTRY(copy), TEST_ENTRY(charset),
                 TEST_ENTRY(strv), TEST_ENTRY(strv_empty))
