/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HTTP layer's pure helpers: address ranges (DebuginfodAllowFrom), debuginfod paths, the
 * canonical form of a requested source path, and a trusted proxy's X-Forwarded-For. */
#include <arpa/inet.h>
#include <string.h>

#include "cache-debuginfod.h"
#include "daemon-http-parse.h"
#include "tests.h"

static int in_ranges(const char *addr, const char *ranges)
{
        struct sockaddr_storage ss = {};

        if (strchr(addr, ':')) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;

                a->sin6_family = AF_INET6;
                ASSERT_TRUE(inet_pton(AF_INET6, addr, &a->sin6_addr) == 1);
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *) &ss;

                a->sin_family = AF_INET;
                ASSERT_TRUE(inet_pton(AF_INET, addr, &a->sin_addr) == 1);
        }
        return address_in_ranges((struct sockaddr *) &ss, ranges);
}

TEST(address_ranges)
{
        ASSERT_EQ(in_ranges("192.0.2.7", ""), 1);
        ASSERT_EQ(in_ranges("192.0.2.7", NULL), 1);
        ASSERT_EQ(in_ranges("127.0.0.1", "127.0.0.0/8"), 1);
        ASSERT_EQ(in_ranges("128.0.0.1", "127.0.0.0/8"), 0);
        ASSERT_EQ(in_ranges("10.1.2.3", "127.0.0.0/8, 10.0.0.0/8"), 1);
        ASSERT_EQ(in_ranges("10.1.2.3", "10.1.2.2"), 0);
        ASSERT_EQ(in_ranges("10.1.2.3", "10.1.2.3"), 1);
        ASSERT_EQ(in_ranges("10.1.2.3", "10.1.2.0/31"), 0);
        ASSERT_EQ(in_ranges("10.1.2.3", "10.1.2.2/31"), 1);
        ASSERT_EQ(in_ranges("10.1.2.3", "0.0.0.0/0"), 1);
        ASSERT_EQ(in_ranges("::1", "127.0.0.0/8 ::1"), 1);
        ASSERT_EQ(in_ranges("fd00::5", "fc00::/7"), 1);
        ASSERT_EQ(in_ranges("fe80::5", "fc00::/7"), 0);
        /* An IPv4 client on a dual-stack socket counts as its IPv4 address. */
        ASSERT_EQ(in_ranges("::ffff:10.9.8.7", "10.0.0.0/8"), 1);
        ASSERT_EQ(in_ranges("::ffff:10.9.8.7", "::/0"), 0);
        ASSERT_EQ(in_ranges("10.1.2.3", "10.0.0.0/33"), -EINVAL);
        ASSERT_EQ(in_ranges("10.1.2.3", "10.0.0/8"), -EINVAL);
        ASSERT_EQ(in_ranges("10.1.2.3", "host.example"), -EINVAL);
        ASSERT_TRUE(address_ranges_valid("127.0.0.0/8 ::1,10.0.0.0/8"));
        ASSERT_TRUE(address_ranges_valid(""));
        ASSERT_FALSE(address_ranges_valid("::1/129"));
        ASSERT_FALSE(address_ranges_valid("1.2.3.4/"));
}

TEST(debuginfod_paths)
{
        const char *kind = NULL, *rest = NULL;
        char id[129];

        ASSERT_TRUE(parse_debuginfod_path("/buildid/ABcd01/debuginfo", id, &kind, &rest));
        ASSERT_STREQ(id, "abcd01");
        ASSERT_STREQ(kind, "debuginfo");
        ASSERT_NULL(rest);
        ASSERT_TRUE(parse_debuginfod_path("/buildid/abcd/executable", id, &kind, &rest));
        ASSERT_STREQ(kind, "executable");
        ASSERT_TRUE(parse_debuginfod_path("/buildid/abcd/source/usr/src/debug/x.c", id, &kind, &rest));
        ASSERT_STREQ(kind, "source");
        ASSERT_STREQ(rest, "/usr/src/debug/x.c");
        ASSERT_TRUE(parse_debuginfod_path("/buildid/abcd/section/.debug_info", id, &kind, &rest));
        ASSERT_STREQ(kind, "section");
        ASSERT_STREQ(rest, ".debug_info");

        ASSERT_FALSE(parse_debuginfod_path("/buildid/abc/debuginfo", id, &kind, &rest));  /* odd */
        ASSERT_FALSE(parse_debuginfod_path("/buildid/a/debuginfo", id, &kind, &rest));    /* short */
        ASSERT_FALSE(parse_debuginfod_path("/buildid/xyzw/debuginfo", id, &kind, &rest)); /* no hex */
        ASSERT_FALSE(parse_debuginfod_path("/buildid/abcd/debuginfo/x", id, &kind, &rest));
        ASSERT_FALSE(parse_debuginfod_path("/buildid/abcd/source", id, &kind, &rest));
        ASSERT_FALSE(parse_debuginfod_path("/buildid/abcd/source/", id, &kind, &rest));
        ASSERT_FALSE(parse_debuginfod_path("/buildid/abcd/section/a/b", id, &kind, &rest));
        ASSERT_FALSE(parse_debuginfod_path("/buildid/abcd/debuginfox", id, &kind, &rest));
        ASSERT_FALSE(parse_debuginfod_path("/buildid/abcd", id, &kind, &rest));
        ASSERT_FALSE(parse_debuginfod_path("/settings", id, &kind, &rest));
        {
                char long_id[300];

                memset(long_id, 'a', 130);
                strcpy(long_id + 130, "/debuginfo");
                char url[400] = "/buildid/";
                strcat(url, long_id);
                ASSERT_FALSE(parse_debuginfod_path(url, id, &kind, &rest));
        }
}

TEST(source_paths)
{
        static const char *const ok[][2] = {
                { "/usr/src/debug/a-1/x.c", "/usr/src/debug/a-1/x.c" },
                { "/usr//src/./debug/../debug/a-1/x.c", "/usr/src/debug/a-1/x.c" },
                { "/a/b/../../c", "/c" },
                { "/a/b/", "/a/b" },
        };
        static const char *const bad[] = {
                "/../etc/passwd", "/a/../../etc/passwd", "relative/x.c", "/", "//", "/.", ""
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *p = NULL;

                ASSERT_OK(debuginfod_source_path(ok[i][0], &p));
                ASSERT_STREQ(p, ok[i][1]);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *p = NULL;

                ASSERT_ERROR(debuginfod_source_path(bad[i], &p), EINVAL);
                ASSERT_NULL(p);
        }
}

/* X-Forwarded-For from a trusted proxy: its last entry (the one the proxy added), one address. */
TEST(forwarded_for)
{
        static const char *const ok[][2] = {
                { "192.0.2.1", "192.0.2.1" },        { "203.0.113.9, 192.0.2.1", "192.0.2.1" },
                { "forged,192.0.2.1", "192.0.2.1" }, { " 192.0.2.1 ", "192.0.2.1" },
                { "2001:db8::1", "2001:db8::1" },    { "192.0.2.1, 2001:db8::7", "2001:db8::7" },
        };
        static const char *const bad[] = {
                "",
                " ",
                "192.0.2.1,",
                "192.0.2.1, ",
                "192.0.2.1 192.0.2.2",
                "unknown",
                "192.0.2.1:8080",
                "[2001:db8::1]",
                "999.0.0.1",
                "192.0.2.1, 2001:db8::1%eth0",
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                struct sockaddr_storage ss = {};
                char text[INET6_ADDRSTRLEN];
                const void *a;

                ASSERT_OK(parse_forwarded_for(ok[i][0], &ss));
                a = ss.ss_family == AF_INET ? (const void *) &((struct sockaddr_in *) &ss)->sin_addr
                                            : (const void *) &((struct sockaddr_in6 *) &ss)->sin6_addr;
                ASSERT_NOT_NULL(inet_ntop(ss.ss_family, a, text, sizeof(text)));
                ASSERT_STREQ(text, ok[i][1]);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct sockaddr_storage ss = {};

                ASSERT_ERROR(parse_forwarded_for(bad[i], &ss), EINVAL);
        }
        ASSERT_ERROR(parse_forwarded_for(NULL, &(struct sockaddr_storage){}), EINVAL);
}

DEFINE_TEST_MAIN(TEST_ENTRY(address_ranges), TEST_ENTRY(debuginfod_paths), TEST_ENTRY(source_paths),
                 TEST_ENTRY(forwarded_for))
