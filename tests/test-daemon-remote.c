/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Remote tasks' pure parts and their file system rules: the request (schemes, DropDir paths,
 * digests) and its file, opening below DropDir (nothing outside it, however reached), and the unpack
 * of fetched data (single streams and tar archives, plain or gzip, xz, zstd). */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-file.h"
#include "common-macro.h"
#include "common-path.h"
#include "daemon-archive.h"
#include "daemon-remote.h"
#include "tests.h"

static int parse(const char *source, const char *digest, RemoteRequest *ret)
{
        _cleanup_free_ char *message = NULL;
        int r = remote_request_parse(source, digest, ret, &message);

        if (r < 0)
                ASSERT_NOT_NULL(message);
        return r;
}

TEST(request_parse)
{
        RemoteRequest r = {};
        _cleanup_free_ char *text = NULL;

        ASSERT_OK(parse("https://files.example.org/case/vmcore.xz", NULL, &r));
        ASSERT_FALSE(r.drop);
        ASSERT_EQ(r.digest_kind, REMOTE_DIGEST_NONE);
        remote_request_done(&r);
        ASSERT_OK(parse("HTTP://files.example.org/x", NULL, &r));
        remote_request_done(&r);
        ASSERT_OK(
                parse("ftp://user:secret@files.example.org/x", "md5:0123456789ABCDEF0123456789abcdef", &r));
        ASSERT_EQ(r.digest_kind, REMOTE_DIGEST_MD5);
        ASSERT_STREQ(r.digest, "0123456789abcdef0123456789abcdef");
        {
                _cleanup_free_ char *shown = remote_source_redacted(&r);
                ASSERT_NOT_NULL(shown);
                ASSERT_NULL(strstr(shown, "secret"));
        }
        ASSERT_OK(remote_request_format(&r, &text));
        remote_request_done(&r);
        ASSERT_OK(remote_request_from_text(text, &r));
        ASSERT_STREQ(r.source, "ftp://user:secret@files.example.org/x");
        ASSERT_EQ(r.digest_kind, REMOTE_DIGEST_MD5);
        remote_request_done(&r);
        ASSERT_OK(parse("case-1/vmcore.xz",
                        "0000000000000000000000000000000000000000000000000000000000000000", &r));
        ASSERT_TRUE(r.drop);
        ASSERT_EQ(r.digest_kind, REMOTE_DIGEST_SHA256);
        remote_request_done(&r);

        /* Other schemes, no host, spaces, control characters. */
        ASSERT_ERROR(parse("file:///etc/passwd", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("gopher://h/x", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("dict://h/x", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("http://", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("http://h/a b", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("http://h/a\nb", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("", NULL, &r), EINVAL);
        ASSERT_ERROR(parse(NULL, NULL, &r), EINVAL);
        /* DropDir paths: relative, no "..", no empty component. */
        ASSERT_ERROR(parse("/etc/passwd", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("../x", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("a/../../x", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("a/..", NULL, &r), EINVAL);
        ASSERT_ERROR(parse("a//b", NULL, &r), EINVAL);
        /* Digests. */
        ASSERT_ERROR(parse("x", "sha1:0000000000000000000000000000000000000000", &r), EINVAL);
        ASSERT_ERROR(parse("x", "md5:00", &r), EINVAL);
        ASSERT_ERROR(
                parse("x", "sha256:zz00000000000000000000000000000000000000000000000000000000000000", &r),
                EINVAL);
        {
                char long_url[REMOTE_SOURCE_MAX + 16];

                memset(long_url, 'a', sizeof(long_url) - 1);
                long_url[sizeof(long_url) - 1] = 0;
                memcpy(long_url, "http://h/", 9);
                ASSERT_ERROR(parse(long_url, NULL, &r), EINVAL);
        }
}

TEST(drop_open)
{
        _cleanup_free_ char *base = strdup("/tmp/test-daemon-remote.XXXXXX"), *drop = NULL, *outside = NULL,
                            *p = NULL;
        int fd = -EBADF, r;

        ASSERT_NOT_NULL(mkdtemp(base));
        drop = path_join(base, "drop");
        outside = path_join(base, "outside");
        ASSERT_OK(mkdir(drop, 0755) < 0 ? -errno : 0);
        ASSERT_OK(mkdir(outside, 0755) < 0 ? -errno : 0);
        {
                _cleanup_close_ int dfd = open(drop, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int ofd = open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                ASSERT_OK(file_write_atomic_at(dfd, "dump", "data", 4, 0644));
                ASSERT_OK(file_write_atomic_at(ofd, "secret", "secret", 6, 0644));
                ASSERT_OK(mkdirat(dfd, "case", 0755) < 0 ? -errno : 0);
                ASSERT_OK(symlinkat("../dump", dfd, "case/link") < 0 ? -errno : 0);
                ASSERT_OK(symlinkat("../outside/secret", dfd, "rel-out") < 0 ? -errno : 0);
                ASSERT_OK(symlinkat("../../outside/secret", dfd, "case/rel-out") < 0 ? -errno : 0);
                ASSERT_OK(asprintf(&p, "%s/secret", outside) < 0 ? -ENOMEM : 0);
                ASSERT_OK(symlinkat(p, dfd, "abs-out") < 0 ? -errno : 0);
                ASSERT_OK(symlinkat(outside, dfd, "dir-out") < 0 ? -errno : 0);
                ASSERT_OK(symlinkat("/proc/self/root/etc/passwd", dfd, "proc-out") < 0 ? -errno : 0);
                ASSERT_OK(mkfifoat(dfd, "fifo", 0644) < 0 ? -errno : 0);
        }

        r = remote_drop_open(drop, "dump", &fd);
        if (r == -EOPNOTSUPP)
                test_skip("the kernel lacks openat2()");
        ASSERT_OK(r);
        fd = safe_close(fd);
        /* A symlink inside DropDir is followed. */
        ASSERT_OK(remote_drop_open(drop, "case/link", &fd));
        fd = safe_close(fd);
        /* Nothing outside it. */
        ASSERT_ERROR(remote_drop_open(drop, "rel-out", &fd), EXDEV);
        ASSERT_ERROR(remote_drop_open(drop, "case/rel-out", &fd), EXDEV);
        ASSERT_ERROR(remote_drop_open(drop, "abs-out", &fd), EXDEV);
        ASSERT_ERROR(remote_drop_open(drop, "dir-out/secret", &fd), EXDEV);
        ASSERT_ERROR(remote_drop_open(drop, "proc-out", &fd), EXDEV);
        ASSERT_ERROR(remote_drop_open(drop, "../outside/secret", &fd), EXDEV);
        ASSERT_ERROR(remote_drop_open(drop, p, &fd), EXDEV);
        /* Only regular files. */
        ASSERT_ERROR(remote_drop_open(drop, "case", &fd), EISDIR);
        ASSERT_ERROR(remote_drop_open(drop, "fifo", &fd), EPERM);
        ASSERT_ERROR(remote_drop_open(drop, "missing", &fd), ENOENT);
        ASSERT_ERROR(remote_drop_open(NULL, "dump", &fd), ENOENT);
        ASSERT_OK(path_rm_rf(base));
}

enum { PLAIN, GZIP, XZ, ZSTD };

/* One stream (raw) or a tar of the crash files, compressed. */
static int make_data(int compression, bool tar, const char *data)
{
        static const char *const files[][2] = {
                { "coredump", "\177ELF core" },
                { "executable", "/usr/bin/crashy" },
                { "package", "crashy-1.0-1" },
        };
        struct archive *a = archive_write_new();
        int fd = memfd_create("data", MFD_CLOEXEC);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(tar ? archive_write_set_format_gnutar(a) : archive_write_set_format_raw(a), ARCHIVE_OK);
        if (compression == GZIP)
                ASSERT_EQ(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        else if (compression == XZ)
                ASSERT_EQ(archive_write_add_filter_xz(a), ARCHIVE_OK);
        else if (compression == ZSTD)
                ASSERT_EQ(archive_write_add_filter_zstd(a), ARCHIVE_OK);
        ASSERT_EQ(archive_write_open_fd(a, fd), ARCHIVE_OK);
        for (size_t i = 0; i < (tar ? ELEMENTSOF(files) : 1); i++) {
                struct archive_entry *e = archive_entry_new();
                const char *content = tar ? files[i][1] : data;

                archive_entry_set_pathname(e, tar ? files[i][0] : "data");
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, (la_int64_t) strlen(content));
                ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
                ASSERT_EQ(archive_write_data(a, content, strlen(content)), (la_ssize_t) strlen(content));
                archive_entry_free(e);
        }
        ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
        return fd;
}

static int progress_calls;

static int count_progress(void *userdata, uint64_t done, uint64_t total)
{
        ASSERT_TRUE(done <= total);
        progress_calls++;
        return 0;
}

TEST(unpack_remote)
{
        static const char dump[] = "KDUMP a vmcore's bytes";
        ArchiveLimits limits = { .max_unpacked = 1 << 20, .max_entries = 20, .progress = count_progress };

        for (int c = PLAIN; c <= ZSTD; c++) {
                _cleanup_free_ char *dir = strdup("/tmp/test-daemon-remote.XXXXXX"), *text = NULL,
                                    *message = NULL;
                _cleanup_close_ int dfd = -EBADF, fd = -EBADF;

                ASSERT_NOT_NULL(mkdtemp(dir));
                dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                /* A single stream becomes the named crash file. */
                fd = make_data(c, false, dump);
                progress_calls = 0;
                ASSERT_OK(archive_unpack_remote(fd, dfd, &limits, "vmcore", &message));
                ASSERT_TRUE(progress_calls > 0);
                ASSERT_OK(file_read_at(dfd, "vmcore", 1024, &text, NULL));
                ASSERT_STREQ(text, dump);
                ASSERT_OK(unlinkat(dfd, "vmcore", 0) < 0 ? -errno : 0);
                /* Where only archives are accepted, it is refused. */
                ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
                ASSERT_ERROR(archive_unpack_remote(fd, dfd, &limits, NULL, &message), EBADMSG);
                fd = safe_close(fd);
                /* A tar archive is unpacked with the upload rules. */
                fd = make_data(c, true, NULL);
                ASSERT_OK(archive_unpack_remote(fd, dfd, &limits, "vmcore", NULL));
                ASSERT_TRUE(faccessat(dfd, "coredump", F_OK, 0) == 0);
                ASSERT_TRUE(faccessat(dfd, "vmcore", F_OK, 0) < 0);
                /* Uploads accept no zstd. */
                if (c == ZSTD) {
                        ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
                        free(message);
                        message = NULL;
                        ASSERT_TRUE(archive_unpack_crash_data(fd, dfd, &limits, &message) < 0);
                }
                ASSERT_OK(path_rm_rf(dir));
        }
        /* The unpacked limit holds for single streams. */
        {
                _cleanup_free_ char *dir = strdup("/tmp/test-daemon-remote.XXXXXX"), *message = NULL;
                _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
                ArchiveLimits small = { .max_unpacked = 4, .max_entries = 20 };

                ASSERT_NOT_NULL(mkdtemp(dir));
                dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                fd = make_data(XZ, false, dump);
                ASSERT_ERROR(archive_unpack_remote(fd, dfd, &small, "vmcore", &message), EFBIG);
                ASSERT_TRUE(faccessat(dfd, "vmcore", F_OK, 0) < 0);
                ASSERT_OK(path_rm_rf(dir));
        }
}

TEST(progress_text)
{
        _cleanup_free_ char *a = NULL, *b = NULL;

        ASSERT_OK(remote_progress_text(
                &(RemoteProgress){ .phase = "download", .done = 3 << 20, .total = 12 << 20 }, &a));
        ASSERT_STREQ(a, "3.0 MiB of 12.0 MiB (25%)");
        ASSERT_OK(remote_progress_text(&(RemoteProgress){ .phase = "download", .done = 5ULL << 30 }, &b));
        ASSERT_STREQ(b, "5.0 GiB");
}

DEFINE_TEST_MAIN(TEST_ENTRY(request_parse), TEST_ENTRY(drop_open), TEST_ENTRY(unpack_remote),
                 TEST_ENTRY(progress_text))
