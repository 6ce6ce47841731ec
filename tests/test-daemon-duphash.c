/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the crash buckets' duplicate hash on known inputs. Each expected text follows the
 * rules of daemon/README.md ("Crash buckets") by hand; each expected hash is that text through
 * `printf 'TEXT' | sha1sum`, never our own code. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common-macro.h"
#include "daemon-duphash.h"
#include "daemon-gdb-frames.h"
#include "daemon-taskdir.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-path.h"
#include "tests.h"

static void check_thread(const char *component, const char *bt, const char *want_text, const char *want_hash)
{
        _cleanup_(gdb_threads_done) GdbThreads t = {};
        _cleanup_free_ char *text = NULL;
        char hash[41];

        ASSERT_OK(gdb_threads_parse(bt, &t));
        ASSERT_TRUE(t.n_threads >= 1);
        ASSERT_OK(duphash_gdb_thread(component, &t.threads[0], &text, hash));
        ASSERT_STREQ(text, want_text);
        ASSERT_STREQ(hash, want_hash);
}

/* glibc's abort path after a failed assertion: the deepest exit frame (abort) and everything above
 * it go, the assertion helpers with everything above them, "__GI_" is stripped, recursion merged. */
TEST(assertion)
{
        check_thread(
                "gears",
                "Thread 1 (Thread 0x7ffff7d8a740 (LWP 8)):\n"
                "#0  __pthread_kill_implementation (threadid=<optimized out>, signo=6, no_tid=0) at "
                "pthread_kill.c:44\n"
                "        tid = <optimized out>\n"
                "#1  0x00007ffff7e0a8a3 in __pthread_kill_internal (signo=6, threadid=<optimized out>) at "
                "pthread_kill.c:78\n"
                "#2  0x00007ffff7e0a8f0 in __GI___pthread_kill (threadid=<optimized out>, signo=6) at "
                "pthread_kill.c:89\n"
                "#3  0x00007ffff7db6f9e in __GI_raise (sig=6) at ../sysdeps/posix/raise.c:26\n"
                "#4  0x00007ffff7d9e942 in __GI_abort () at abort.c:79\n"
                "#5  0x00007ffff7d9e85e in __assert_fail_base (fmt=0x0, assertion=0x0, file=0x0, "
                "line=40, function=0x0) at assert.c:92\n"
                "#6  0x00007ffff7daf4b6 in __GI___assert_fail (assertion=0x0, file=0x0, line=40, "
                "function=0x0) at assert.c:101\n"
                "#7  0x0000555555555189 in check_gear (g=0x0) at gears.c:40\n"
                "#8  0x00005555555551a2 in turn (n=3) at gears.c:52\n"
                "#9  0x00005555555551a2 in turn (n=2) at gears.c:52\n"
                "#10 0x00005555555551c0 in main (argc=1, argv=0x7fffffffe5a8) at gears.c:60\n",
                "gearsThread\n  check_gear\n  turn\n  main\n", "85b1bf80c17514116437c95ea07ba098a2243824");
}

/* A frame without symbols counts as "??"; _start without a source is not removed (but is not among
 * the top three here). */
TEST(unknown_frame)
{
        check_thread(
                "hub",
                "Thread 1 (LWP 9):\n"
                "#0  0x00007ffff7fb3119 in ?? () from /lib64/libaxle.so.0\n"
                "#1  0x0000555555555149 in hub_run (h=0x5555) at hub.c:20\n"
                "#2  0x00007ffff7db0d90 in __libc_start_call_main (main=main@entry=0x0, argc=argc@entry=1, "
                "argv=argv@entry=0x0) at ../sysdeps/nptl/libc_start_call_main.h:58\n"
                "#3  0x00007ffff7db0e40 in __libc_start_main_impl (main=0x0, argc=1) at "
                "../csu/libc-start.c:392\n"
                "#4  0x0000555555555075 in _start ()\n",
                "hubThread\n  ??\n  hub_run\n  __libc_start_call_main\n",
                "0eaddab22db73deec9288c4c14418a73c0267945");
}

/* A call through a NULL pointer: the "0x0 in ??" frame on top goes. */
TEST(null_jump)
{
        check_thread("crashy",
                     "Thread 1 (LWP 3):\n"
                     "#0  0x0000000000000000 in ?? ()\n"
                     "#1  0x0000555555555149 in f () at x.c:1\n"
                     "#2  0x0000555555555159 in g () at x.c:2\n"
                     "#3  0x0000555555555169 in h () at x.c:3\n"
                     "#4  0x0000555555555179 in main () at x.c:4\n",
                     "crashyThread\n  f\n  g\n  h\n", "e7d6b053431fb3416a07b6fcb764a08d016a798a");
}

/* The signal handler frame is kept as gdb names it; glibc's per-CPU variant is the plain function. */
TEST(signal_handler)
{
        check_thread("crashy",
                     "Thread 1 (LWP 3):\n"
                     "#0  0x0000555555555149 in handler (sig=11) at s.c:5\n"
                     "#1  <signal handler called>\n"
                     "#2  0x00007ffff7f2a8bd in __strlen_sse2 () at "
                     "../sysdeps/x86_64/multiarch/strlen-sse2.S:31\n"
                     "#3  0x0000555555555189 in use (s=0x0) at s.c:9\n",
                     "crashyThread\n  handler\n  <signal handler called>\n  strlen\n",
                     "6c690e92b452732d1dc2ac1c89bdab2d8fa73af6");
}

/* The same bug through a different path to it above the top three frames: one bucket. */
TEST(same_bucket)
{
        _cleanup_(gdb_threads_done) GdbThreads a = {}, b = {};
        char ha[41], hb[41];

        ASSERT_OK(gdb_threads_parse("Thread 1 (LWP 3):\n"
                                    "#0  token_measure (t=0x0) at token.c:18\n"
                                    "#1  0x01 in token_next (s=0x1) at token.c:31\n"
                                    "#2  0x02 in parse (s=0x1) at parse.c:7\n"
                                    "#3  0x03 in main () at main.c:3\n",
                                    &a));
        ASSERT_OK(gdb_threads_parse("Thread 4 (LWP 7):\n"
                                    "#0  token_measure (t=0x0) at token.c:18\n"
                                    "#1  0x01 in token_next (s=0x9) at token.c:31\n"
                                    "#2  0x02 in parse (s=0x9) at parse.c:7\n"
                                    "#3  0x05 in worker () at worker.c:11\n"
                                    "#4  0x06 in start_thread (arg=0x0) at pthread_create.c:442\n",
                                    &b));
        ASSERT_OK(duphash_gdb_thread("tok", &a.threads[0], NULL, ha));
        ASSERT_OK(duphash_gdb_thread("tok", &b.threads[0], NULL, hb));
        ASSERT_STREQ(ha, hb);
        ASSERT_OK(duphash_gdb_thread("other", &b.threads[0], NULL, hb));
        ASSERT_FALSE(streq(ha, hb));
}

TEST(vmcore)
{
        _cleanup_free_ char *text = NULL;
        char hash[41];

        ASSERT_OK(duphash_vmcore_text("Kernel panic - not syncing: sysrq triggered crash",
                                      "PID: 1        TASK: ffff8f07011ee000  CPU: 0    COMMAND: \"init\"\n"
                                      " #0 [ffffd045000139e8] panic at ffffffffa1dcd0a8\n"
                                      " #1 [ffffd04500013a68] sysrq_handle_crash.cold at ffffffffa1aa8a06\n",
                                      &text));
        ASSERT_STREQ(text, "Kernel panic\nKernel panic - not syncing: sysrq triggered crash\n"
                           "  sysrq_handle_crash\n");
        ASSERT_OK(duphash_sha1(text, hash));
        ASSERT_STREQ(hash, "70e44459bde3213d212e4617ae9e7717592f306a");
        text = mfree(text);
        ASSERT_ERROR(duphash_vmcore_text(NULL, "no frames\n", &text), ENODATA);
}

TEST(component)
{
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        ASSERT_OK(duphash_component("coreutils-9.1-6.fc38.src.rpm", "coreutils-single-9.1-6.fc38", &a));
        ASSERT_STREQ(a, "coreutils");
        ASSERT_OK(duphash_component(NULL, "gnome-shell-1:44.2-1.fc38.x86_64", &b));
        ASSERT_STREQ(b, "gnome-shell");
        ASSERT_OK(duphash_component("", "hub-1.0-1", &c));
        ASSERT_STREQ(c, "hub");
        ASSERT_ERROR(duphash_component(NULL, NULL, &c), ENOENT);
}

/* Identical uploads: the content hash over a crash directory as daemon/README.md documents it (files
 * in name order: name, NUL, size as 8 bytes little-endian, content), expected value from
 * printf 'a\0\x01\0\0\0\0\0\0\0xb\0\0\0\0\0\0\0\0\0' | sha256sum */
TEST(content_hash)
{
        _cleanup_free_ char *d = strdup("/tmp/test-daemon-duphash.XXXXXX");
        _cleanup_close_ int fd = -EBADF;
        char hash[65];

        ASSERT_NOT_NULL(mkdtemp(d));
        fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(file_write_atomic_at(fd, "b", "", 0, 0644));
        ASSERT_OK(file_write_atomic_at(fd, "a", "x", 1, 0644));
        ASSERT_OK(task_dir_content_hash(fd, hash));
        ASSERT_STREQ(hash, "ec83637240ceaafb16aca0c8ad9b3f18a826061b82504648c7df65ef63e6eb06");
        ASSERT_OK(file_write_atomic_at(fd, "a", "y", 1, 0644));
        ASSERT_OK(task_dir_content_hash(fd, hash));
        ASSERT_FALSE(streq(hash, "ec83637240ceaafb16aca0c8ad9b3f18a826061b82504648c7df65ef63e6eb06"));
        ASSERT_OK(path_rm_rf(d));
}

DEFINE_TEST_MAIN(TEST_ENTRY(content_hash), TEST_ENTRY(assertion), TEST_ENTRY(unknown_frame),
                 TEST_ENTRY(null_jump), TEST_ENTRY(signal_handler), TEST_ENTRY(same_bucket),
                 TEST_ENTRY(vmcore), TEST_ENTRY(component))
