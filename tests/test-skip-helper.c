/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Exercises tests.h for test_harness.py: "skip" calls test_skip(), "fail" fails an assertion. */
#include "tests.h"

int main(int argc, char *argv[])
{
        if (argc > 1 && strcmp(argv[1], "skip") == 0)
                test_skip("user namespaces are not available");
        if (argc > 1 && strcmp(argv[1], "fail") == 0)
                ASSERT_STREQ("expected", argv[1]);
        return EXIT_SUCCESS;
}
