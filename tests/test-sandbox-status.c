/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <signal.h>

#include "common-string.h"
#include "sandbox-status.h"
#include "sandbox-usage.h"
#include "tests.h"

TEST(exit_status)
{
        SandboxResult r = { .exited = true, .exit_code = 3 };

        ASSERT_EQ(sandbox_result_exit_status(&r), 3);
        r = (SandboxResult){ .signal = SIGSEGV };
        ASSERT_EQ(sandbox_result_exit_status(&r), 128 + SIGSEGV);
        /* The timeout wins over the SIGKILL it caused. */
        r = (SandboxResult){ .timed_out = true, .signal = SIGKILL };
        ASSERT_EQ(sandbox_result_exit_status(&r), SANDBOX_EXIT_TIMEOUT);
        r = (SandboxResult){ .setup_failed = true, .exited = true, .exit_code = 0 };
        ASSERT_EQ(sandbox_result_exit_status(&r), SANDBOX_EXIT_SETUP);
        r = (SandboxResult){ .exec_failed = true, .exec_error = ENOENT, .exited = true, .exit_code = 127 };
        ASSERT_EQ(sandbox_result_exit_status(&r), SANDBOX_EXIT_NOT_FOUND);
        r = (SandboxResult){ .exec_failed = true, .exec_error = EACCES };
        ASSERT_EQ(sandbox_result_exit_status(&r), SANDBOX_EXIT_CANNOT_EXEC);
        r = (SandboxResult){};
        ASSERT_EQ(sandbox_result_exit_status(&r), SANDBOX_EXIT_SETUP);
}

TEST(json)
{
        SandboxResult r = {
                .exited = true,
                .exit_code = 0,
                .output_limit_hit = true,
                .output_bytes = 1000,
                .output_dropped = 99000,
                .wall_usec = 1500,
                .cpu_usec = 700,
                .peak_memory = 4096,
        };
        char *json = NULL;

        ASSERT_OK(sandbox_result_to_json(&r, &json));
        ASSERT_STREQ(json, "{\"exit_status\":0,\"exit_code\":0,\"signal\":null,\"timed_out\":false,"
                           "\"output_limit_hit\":true,\"output_bytes\":1000,\"output_dropped\":99000,"
                           "\"wall_time_us\":1500,\"cpu_time_us\":700,\"peak_memory_bytes\":4096,"
                           "\"cgroup\":null,\"cgroup_problem\":null,\"pids_limit_hit\":false,"
                           "\"memory_limit_hit\":false,\"peak_tasks\":0,\"lock_wait_us\":0,\"setup_error\":"
                           "null,\"exec_error\":null}\n");
        free(json);

        r.cgroup_used = true;
        r.pids_limit_hit = true;
        (void) string_copy(r.cgroup_path, sizeof(r.cgroup_path), "/sys/fs/cgroup/a b/sandbox-1");
        ASSERT_OK(sandbox_result_to_json(&r, &json));
        ASSERT_TRUE(strstr(json, "\"cgroup\":\"/sys/fs/cgroup/a b/sandbox-1\",\"cgroup_problem\":null,"
                                 "\"pids_limit_hit\":true,\"memory_limit_hit\":false"));
        free(json);

        r = (SandboxResult){ .exited = true };
        (void) string_copy(r.cgroup_problem, sizeof(r.cgroup_problem), "no cgroup v2 hierarchy");
        ASSERT_OK(sandbox_result_to_json(&r, &json));
        ASSERT_TRUE(strstr(json, "\"cgroup\":null,\"cgroup_problem\":\"no cgroup v2 hierarchy\""));
        free(json);

        r = (SandboxResult){ .signal = SIGKILL, .timed_out = true };
        ASSERT_OK(sandbox_result_to_json(&r, &json));
        ASSERT_TRUE(strstr(
                json, "\"exit_status\":124,\"exit_code\":null,\"signal\":\"SIGKILL\",\"timed_out\":true"));
        free(json);

        r = (SandboxResult){ .setup_failed = true };
        (void) sandbox_error_set(&r.setup_error, EPERM, "user namespaces are \"disabled\"\n(sysctl)");
        ASSERT_OK(sandbox_result_to_json(&r, &json));
        ASSERT_TRUE(strstr(json, "\"setup_error\":\"user namespaces are \\\"disabled\\\"\\n(sysctl): "
                                 "Operation not permitted\""));
        free(json);
}

TEST(usage_parse_status)
{
        static const char status[] = "Name:\tgdb\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t  900 kB\n"
                                     "VmRSS:\t    1234 kB\nRssAnon:\t  1000 kB\nThreads:\t9\nSigQ:\t0/1\n";
        static const char zombie[] = "Name:\tx\nState:\tZ (zombie)\nThreads:\t1\n";
        uint64_t rss = 0, tasks = 0;

        ASSERT_OK(sandbox_usage_parse_status(status, strlen(status), &rss, &tasks));
        ASSERT_EQ(rss, 1234ULL * 1024);
        ASSERT_EQ(tasks, 9);
        ASSERT_OK(sandbox_usage_parse_status(zombie, strlen(zombie), &rss, &tasks));
        ASSERT_EQ(rss, 0);
        ASSERT_EQ(tasks, 1);
        /* Cut in the middle of a line, unknown unit, garbage, nothing. */
        ASSERT_OK(sandbox_usage_parse_status(status, strlen(status) - 5, &rss, &tasks));
        ASSERT_ERROR(sandbox_usage_parse_status("VmRSS:\t1 MB\nThreads:\t1\n", 23, &rss, &tasks), EINVAL);
        ASSERT_ERROR(sandbox_usage_parse_status("VmRSS:\tx kB\nThreads:\t1\n", 23, &rss, &tasks), EINVAL);
        ASSERT_ERROR(sandbox_usage_parse_status("Threads:\t99999999999999999999999\n", 33, &rss, &tasks),
                     ERANGE);
        ASSERT_ERROR(sandbox_usage_parse_status("", 0, &rss, &tasks), EINVAL);
}

DEFINE_TEST_MAIN(TEST_ENTRY(exit_status), TEST_ENTRY(json), TEST_ENTRY(usage_parse_status));
