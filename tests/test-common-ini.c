/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <unistd.h>

#include "common-config.h"
#include "common-ini.h"
#include "common-macro.h"
#include "tests.h"

static const char good[] = "# comment\n"
                           "; also a comment\n"
                           "[retrace]\n"
                           "  RepoDir =  /srv/repos  \n"
                           "Empty =\n"
                           "\n"
                           "[repo fedora-debuginfo]\n"
                           "mirrors = a b\n";

TEST(parse_good)
{
        _cleanup_(ini_file_freep) IniFile *f = NULL;
        const IniSection *s;
        const IniEntry *e;

        ASSERT_OK(ini_parse("x.conf", good, strlen(good), &f, NULL));
        ASSERT_EQ(f->n_sections, 2);
        s = ini_file_find_section(f, "retrace", NULL);
        ASSERT_NOT_NULL(s);
        e = ini_section_find(s, "RepoDir");
        ASSERT_STREQ(e->value, "/srv/repos");
        ASSERT_EQ(e->line, 4);
        ASSERT_STREQ(ini_section_find(s, "Empty")->value, "");
        s = ini_file_find_section(f, "repo", "fedora-debuginfo");
        ASSERT_NOT_NULL(s);
        ASSERT_EQ(s->line, 7);
        ASSERT_NULL(ini_file_find_section(f, "repo", NULL));
}

static void expect_error(const char *text, const char *message)
{
        _cleanup_(ini_file_freep) IniFile *f = NULL;
        _cleanup_free_ char *error = NULL;

        ASSERT_ERROR(ini_parse("bad.conf", text, strlen(text), &f, &error), EINVAL);
        ASSERT_NOT_NULL(error);
        if (!strstr(error, message)) {
                fprintf(stderr, "error '%s' lacks '%s'\n", error, message);
                exit(EXIT_FAILURE);
        }
}

TEST(parse_errors)
{
        expect_error("key = value\n", "bad.conf:1: assignment outside");
        expect_error("[a]\nnovalue\n", "bad.conf:2: expected");
        expect_error("[a]\nk = 1\nk = 2\n", "bad.conf:3: key 'k' is set twice");
        expect_error("[a]\n[a]\n", "bad.conf:2: section [a] appears twice");
        expect_error("[a\n", "bad.conf:1: section header lacks");
        expect_error("[a]\nb@d = 1\n", "bad.conf:2: invalid key");
        expect_error("[]\n", "bad.conf:1: invalid section name");
        /* NUL bytes and overlong lines are refused (the parser takes arbitrary buffers). */
        {
                _cleanup_(ini_file_freep) IniFile *f = NULL;
                ASSERT_ERROR(ini_parse("n.conf", "[a]\nk=\0x\n", 9, &f, NULL), EINVAL);
        }
        {
                _cleanup_free_ char *big = malloc(INI_LINE_MAX + 10);
                _cleanup_(ini_file_freep) IniFile *f = NULL;

                memset(big, 'a', INI_LINE_MAX + 9);
                big[INI_LINE_MAX + 9] = '\0';
                ASSERT_ERROR(ini_parse("l.conf", big, INI_LINE_MAX + 9, &f, NULL), EINVAL);
        }
}

TEST(parse_no_trailing_newline)
{
        _cleanup_(ini_file_freep) IniFile *f = NULL;

        ASSERT_OK(ini_parse("t.conf", "[a]\nk = v", 9, &f, NULL));
        ASSERT_STREQ(ini_section_find(&f->sections[0], "k")->value, "v");
}

TEST(continuation_lines)
{
        _cleanup_(ini_file_freep) IniFile *f = NULL;
        static const char text[] = "[r]\nmirrors = a\n   b\n\tc\n  next = 1\n";

        ASSERT_OK(ini_parse("c.conf", text, strlen(text), &f, NULL));
        ASSERT_STREQ(ini_section_find(&f->sections[0], "mirrors")->value, "a b c");
        ASSERT_STREQ(ini_section_find(&f->sections[0], "next")->value, "1");
        expect_error("[r]\n  orphan\n", "bad.conf:2: indented line does not continue");
        expect_error("[r]\nk = v\n\n  late\n", "bad.conf:4: indented line");
}

TEST(config_defaults_and_apply)
{
        _cleanup_(config_freep) RetraceConfig *c = NULL;
        _cleanup_(ini_file_freep) IniFile *f = NULL;
        _cleanup_free_ char *error = NULL;
        static const char text[] =
                "[retrace]\nCacheDir = cache\nMaxParallelTasks = 7\nCacheMaxRpmSize = 10M\n"
                "SyncTimeout = 2min\n";

        ASSERT_OK(config_new_default(&c));
        ASSERT_STREQ(c->repo_dir, "/var/cache/retrace-server");
        ASSERT_EQ(c->max_parallel_tasks, 2);
        ASSERT_OK(ini_parse("/etc/rs/retrace-server.conf", text, strlen(text), &f, NULL));
        ASSERT_OK(config_apply_ini(c, f, &error));
        ASSERT_STREQ(c->cache_dir, "/etc/rs/cache"); /* relative to the file's directory */
        ASSERT_EQ(c->max_parallel_tasks, 7);
        ASSERT_EQ(c->cache_max_rpm_size, 10 * 1024 * 1024);
        ASSERT_EQ(c->sync_timeout, 120);
}

static void expect_config_error(const char *text, const char *message)
{
        _cleanup_(config_freep) RetraceConfig *c = NULL;
        _cleanup_(ini_file_freep) IniFile *f = NULL;
        _cleanup_free_ char *error = NULL;

        ASSERT_OK(config_new_default(&c));
        ASSERT_OK(ini_parse("r.conf", text, strlen(text), &f, NULL));
        ASSERT_ERROR(config_apply_ini(c, f, &error), EINVAL);
        if (!error || !strstr(error, message)) {
                fprintf(stderr, "error '%s' lacks '%s'\n", strna(error), message);
                exit(EXIT_FAILURE);
        }
}

TEST(config_daemon_keys_old_units)
{
        _cleanup_(config_freep) RetraceConfig *c = NULL;
        _cleanup_(ini_file_freep) IniFile *f = NULL;
        _cleanup_free_ char *error = NULL;
        /* Values as the old server's configuration has them: sizes in MiB, Delete* in hours. */
        static const char text[] =
                "[retrace]\nMaxPackedSize = 30\nMaxUnpackedSize = 2G\nMinStorageLeft = 10240\n"
                "DeleteTaskAfter = 120\nDeleteFailedTaskAfter = 90min\nRequireHTTPS = 1\n"
                "AllowAPIDelete = yes\nTLSCertificate = cert.pem\nTrustedProxy = 127.0.0.1\n"
                "Listen = 0.0.0.0:443\nTaskTimeout = 1h\n";

        ASSERT_OK(config_new_default(&c));
        ASSERT_FALSE(c->require_https);
        ASSERT_TRUE(c->allow_metrics);
        ASSERT_STREQ(c->listen, "127.0.0.1:8080");
        ASSERT_STREQ(c->tls_certificate, "");
        ASSERT_OK(ini_parse("/etc/rs/retrace-server.conf", text, strlen(text), &f, NULL));
        ASSERT_OK(config_apply_ini(c, f, &error));
        ASSERT_EQ(c->max_packed_size, 30 * 1024 * 1024);
        ASSERT_EQ(c->max_unpacked_size, 2ULL << 30);
        ASSERT_EQ(c->min_storage_left, 10240ULL << 20);
        ASSERT_EQ(c->delete_task_after, 120 * 3600);
        ASSERT_EQ(c->delete_failed_task_after, 90 * 60);
        ASSERT_EQ(c->task_timeout, 3600);
        ASSERT_TRUE(c->require_https && c->allow_api_delete);
        ASSERT_STREQ(c->tls_certificate, "/etc/rs/cert.pem");
        ASSERT_STREQ(c->trusted_proxy, "127.0.0.1");
        ASSERT_STREQ(c->listen, "0.0.0.0:443");
        expect_config_error("[retrace]\nRequireHTTPS = maybe\n",
                            "r.conf:2: invalid value 'maybe' for RequireHTTPS");
        expect_config_error("[retrace]\nMinStorageLeft = 99999999999999999999\n", "for MinStorageLeft");
}

TEST(config_errors)
{
        expect_config_error("[retrace]\nNoSuchKey = 1\n", "r.conf:2: unknown key 'NoSuchKey'");
        expect_config_error("[retrace]\nMaxParallelTasks = many\n",
                            "r.conf:2: invalid value 'many' for MaxParallelTasks");
        expect_config_error("[retrace]\nCacheMaxRpmSize = -1\n",
                            "r.conf:2: invalid value '-1' for CacheMaxRpmSize");
        expect_config_error("[other]\n", "r.conf:1: unknown section [other]");
}

TEST(config_load_order)
{
        _cleanup_(config_freep) RetraceConfig *c = NULL;
        _cleanup_free_ char *error = NULL;
        char path[] = "/tmp/test-config.XXXXXX";
        int fd = mkstemp(path);
        static const char text[] = "[retrace]\nSaveDir = /srv/tasks\n";

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);

        ASSERT_OK(setenv(RETRACE_CONFIG_ENV, path, 1));
        ASSERT_OK(setenv(RETRACE_PLUGIN_DIR_ENV, "/plugins/here", 1));
        ASSERT_OK(config_load(NULL, &c, &error));
        ASSERT_STREQ(c->save_dir, "/srv/tasks");
        ASSERT_STREQ(c->plugin_dir, "/plugins/here");
        ASSERT_STREQ(c->path, path);
        c = config_free(c);

        /* An explicit --config that does not exist is an error naming the file. */
        ASSERT_ERROR(config_load("/nonexistent/retrace.conf", &c, &error), ENOENT);
        ASSERT_TRUE(error && strstr(error, "/nonexistent/retrace.conf"));
        unlink(path);
        unsetenv(RETRACE_CONFIG_ENV);
        unsetenv(RETRACE_PLUGIN_DIR_ENV);
}

DEFINE_TEST_MAIN(TEST_ENTRY(parse_good), TEST_ENTRY(parse_errors), TEST_ENTRY(parse_no_trailing_newline),
                 TEST_ENTRY(continuation_lines), TEST_ENTRY(config_defaults_and_apply),
                 TEST_ENTRY(config_daemon_keys_old_units), TEST_ENTRY(config_errors),
                 TEST_ENTRY(config_load_order))
