/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-resolution.h"
#include "tests.h"

typedef struct Seen {
        unsigned calls;
        uint64_t addresses[8];
        char from[8][64];
} Seen;

static void record(uint64_t address, const char *from, size_t from_len, void *userdata)
{
        Seen *s = userdata;

        if (s->calls < 8) {
                s->addresses[s->calls] = address;
                (void) snprintf(s->from[s->calls], sizeof(s->from[0]), "%.*s", (int) from_len, from ? from : "");
        }
        s->calls++;
}

TEST(backtrace_quality)
{
        static const char bt[] = "#0  0x00007f1c2a1b2c3d in token_measure (tok=0x0) at token.c:42\n"
                                 "        len = 0\n"
                                 "#1  0x00007f1c2a1b2d00 in ?? () from /usr/lib64/libgears.so.1\n"
                                 "#2  0x00007f1c2a1b2e00 in ?? ()\n"
                                 "#3  parse_record (line=0x55 \"x\") at parse.c:17\n"
                                 "#4  0x0000555555555123 in main () from /usr/bin/wheel\n"
                                 "No symbol table info available.\n"
                                 "#10 0x0000555555555200 in start ()\n";
        FrameQuality q;
        Seen s = {};

        gdb_backtrace_quality(bt, &q, record, &s);
        ASSERT_EQ(q.frames, 6);
        ASSERT_EQ(q.with_lines, 2);
        ASSERT_EQ(q.named, 4);
        ASSERT_EQ(q.unnamed, 2);
        ASSERT_EQ(s.calls, 4);
        ASSERT_EQ(s.addresses[0], 0x00007f1c2a1b2d00);
        ASSERT_STREQ(s.from[0], "/usr/lib64/libgears.so.1");
        ASSERT_EQ(s.addresses[1], 0x00007f1c2a1b2e00);
        ASSERT_STREQ(s.from[1], "");
        ASSERT_STREQ(s.from[2], "/usr/bin/wheel");
        ASSERT_EQ(s.addresses[3], 0x0000555555555200);

        gdb_backtrace_quality("", &q, record, &s);
        ASSERT_EQ(q.frames, 0);
        gdb_backtrace_quality("#0\n#1 \n#2  0x12 in", &q, NULL, NULL);
        ASSERT_EQ(q.frames, 0);
}

DEFINE_TEST_MAIN(TEST_ENTRY(backtrace_quality))
