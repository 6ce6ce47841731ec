/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon-hooks.c without a daemon: HookRequired's parser, the stage names, and hooks_run() on a
 * temporary HookDir (output bounded, a hook's leftover process not waited for, a required failure). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-config.h"
#include "common-file.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "daemon-hooks.h"
#include "tests.h"

static char *make_dir(void)
{
        char *d = strdup("/tmp/test-daemon-hooks.XXXXXX");
        ASSERT_NOT_NULL(mkdtemp(d));
        return d;
}

static void write_hook(const char *dir, const char *stage, const char *name, const char *text)
{
        _cleanup_free_ char *sd = path_join(dir, stage), *p = path_join(sd, name);
        FILE *f;

        (void) mkdir(sd, 0755);
        f = fopen(p, "we");
        ASSERT_NOT_NULL(f);
        fputs(text, f);
        fclose(f);
        ASSERT_OK(chmod(p, 0755) < 0 ? -errno : 0);
}

TEST(required_and_names)
{
        _cleanup_free_ char *error = NULL;
        unsigned mask = 0;

        ASSERT_OK(hooks_parse_required("", &mask, &error));
        ASSERT_EQ(mask, 0u);
        ASSERT_OK(hooks_parse_required("start, pre_retrace\tpost_retrace", &mask, &error));
        ASSERT_EQ(mask, (1u << HOOK_START) | (1u << HOOK_PRE_RETRACE) | (1u << HOOK_POST_RETRACE));
        ASSERT_ERROR(hooks_parse_required("start,success", &mask, &error), EINVAL);
        ASSERT_TRUE(strstr(error, "'success'") != NULL);
        error = mfree(error);
        ASSERT_ERROR(hooks_parse_required("prestart", &mask, &error), EINVAL);
        ASSERT_STREQ(hook_stage_to_string(HOOK_POST_CLEAN_TASK), "post_clean_task");
        ASSERT_EQ(hook_stage_from_string("pre_prepare_environment"), HOOK_PRE_PREPARE_ENVIRONMENT);
        ASSERT_EQ(hook_stage_from_string("nope"), _HOOK_STAGE_INVALID);
}

TEST(run)
{
        _cleanup_free_ char *dir = make_dir(), *log = NULL, *failure = NULL,
                            *hooks = path_join(dir, "hooks"), *log_path = path_join(dir, "log");
        _cleanup_(config_freep) RetraceConfig *c = NULL;
        int log_fd, dir_fd;
        size_t len;

        ASSERT_OK(config_new_default(&c));
        ASSERT_OK(mkdir(hooks, 0755) < 0 ? -errno : 0);
        free(c->hook_dir);
        c->hook_dir = strdup(hooks);
        c->hook_timeout = 30;
        /* 200 KiB of output: at most HOOK_MAX_OUTPUT kept. */
        write_hook(hooks, "start", "10-loud", "#!/bin/sh\nhead -c 204800 /dev/zero | tr '\\0' 'x'\necho\n");
        /* Exits at once, leaving a process that holds its output open for longer than HookTimeout. */
        write_hook(hooks, "start", "20-leaves-a-child",
                   "#!/bin/sh\nsleep 120 &\necho \"child $!\"\necho \"type $RETRACE_TASK_TYPE id "
                   "$RETRACE_TASK_ID\"\n");
        write_hook(hooks, "pre_retrace", "10-fails", "#!/bin/sh\nexit 7\n");
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        ASSERT_TRUE(log_fd >= 0);
        HookTask t = {
                .id = 123456789, .type = TASK_TYPE_VMCORE, .dir = dir, .status = "PENDING", .log_fd = log_fd
        };

        ASSERT_OK(hooks_run(c, HOOK_START, &t, &failure));
        ASSERT_NULL(failure);
        ASSERT_OK(hooks_run(c, HOOK_PRE_RETRACE, &t, &failure)); /* not required */
        free(c->hook_required);
        c->hook_required = strdup("pre_retrace");
        ASSERT_ERROR(hooks_run(c, HOOK_PRE_RETRACE, &t, &failure), EPROTO);
        ASSERT_TRUE(strstr(failure, "The required hook pre_retrace/10-fails failed: exited with status 7") !=
                    NULL);
        ASSERT_OK(hooks_run(c, HOOK_SUCCESS, &t, NULL)); /* a stage without hooks */
        close(log_fd);

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(file_read_at(dir_fd, "log", 1 << 20, &log, &len));
        close(dir_fd);
        ASSERT_TRUE(len < HOOK_MAX_OUTPUT + 8192);
        ASSERT_TRUE(strstr(log, "hook start/10-loud: xxxx") != NULL);
        ASSERT_TRUE(strstr(log, "hook start/10-loud: 139265 more bytes of output not kept") != NULL);
        ASSERT_TRUE(strstr(log, "hook start/20-leaves-a-child: type vmcore id 123456789") != NULL);
        ASSERT_TRUE(strstr(log, "hook start/20-leaves-a-child finished") != NULL);
        ASSERT_TRUE(strstr(log, "hook pre_retrace/10-fails failed: exited with status 7 (not required") !=
                    NULL);
        {
                const char *p = strstr(log, "hook start/20-leaves-a-child: child ");
                pid_t child;

                ASSERT_NOT_NULL(p);
                child = (pid_t) strtol(p + strlen("hook start/20-leaves-a-child: child "), NULL, 10);
                ASSERT_TRUE(child > 0);
                (void) kill(child, SIGKILL);
        }
        ASSERT_OK(path_rm_rf(dir));
}

DEFINE_TEST_MAIN(TEST_ENTRY(required_and_names), TEST_ENTRY(run))
