/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <unistd.h>

#include "common-cgroup.h"
#include "tests.h"

TEST(parse_self)
{
        char *p = NULL;

        /* Hybrid: v1 controllers, and the unified line last. */
        ASSERT_OK(cgroup_parse_self("9:name=systemd:/\n8:pids:/x\n0::/user.slice/a.scope\n", &p));
        ASSERT_STREQ(p, "/user.slice/a.scope");
        free(p);
        ASSERT_OK(cgroup_parse_self("0::/\n", &p));
        ASSERT_STREQ(p, "/");
        free(p);
        /* No trailing newline, path with spaces. */
        ASSERT_OK(cgroup_parse_self("0::/a b/c", &p));
        ASSERT_STREQ(p, "/a b/c");
        free(p);
        /* Pure v1, an empty file, a v2 line that is not a path. */
        ASSERT_ERROR(cgroup_parse_self("4:memory:/docker/abc\n1:cpu:/\n", &p), ENOENT);
        ASSERT_ERROR(cgroup_parse_self("", &p), ENOENT);
        ASSERT_ERROR(cgroup_parse_self("0::\n", &p), ENOENT);
        ASSERT_ERROR(cgroup_parse_self("10::/x\n", &p), ENOENT);
}

TEST(parse_mountinfo)
{
        char *mp = NULL, *root = NULL;

        ASSERT_OK(cgroup_parse_mountinfo(
                "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
                "30 25 0:26 / /sys/fs/cgroup/memory rw shared:9 - cgroup cgroup rw,memory\n"
                "35 25 0:29 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n",
                &mp, &root));
        ASSERT_STREQ(mp, "/sys/fs/cgroup/unified");
        ASSERT_STREQ(root, "/");
        free(mp);
        free(root);
        /* A container's view: the mount shows a subtree; escaped spaces; no optional fields. */
        ASSERT_OK(cgroup_parse_mountinfo("40 39 0:30 /a\\040b /sys/fs/cgroup\\040x rw - cgroup2 none rw",
                                         &mp, &root));
        ASSERT_STREQ(mp, "/sys/fs/cgroup x");
        ASSERT_STREQ(root, "/a b");
        free(mp);
        free(root);
        /* A file system called "cgroup2" in the source field only, and truncated lines. */
        ASSERT_ERROR(cgroup_parse_mountinfo("1 2 0:3 / /mnt rw - tmpfs cgroup2 rw\n"
                                            "1 2 0:3 / /x rw -\n"
                                            "1 2 0:3\n",
                                            &mp, &root),
                     ENOENT);
        ASSERT_ERROR(cgroup_parse_mountinfo("", &mp, &root), ENOENT);
}

TEST(list_contains)
{
        ASSERT_TRUE(cgroup_list_contains("cpuset cpu io memory pids\n", "pids"));
        ASSERT_TRUE(cgroup_list_contains("memory", "memory"));
        ASSERT_TRUE(!cgroup_list_contains("memory_x pidsx", "pids"));
        ASSERT_TRUE(!cgroup_list_contains("hugetlb\n", "memory"));
        ASSERT_TRUE(!cgroup_list_contains("", "pids"));
}

TEST(own_dir)
{
        char *dir = NULL;
        int r = cgroup_own_dir(&dir);

        /* Whatever this machine has: a v2 directory that exists, or no v2 hierarchy at all. */
        if (r >= 0) {
                ASSERT_TRUE(dir[0] == '/');
                ASSERT_OK(access(dir, F_OK) < 0 ? -errno : 0);
                free(dir);
        } else
                ASSERT_EQ(r, -ENOENT);
}

TEST(delegate_not_a_cgroup)
{
        char problem[256];

        /* A plain directory is refused before anything is created in it. */
        ASSERT_ERROR(cgroup_delegate_self("/tmp", problem, sizeof(problem)), EOPNOTSUPP);
        ASSERT_TRUE(strstr(problem, "not a cgroup v2 directory"));
        ASSERT_OK(access("/tmp/" CGROUP_SUPERVISOR_LEAF, F_OK) < 0 && errno == ENOENT ? 0 : -EEXIST);
}

DEFINE_TEST_MAIN(TEST_ENTRY(parse_self), TEST_ENTRY(parse_mountinfo), TEST_ENTRY(list_contains),
                 TEST_ENTRY(own_dir), TEST_ENTRY(delegate_not_a_cgroup))
