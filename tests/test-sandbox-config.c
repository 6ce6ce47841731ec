/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-string.h"
#include "sandbox-config.h"
#include "sandbox-limits.h"
#include "sandbox-uidmap.h"
#include "tests.h"

TEST(parse_tmpfs)
{
        char *dest = NULL;
        uint64_t size = 0;

        ASSERT_OK(sandbox_parse_tmpfs("/tmp", &dest, &size));
        ASSERT_STREQ(dest, "/tmp");
        ASSERT_EQ(size, SANDBOX_TMPFS_SIZE_DEFAULT);
        free(dest);
        ASSERT_OK(sandbox_parse_tmpfs("/var/tmp:512M", &dest, &size));
        ASSERT_STREQ(dest, "/var/tmp");
        ASSERT_EQ(size, 512ULL << 20);
        free(dest);
        ASSERT_ERROR(sandbox_parse_tmpfs("", &dest, &size), EINVAL);
        ASSERT_ERROR(sandbox_parse_tmpfs("tmp", &dest, &size), EINVAL);
        ASSERT_ERROR(sandbox_parse_tmpfs("/", &dest, &size), EINVAL);
        ASSERT_ERROR(sandbox_parse_tmpfs("/tmp/", &dest, &size), EINVAL);
        ASSERT_ERROR(sandbox_parse_tmpfs("/a/../b", &dest, &size), EINVAL);
        ASSERT_ERROR(sandbox_parse_tmpfs("/tmp:", &dest, &size), EINVAL);
        ASSERT_ERROR(sandbox_parse_tmpfs("/tmp:12X", &dest, &size), EINVAL);
        ASSERT_ERROR(sandbox_parse_tmpfs("/tmp:100", &dest, &size), ERANGE);
}

TEST(parse_rlimit)
{
        int resource = -1;
        uint64_t value = 0;

        ASSERT_OK(sandbox_parse_rlimit("as=4G", &resource, &value));
        ASSERT_EQ(resource, RLIMIT_AS);
        ASSERT_EQ(value, 4ULL << 30);
        ASSERT_OK(sandbox_parse_rlimit("cpu=10min", &resource, &value));
        ASSERT_EQ(resource, RLIMIT_CPU);
        ASSERT_EQ(value, 600);
        ASSERT_OK(sandbox_parse_rlimit("nofile=1024", &resource, &value));
        ASSERT_EQ(resource, RLIMIT_NOFILE);
        ASSERT_EQ(value, 1024);
        ASSERT_OK(sandbox_parse_rlimit("core=infinity", &resource, &value));
        ASSERT_EQ(resource, RLIMIT_CORE);
        ASSERT_TRUE(value == SANDBOX_RLIMIT_INFINITY);
        ASSERT_ERROR(sandbox_parse_rlimit("nofile=10K", &resource, &value), EINVAL);
        ASSERT_ERROR(sandbox_parse_rlimit("nofile=18446744073709551615", &resource, &value), ERANGE);
        ASSERT_ERROR(sandbox_parse_rlimit("bogus=1", &resource, &value), EINVAL);
        ASSERT_ERROR(sandbox_parse_rlimit("as", &resource, &value), EINVAL);
        ASSERT_ERROR(sandbox_parse_rlimit("=1", &resource, &value), EINVAL);
        ASSERT_ERROR(sandbox_parse_rlimit("nproc=-1", &resource, &value), EINVAL);
        ASSERT_ERROR(sandbox_parse_rlimit("nproc=", &resource, &value), EINVAL);
}

TEST(rlimit_names)
{
        for (int i = 0; i < RLIM_NLIMITS; i++) {
                const char *name = sandbox_rlimit_to_string(i);

                ASSERT_NOT_NULL(name);
                ASSERT_EQ(sandbox_rlimit_from_string(name), i);
        }
        ASSERT_NULL(sandbox_rlimit_to_string(RLIM_NLIMITS));
        ASSERT_ERROR(sandbox_rlimit_from_string("AS"), EINVAL);
}

TEST(env)
{
        SandboxConfig c;

        ASSERT_TRUE(sandbox_env_name_is_valid("PATH"));
        ASSERT_TRUE(sandbox_env_name_is_valid("_x1"));
        ASSERT_FALSE(sandbox_env_name_is_valid("1x"));
        ASSERT_FALSE(sandbox_env_name_is_valid("A=B"));
        ASSERT_FALSE(sandbox_env_name_is_valid(""));

        sandbox_config_init(&c);
        ASSERT_OK(sandbox_config_set_env(&c, "HOME", "/tmp"));
        ASSERT_OK(sandbox_config_set_env(&c, "LANG", "C"));
        ASSERT_OK(sandbox_config_set_env(&c, "HOME", "/root"));
        ASSERT_EQ(strv_length(c.env), 2);
        ASSERT_STREQ(c.env[0], "HOME=/root");
        ASSERT_STREQ(c.env[1], "LANG=C");
        ASSERT_ERROR(sandbox_config_set_env(&c, "A B", "x"), EINVAL);
        sandbox_config_done(&c);
}

TEST(mounts_and_validate)
{
        SandboxConfig c;
        SandboxError e = {};

        sandbox_config_init(&c);
        ASSERT_ERROR(sandbox_config_validate(&c, &e), EINVAL);
        ASSERT_TRUE(strstr(e.message, "--root") != NULL);
        c.root = strdup("/srv/root");
        ASSERT_ERROR(sandbox_config_validate(&c, &e), EINVAL);
        ASSERT_TRUE(strstr(e.message, "command") != NULL);
        ASSERT_OK(strv_extend(&c.argv, "gdb"));
        ASSERT_OK(sandbox_config_validate(&c, &e));

        ASSERT_OK(sandbox_config_add_bind(&c, SANDBOX_MOUNT_RO_BIND, "core", "/coredump"));
        ASSERT_OK(sandbox_config_add_tmpfs(&c, "/tmp:1M"));
        ASSERT_OK(sandbox_config_add_bind(&c, SANDBOX_MOUNT_BIND, "/srv/out", "/tmp/out"));
        ASSERT_EQ(c.n_mounts, 3);
        ASSERT_EQ(c.mounts[0].type, SANDBOX_MOUNT_RO_BIND);
        ASSERT_STREQ(c.mounts[0].source, "core");
        ASSERT_EQ(c.mounts[1].type, SANDBOX_MOUNT_TMPFS);
        ASSERT_NULL(c.mounts[1].source);
        ASSERT_EQ(c.mounts[1].size, 1 << 20);
        ASSERT_STREQ(c.mounts[2].dest, "/tmp/out");
        ASSERT_OK(sandbox_config_validate(&c, &e));

        ASSERT_ERROR(sandbox_config_add_bind(&c, SANDBOX_MOUNT_BIND, "/a", "relative"), EINVAL);
        ASSERT_ERROR(sandbox_config_add_bind(&c, SANDBOX_MOUNT_BIND, "/a", "/"), EINVAL);
        ASSERT_ERROR(sandbox_config_add_bind(&c, SANDBOX_MOUNT_BIND, "", "/a"), EINVAL);
        ASSERT_ERROR(sandbox_config_add_bind(&c, SANDBOX_MOUNT_TMPFS, "/a", "/a"), EINVAL);
        ASSERT_EQ(c.n_mounts, 3);

        ASSERT_OK(sandbox_config_add_bind(&c, SANDBOX_MOUNT_BIND, "/x", "/proc/sys"));
        ASSERT_ERROR(sandbox_config_validate(&c, &e), EINVAL);
        ASSERT_TRUE(strstr(e.message, "/proc/sys") != NULL);
        sandbox_config_done(&c);

        sandbox_config_init(&c);
        c.root = strdup("/");
        ASSERT_OK(strv_extend(&c.argv, "true"));
        c.chdir = strdup("work");
        ASSERT_ERROR(sandbox_config_validate(&c, &e), EINVAL);
        free(c.chdir);
        c.chdir = NULL;
        c.status_fd = 1;
        ASSERT_ERROR(sandbox_config_validate(&c, &e), EINVAL);
        sandbox_config_done(&c);
}

TEST(limits_defaults)
{
        ASSERT_EQ(sandbox_limits_default(RLIMIT_CORE), 0);
        /* RLIMIT_NPROC follows --pids-max (sandbox_limits_apply), where the kernel counts it per user
         * namespace. */
        ASSERT_TRUE(sandbox_limits_default(RLIMIT_NPROC) == SANDBOX_RLIMIT_INFINITY);
        ASSERT_TRUE(sandbox_limits_default(RLIMIT_AS) != SANDBOX_RLIMIT_INFINITY);
        ASSERT_TRUE(sandbox_limits_default(RLIMIT_CPU) == SANDBOX_RLIMIT_INFINITY);
}

TEST(ids)
{
        SandboxIds ids;
        char line[64];

        sandbox_ids_choose(1000, 100, &ids);
        ASSERT_EQ(ids.inside_uid, 1000);
        ASSERT_EQ(ids.host_uid, 1000);
        ASSERT_EQ(ids.inside_gid, 100);
        ASSERT_EQ(ids.host_gid, 100);
        /* Root is never mapped: neither outside nor inside. */
        sandbox_ids_choose(0, 0, &ids);
        ASSERT_EQ(ids.host_uid, SANDBOX_ROOT_FALLBACK_ID);
        ASSERT_EQ(ids.inside_uid, SANDBOX_ROOT_FALLBACK_ID);
        ASSERT_EQ(ids.host_gid, SANDBOX_ROOT_FALLBACK_ID);

        ASSERT_EQ(sandbox_idmap_format(1000, 1000, line, sizeof(line)), 12);
        ASSERT_STREQ(line, "1000 1000 1\n");
        ASSERT_ERROR(sandbox_idmap_format(1000, 1000, line, 5), ENOBUFS);
}

TEST(cgroup_options)
{
        uint64_t v;

        ASSERT_OK(sandbox_parse_cgroup_limit("max", false, &v));
        ASSERT_TRUE(v == SANDBOX_CGROUP_UNLIMITED);
        ASSERT_OK(sandbox_parse_cgroup_limit("32", false, &v));
        ASSERT_EQ(v, 32);
        ASSERT_ERROR(sandbox_parse_cgroup_limit("0", false, &v), ERANGE);
        ASSERT_ERROR(sandbox_parse_cgroup_limit("1K", false, &v), EINVAL);
        ASSERT_OK(sandbox_parse_cgroup_limit("64M", true, &v));
        ASSERT_EQ(v, 64ULL << 20);
        ASSERT_ERROR(sandbox_parse_cgroup_limit("100", true, &v), ERANGE);
        ASSERT_ERROR(sandbox_parse_cgroup_limit("", true, &v), EINVAL);
        ASSERT_ERROR(sandbox_parse_cgroup_limit(NULL, true, &v), EINVAL);

        ASSERT_EQ(sandbox_cgroup_mode_from_string("auto"), SANDBOX_CGROUP_AUTO);
        ASSERT_EQ(sandbox_cgroup_mode_from_string("require"), SANDBOX_CGROUP_REQUIRE);
        ASSERT_EQ(sandbox_cgroup_mode_from_string("no"), SANDBOX_CGROUP_NO);
        ASSERT_EQ(sandbox_cgroup_mode_from_string("yes"), -EINVAL);
        ASSERT_STREQ(sandbox_cgroup_mode_to_string(SANDBOX_CGROUP_REQUIRE), "require");
}

DEFINE_TEST_MAIN(TEST_ENTRY(parse_tmpfs), TEST_ENTRY(parse_rlimit), TEST_ENTRY(rlimit_names),
                 TEST_ENTRY(env), TEST_ENTRY(mounts_and_validate), TEST_ENTRY(limits_defaults),
                 TEST_ENTRY(ids), TEST_ENTRY(cgroup_options));
