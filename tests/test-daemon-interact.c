/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Interactive sessions' pure parts: the paths of /<id>/interact… and the environment record a
 * finished task keeps (results/interactive.json), written and read back, and refused when damaged. */
#include <string.h>

#include "daemon-http-parse.h"
#include "daemon-interact.h"
#include "tests.h"

TEST(interact_paths)
{
        const char *sub = NULL;
        uint64_t id = 0;

        ASSERT_TRUE(parse_interact_path("/123/interact", &id, &sub));
        ASSERT_EQ(id, 123u);
        ASSERT_STREQ(sub, "");
        ASSERT_TRUE(parse_interact_path("/retrace/9/interact/log", &id, &sub));
        ASSERT_EQ(id, 9u);
        ASSERT_STREQ(sub, "log");
        ASSERT_TRUE(parse_interact_path("/7/interact/status", &id, &sub));
        ASSERT_STREQ(sub, "status");
        ASSERT_FALSE(parse_interact_path("/interact", &id, &sub));
        ASSERT_FALSE(parse_interact_path("interact", &id, &sub));
        ASSERT_FALSE(parse_interact_path("/x1/interact", &id, &sub));
        ASSERT_FALSE(parse_interact_path("/1/interact/", &id, &sub));
        ASSERT_FALSE(parse_interact_path("/1/interact/other", &id, &sub));
        ASSERT_FALSE(parse_interact_path("/1/interactive", &id, &sub));
        ASSERT_FALSE(parse_interact_path("/12345678901234567890/interact", &id, &sub));
        ASSERT_FALSE(parse_interact_path("/-1/interact", &id, &sub));
        ASSERT_FALSE(parse_interact_path("/1/backtrace", &id, &sub));
}

TEST(resize_messages)
{
        static const char *const bad[] = { "",
                                           "{}",
                                           "{\"resize\": [80]}",
                                           "{\"resize\": [\"80\", 24]}",
                                           "[80, 24]",
                                           "{\"resize\": 3}",
                                           "{\"resize\": [80, 24, 1]}" };
        unsigned cols = 0, rows = 0;

        ASSERT_OK(parse_resize_message("{\"resize\": [120, 40]}", strlen("{\"resize\": [120, 40]}"), &cols,
                                       &rows));
        ASSERT_EQ(cols, 120u);
        ASSERT_EQ(rows, 40u);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_ERROR(parse_resize_message(bad[i], strlen(bad[i]), &cols, &rows), EINVAL);
        ASSERT_ERROR(
                parse_resize_message("{\"resize\": [0, 24]}", strlen("{\"resize\": [0, 24]}"), &cols, &rows),
                ERANGE);
        ASSERT_ERROR(parse_resize_message("{\"resize\": [80, 100000]}", strlen("{\"resize\": [80, 100000]}"),
                                          &cols, &rows),
                     ERANGE);
}

TEST(spec_round_trip)
{
        _cleanup_(interactive_spec_freep) InteractiveSpec *back = NULL;
        _cleanup_free_ char *json = NULL;
        int64_t ids[] = { 3, 1, 4 }, sys[] = { 9 };
        char *cmd[] = { (char *) "/usr/bin/gdb", (char *) "-q", (char *) "/crash/coredump", NULL };
        InteractiveSpec s = { .kind = (char *) "gdb",
                              .ids = ids,
                              .n_ids = 3,
                              .sysroot_ids = sys,
                              .n_sysroot_ids = 1,
                              .sysroot_dir = (char *) "sysroot",
                              .crash_dir = (char *) "/srv/tasks/1/crash",
                              .init = (char *) "define shell\nend\n",
                              .command = cmd,
                              .finished = 1700000000 };

        ASSERT_OK(interactive_spec_to_json(&s, &json));
        ASSERT_OK(interactive_spec_from_json(json, strlen(json), &back));
        ASSERT_STREQ(back->kind, "gdb");
        ASSERT_EQ(back->n_ids, 3u);
        ASSERT_EQ(back->ids[2], 4);
        ASSERT_EQ(back->n_sysroot_ids, 1u);
        ASSERT_EQ(back->sysroot_ids[0], 9);
        ASSERT_STREQ(back->sysroot_dir, "sysroot");
        ASSERT_NULL(back->vmlinux);
        ASSERT_STREQ(back->init, "define shell\nend\n");
        ASSERT_STREQ(back->command[2], "/crash/coredump");
        ASSERT_NULL(back->command[3]);
        ASSERT_EQ(back->finished, 1700000000);
}

TEST(spec_damaged)
{
        static const char *const bad[] = {
                "",
                "[]",
                "{}",
                "{\"kind\": \"gdb\"}",
                "{\"kind\": \"gdb\", \"ids\": [1], \"sysroot_ids\": [], \"sysroot_dir\": null, "
                "\"crash_dir\": "
                "\"/c\", \"vmlinux\": null, \"init\": \"\", \"command\": [], \"finished\": 1}",
                "{\"kind\": \"gdb\", \"ids\": [\"1\"], \"sysroot_ids\": [], \"sysroot_dir\": null, "
                "\"crash_dir\": "
                "\"/c\", \"vmlinux\": null, \"init\": \"\", \"command\": [\"gdb\"], \"finished\": 1}",
                "{\"kind\": \"gdb\", \"ids\": [1], \"sysroot_ids\": [], \"sysroot_dir\": null, "
                "\"crash_dir\": "
                "\"/c\", \"vmlinux\": null, \"init\": \"\", \"command\": [\"gdb\", 2], \"finished\": 1}",
                "{\"kind\": \"gdb\", \"ids\": [1], \"sysroot_ids\": [], \"sysroot_dir\": null, "
                "\"crash_dir\": "
                "\"/c\", \"vmlinux\": null, \"init\": \"\", \"command\": [\"gdb\"]}",
        };
        InteractiveSpec *s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_ERROR(interactive_spec_from_json(bad[i], strlen(bad[i]), &s), EBADMSG);
        ASSERT_NULL(s);
}

DEFINE_TEST_MAIN(TEST_ENTRY(interact_paths), TEST_ENTRY(resize_messages), TEST_ENTRY(spec_round_trip),
                 TEST_ENTRY(spec_damaged))
