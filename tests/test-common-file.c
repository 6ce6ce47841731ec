/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-file.h"
#include "common-macro.h"
#include "common-path.h"
#include "tests.h"

static char *make_tmpdir(void)
{
        char *d = strdup("/tmp/test-common-file.XXXXXX");

        ASSERT_NOT_NULL(d);
        ASSERT_NOT_NULL(mkdtemp(d));
        return d;
}

TEST(path_join)
{
        _cleanup_free_ char *a = path_join("/var/lib/", "/tasks"), *b = path_join("x", "y");

        ASSERT_STREQ(a, "/var/lib/tasks");
        ASSERT_STREQ(b, "x/y");
}

TEST(path_resolve_link)
{
        static const char *const cases[][3] = {
                { "/usr/lib/debug/.build-id/3b/43fa.debug", "../../../../boot/vmlinux-6.1",
                  "/usr/boot/vmlinux-6.1" },
                { "/usr/lib/debug/.build-id/3b/43fa.debug", "../../lib/modules/6.1/vmlinux",
                  "/usr/lib/debug/lib/modules/6.1/vmlinux" },
                { "/usr/lib/libfoo.so", "libfoo.so.1", "/usr/lib/libfoo.so.1" },
                { "/usr/lib/libfoo.so", "/opt/./x//y/", "/opt/x/y" },
                { "/a/b", "../../../../..", "/" },
                { "/a", ".", "/" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *r = path_resolve_link(cases[i][0], cases[i][1]);

                ASSERT_STREQ(r, cases[i][2]);
                ASSERT_TRUE(path_is_normalized_absolute(r));
        }
}

TEST(path_simplify)
{
        char *p = NULL;

        ASSERT_OK(path_simplify("/a//b/./c/../d/", true, &p));
        ASSERT_STREQ(p, "/a/b/d");
        p = mfree(p);
        ASSERT_OK(path_simplify("/a/../../b", false, &p)); /* clamped at the root */
        ASSERT_STREQ(p, "/b");
        p = mfree(p);
        ASSERT_ERROR(path_simplify("/a/../../b", true, &p), EINVAL);
        ASSERT_ERROR(path_simplify("a/b", false, &p), EINVAL);
        ASSERT_OK(path_simplify("/..", false, &p));
        ASSERT_STREQ(p, "/");
        free(p);
}

TEST(path_checks)
{
        ASSERT_TRUE(path_is_filename("coredump"));
        ASSERT_FALSE(path_is_filename(".."));
        ASSERT_FALSE(path_is_filename("."));
        ASSERT_FALSE(path_is_filename("a/b"));
        ASSERT_FALSE(path_is_filename(""));
        ASSERT_TRUE(path_is_normalized_absolute("/usr/bin/gdb"));
        ASSERT_TRUE(path_is_normalized_absolute("/"));
        ASSERT_FALSE(path_is_normalized_absolute("usr/bin"));
        ASSERT_FALSE(path_is_normalized_absolute("/usr//bin"));
        ASSERT_FALSE(path_is_normalized_absolute("/usr/../etc"));
        ASSERT_FALSE(path_is_normalized_absolute("/usr/bin/"));
        ASSERT_FALSE(path_is_normalized_absolute("/./x"));
}

TEST(write_read_atomic)
{
        _cleanup_free_ char *dir = make_tmpdir(), *buf = NULL, *line = NULL;
        _cleanup_close_ int dfd = -EBADF;
        size_t len;
        struct stat st;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);
        ASSERT_OK(file_write_atomic_at(dfd, "f", "hello\nworld\n", 12, 0640));
        ASSERT_OK(fstatat(dfd, "f", &st, 0));
        ASSERT_EQ(st.st_mode & 07777, 0640);
        ASSERT_OK(file_read_at(dfd, "f", 100, &buf, &len));
        ASSERT_EQ(len, 12);
        ASSERT_STREQ(buf, "hello\nworld\n");
        ASSERT_OK(file_read_line_at(dfd, "f", 100, &line));
        ASSERT_STREQ(line, "hello");
        free(buf);
        buf = NULL;
        /* The limit is enforced: one byte over fails, exactly the limit succeeds. */
        ASSERT_ERROR(file_read_at(dfd, "f", 11, &buf, &len), EFBIG);
        ASSERT_OK(file_read_at(dfd, "f", 12, &buf, &len));
        ASSERT_OK(path_rm_rf(dir));
        ASSERT_TRUE(access(dir, F_OK) < 0 && errno == ENOENT);
}

TEST(read_refuses_symlink_and_dir)
{
        _cleanup_free_ char *dir = make_tmpdir(), *buf = NULL;
        _cleanup_close_ int dfd = -EBADF;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dfd >= 0);
        ASSERT_OK(symlinkat("/etc/passwd", dfd, "link"));
        ASSERT_ERROR(file_read_at(dfd, "link", 1 << 20, &buf, NULL), ELOOP);
        ASSERT_OK(mkdirat(dfd, "sub", 0755));
        ASSERT_ERROR(file_read_at(dfd, "sub", 1 << 20, &buf, NULL), EBADFD);
        ASSERT_OK(path_rm_rf(dir));
}

TEST(fd_read_full_pipe)
{
        int p[2];
        _cleanup_free_ char *buf = NULL;
        size_t len;
        char big[20000];

        /* A pipe has no size to check up front: the limit must hold while reading. */
        memset(big, 'x', sizeof(big));
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ASSERT_OK(fd_write_all(p[1], big, 10000));
        (void) close(p[1]);
        ASSERT_ERROR(fd_read_full(p[0], 9999, &buf, &len), EFBIG);
        (void) close(p[0]);

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ASSERT_OK(fd_write_all(p[1], big, 10000));
        (void) close(p[1]);
        ASSERT_OK(fd_read_full(p[0], 10000, &buf, &len));
        ASSERT_EQ(len, 10000);
        ASSERT_EQ(strlen(buf), 10000);
        (void) close(p[0]);
}

TEST(mkdir_p_and_rm_rf_readonly)
{
        _cleanup_free_ char *dir = make_tmpdir(), *deep = NULL, *ro = NULL;

        deep = path_join(dir, "a/b/c");
        ASSERT_OK(path_mkdir_p(deep, 0755));
        ASSERT_OK(path_mkdir_p(deep, 0755));
        ro = path_join(dir, "a/b");
        ASSERT_OK(chmod(ro, 0555));
        ASSERT_OK(path_rm_rf(dir));
        ASSERT_TRUE(access(dir, F_OK) < 0);
        ASSERT_OK(path_rm_rf(dir));
}

DEFINE_TEST_MAIN(TEST_ENTRY(path_join), TEST_ENTRY(path_resolve_link), TEST_ENTRY(path_simplify),
                 TEST_ENTRY(path_checks), TEST_ENTRY(write_read_atomic),
                 TEST_ENTRY(read_refuses_symlink_and_dir), TEST_ENTRY(fd_read_full_pipe),
                 TEST_ENTRY(mkdir_p_and_rm_rf_readonly))
