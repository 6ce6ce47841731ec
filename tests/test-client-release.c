/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "client-release.h"
#include "common-macro.h"
#include "tests.h"

static void expect(const char *os_info, const char *line, const char *arch, const char *want)
{
        _cleanup_free_ char *id = NULL;

        ASSERT_OK(client_release_id(os_info, line, arch, &id));
        ASSERT_STREQ(id, want);
}

TEST(release_ids)
{
        expect("NAME=\"Fedora Linux\"\nVERSION_ID=40\nREDHAT_BUGZILLA_PRODUCT=\"Fedora\"\n"
               "REDHAT_BUGZILLA_PRODUCT_VERSION=40\n",
               NULL, "x86_64", "fedora-40-x86_64");
        expect("NAME=\"Red Hat Enterprise Linux\"\nVERSION_ID=\"9.4\"\nREDHAT_BUGZILLA_PRODUCT=\"Red Hat "
               "Enterprise "
               "Linux 9\"\nREDHAT_BUGZILLA_PRODUCT_VERSION=9.4\n",
               NULL, "aarch64", "rhel-9.4-aarch64");
        expect("NAME=\"TestOS\"\nVERSION_ID=1\n", NULL, "x86_64", "testos-1-x86_64");
        expect(NULL, "Fedora release 38 (Thirty Eight)", "i686", "fedora-38-i386");
        expect(NULL, "TestOS release 2 (Basalt)\n", "x86_64", "testos-2-x86_64");
        expect("NAME=Rawhide\nVERSION_ID=41\n", NULL, "x86_64", "rawhide-41-x86_64");
}

TEST(missing_facts)
{
        char *id = NULL;

        ASSERT_ERROR(client_release_id(NULL, NULL, "x86_64", &id), ENODATA);
        ASSERT_ERROR(client_release_id("NAME=X\n", "no version here", "x86_64", &id), ENODATA);
        ASSERT_ERROR(client_release_id("NAME=X\nVERSION_ID=1\n", NULL, NULL, &id), ENODATA);
        ASSERT_NULL(id);
}

DEFINE_TEST_MAIN(TEST_ENTRY(release_ids), TEST_ENTRY(missing_facts))
