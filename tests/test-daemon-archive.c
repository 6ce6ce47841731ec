/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Upload archives: what is accepted, and every kind of bad archive refused with nothing left behind. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <lzma.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common-macro.h"
#include "common-path.h"
#include "daemon-archive.h"
#include "daemon-crashdata.h"
#include "tests.h"

enum { PLAIN, GZIP, XZ };

typedef struct Member {
        const char *name;
        mode_t type; /* AE_IFREG (default when 0), AE_IFLNK, AE_IFDIR, AE_IFCHR */
        const char *data;
        size_t size; /* bytes of data; when data is NULL, this many zero bytes */
        const char *link;
} Member;

/* Writes a tar archive with the given members into a memfd, compressed as asked. */
static int make_archive(int compression, const Member *members, size_t n)
{
        struct archive *a = archive_write_new();
        int fd = memfd_create("archive", MFD_CLOEXEC);
        static char zeros[65536];

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(archive_write_set_format_gnutar(a), ARCHIVE_OK);
        if (compression == GZIP)
                ASSERT_EQ(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        else if (compression == XZ)
                ASSERT_EQ(archive_write_add_filter_xz(a), ARCHIVE_OK);
        ASSERT_EQ(archive_write_open_fd(a, fd), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                mode_t type = members[i].type ? members[i].type : AE_IFREG;
                size_t size = members[i].data ? strlen(members[i].data) : members[i].size;

                archive_entry_set_pathname(e, members[i].name);
                archive_entry_set_filetype(e, type);
                archive_entry_set_perm(e, 0644);
                if (type == AE_IFLNK)
                        archive_entry_set_symlink(e, members[i].link);
                if (type == AE_IFREG && members[i].link)
                        archive_entry_set_hardlink(e, members[i].link);
                if (type == AE_IFREG && !members[i].link)
                        archive_entry_set_size(e, (la_int64_t) size);
                if (type == AE_IFCHR)
                        archive_entry_set_rdev(e, makedev(1, 3));
                ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
                if (type == AE_IFREG && !members[i].link) {
                        if (members[i].data)
                                ASSERT_EQ(archive_write_data(a, members[i].data, size), (la_ssize_t) size);
                        else
                                for (size_t done = 0; done < size;) {
                                        size_t k = MIN(sizeof(zeros), size - done);
                                        ASSERT_EQ(archive_write_data(a, zeros, k), (la_ssize_t) k);
                                        done += k;
                                }
                }
                archive_entry_free(e);
        }
        ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
        return fd;
}

static const Member good[] = {
        { .name = "coredump", .data = "\177ELF core" },
        { .name = "executable", .data = "/usr/bin/crashy" },
        { .name = "package", .data = "crashy-1.0-1.tos1" },
        { .name = "os_release", .data = "TestOS release 1 (Amber)\n" },
};

static const ArchiveLimits limits = { .max_unpacked = 1024 * 1024, .max_entries = 20 };

static char *make_dir(void)
{
        char *d = strdup("/tmp/test-daemon-archive.XXXXXX");
        ASSERT_NOT_NULL(mkdtemp(d));
        return d;
}

static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        int n = 0;

        ASSERT_NOT_NULL(d);
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

/* Unpacks and checks the result; on failure the directory must be empty again. */
static void expect(int compression, const Member *m, size_t n, const ArchiveLimits *l, int error,
                   const char *message_part)
{
        _cleanup_free_ char *dir = make_dir(), *message = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd = make_archive(compression, m, n);
        int r = archive_unpack_crash_data(fd, dfd, l, &message);

        if (error == 0) {
                ASSERT_OK(r);
                ASSERT_EQ(count_entries(dir), (int) n);
        } else {
                if (r != -error)
                        fprintf(stderr, "message: %s\n", strna(message));
                ASSERT_EQ(r, -error);
                ASSERT_NOT_NULL(message);
                if (message_part && !strstr(message, message_part))
                        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", message, message_part);
                ASSERT_TRUE(!message_part || strstr(message, message_part));
                ASSERT_EQ(count_entries(dir), 0);
        }
        ASSERT_OK(path_rm_rf(dir));
}

TEST(accepts_every_compression)
{
        expect(PLAIN, good, ELEMENTSOF(good), &limits, 0, NULL);
        expect(GZIP, good, ELEMENTSOF(good), &limits, 0, NULL);
        expect(XZ, good, ELEMENTSOF(good), &limits, 0, NULL);
}

TEST(content_is_written)
{
        _cleanup_free_ char *dir = make_dir();
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd = make_archive(XZ, good, ELEMENTSOF(good));
        char b[64] = { 0 };
        int f;

        ASSERT_OK(archive_unpack_crash_data(fd, dfd, &limits, NULL));
        f = openat(dfd, "package", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(f >= 0);
        ASSERT_TRUE(read(f, b, sizeof(b) - 1) > 0);
        close(f);
        ASSERT_STREQ(b, "crashy-1.0-1.tos1");
        ASSERT_TRUE(crash_files_find_missing(TASK_TYPE_RETRACE, dfd) == NULL);
        ASSERT_STREQ(crash_files_find_missing(TASK_TYPE_VMCORE, dfd), "vmcore");
        ASSERT_OK(path_rm_rf(dir));
}

TEST(malicious_members)
{
        const Member traversal[] = { good[0], { .name = "../coredump", .data = "x" } };
        const Member absolute[] = { good[0], { .name = "/etc/passwd", .data = "x" } };
        const Member subdir[] = { good[0], { .name = "dir/package", .data = "x" } };
        const Member dotslash[] = { { .name = "./coredump", .data = "x" } };
        const Member symlink[] = { good[0], { .name = "package", .type = AE_IFLNK, .link = "/etc/shadow" } };
        const Member hardlink[] = { good[0], { .name = "package", .link = "coredump" } };
        const Member device[] = { good[0], { .name = "package", .type = AE_IFCHR } };
        const Member directory[] = { { .name = "coredump", .type = AE_IFDIR } };
        const Member unknown[] = { good[0], { .name = "evil.sh", .data = "rm -rf /" } };
        const Member twice[] = { good[0], good[1], good[0] };

        expect(XZ, traversal, ELEMENTSOF(traversal), &limits, EPERM, "'..'");
        expect(XZ, absolute, ELEMENTSOF(absolute), &limits, EPERM, "absolute");
        expect(GZIP, subdir, ELEMENTSOF(subdir), &limits, EPERM, "top level");
        expect(PLAIN, dotslash, ELEMENTSOF(dotslash), &limits, EPERM, "top level");
        expect(XZ, symlink, ELEMENTSOF(symlink), &limits, EPERM, "not a regular file");
        expect(XZ, hardlink, ELEMENTSOF(hardlink), &limits, EPERM, "hard link");
        expect(XZ, device, ELEMENTSOF(device), &limits, EPERM, "not a regular file");
        expect(PLAIN, directory, ELEMENTSOF(directory), &limits, EPERM, "not a regular file");
        expect(XZ, unknown, ELEMENTSOF(unknown), &limits, EPERM, "evil.sh");
        expect(XZ, twice, ELEMENTSOF(twice), &limits, EPERM, "twice");
}

TEST(size_limits)
{
        const Member big_package[] = { good[0], { .name = "package", .size = 129 } };
        const Member exact_package[] = { good[0], { .name = "package", .size = 128 } };
        /* 8 MiB of zeros compress to a few KiB: the limit must hold on unpacked bytes. */
        const Member bomb[] = { { .name = "coredump", .size = 8 * 1024 * 1024 } };
        const ArchiveLimits two_entries = { .max_unpacked = 1024 * 1024, .max_entries = 2 };

        expect(XZ, big_package, ELEMENTSOF(big_package), &limits, EFBIG,
               "'package' is larger than its limit of 128");
        expect(XZ, exact_package, ELEMENTSOF(exact_package), &limits, 0, NULL);
        expect(XZ, bomb, ELEMENTSOF(bomb), &limits, EFBIG, "more than the limit of 1048576 bytes");
        expect(GZIP, good, ELEMENTSOF(good), &two_entries, E2BIG, "more than 2 members");
}

TEST(damaged_archives)
{
        _cleanup_free_ char *dir = make_dir(), *message = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const Member one[] = { { .name = "coredump", .size = 300000 } };
        int fd, r;
        struct stat st;

        /* Truncated: the first half of an xz-compressed tar. */
        fd = make_archive(XZ, one, ELEMENTSOF(one));
        ASSERT_OK(fstat(fd, &st));
        ASSERT_OK(ftruncate(fd, st.st_size / 2));
        r = archive_unpack_crash_data(fd, dfd, &limits, &message);
        ASSERT_EQ(r, -EBADMSG);
        ASSERT_EQ(count_entries(dir), 0);
        close(fd);
        message = mfree(message);

        /* Not an archive at all. */
        fd = memfd_create("garbage", MFD_CLOEXEC);
        ASSERT_EQ(write(fd, "this is not a tar archive, just some text that goes on and on\n", 63), 63);
        ASSERT_OK(lseek(fd, 0, SEEK_SET));
        r = archive_unpack_crash_data(fd, dfd, &limits, &message);
        ASSERT_EQ(r, -EBADMSG);
        close(fd);
        message = mfree(message);

        /* Empty upload. */
        fd = memfd_create("empty", MFD_CLOEXEC);
        r = archive_unpack_crash_data(fd, dfd, &limits, &message);
        ASSERT_EQ(r, -EBADMSG);
        close(fd);
        ASSERT_OK(path_rm_rf(dir));
}

/* Rewrites the LZMA2 dictionary size in the first block header of an xz file (and the header's CRC32):
 * a stream that claims a dictionary of that size while its data need only a small one. */
static void xz_claim_dictionary(int fd, uint8_t props)
{
        uint8_t h[1024];
        size_t size, i;
        uint32_t crc;

        ASSERT_TRUE(pread(fd, h, sizeof(h), 0) > 64);
        size = ((size_t) h[12] + 1) * 4; /* the block header, after the 12-byte stream header */
        i = 14;
        if (h[13] & 0x40) /* compressed size present: a varint */
                while (h[i++] & 0x80)
                        ;
        if (h[13] & 0x80) /* uncompressed size present */
                while (h[i++] & 0x80)
                        ;
        ASSERT_EQ(h[i], 0x21); /* LZMA2 */
        ASSERT_EQ(h[i + 1], 1);
        h[i + 2] = props;
        crc = lzma_crc32(h + 12, size - 4, 0);
        for (int k = 0; k < 4; k++)
                h[12 + size - 4 + k] = (uint8_t) (crc >> (8 * k));
        ASSERT_EQ(pwrite(fd, h, 12 + size, 0), (ssize_t) (12 + size));
}

TEST(xz_decoder_memory)
{
        const ArchiveLimits capped = { .max_unpacked = 1024 * 1024,
                                       .max_entries = 20,
                                       .max_decoder_memory = 16 << 20 };
        _cleanup_free_ char *dir = make_dir(), *message = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd, r;

        /* The same data with a small and a 1 GiB dictionary (props 36 = 2 << 29 bytes). */
        fd = make_archive(XZ, good, ELEMENTSOF(good));
        r = archive_unpack_crash_data(fd, dfd, &capped, &message);
        ASSERT_OK(r);
        ASSERT_EQ(count_entries(dir), (int) ELEMENTSOF(good));
        ASSERT_OK(path_rm_rf(dir));
        ASSERT_OK(mkdir(dir, 0700));
        close(dfd);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        xz_claim_dictionary(fd, 36);
        ASSERT_OK(lseek(fd, 0, SEEK_SET));
        r = archive_unpack_crash_data(fd, dfd, &capped, &message);
        ASSERT_EQ(r, -EFBIG);
        ASSERT_NOT_NULL(message);
        ASSERT_TRUE(strstr(message, "MaxDecompressMemory") != NULL);
        ASSERT_TRUE(strstr(message, "limit of 16 MiB") != NULL);
        ASSERT_EQ(count_entries(dir), 0);
        close(fd);
        ASSERT_OK(path_rm_rf(dir));
}

TEST(xz_only_outside)
{
        /* An xz stream inside an xz stream (or inside gzip) is no tar archive: libarchive's own xz
         * reader, which has no memory limit, is never used. */
        _cleanup_free_ char *dir = make_dir(), *message = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int inner = make_archive(XZ, good, ELEMENTSOF(good));
        struct archive *a = archive_write_new();
        struct archive_entry *e;
        int fd = memfd_create("outer", MFD_CLOEXEC);
        char buf[65536];
        ssize_t n;

        ASSERT_EQ(archive_write_set_format_raw(a), ARCHIVE_OK);
        ASSERT_EQ(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        ASSERT_EQ(archive_write_open_fd(a, fd), ARCHIVE_OK);
        e = archive_entry_new();
        archive_entry_set_pathname(e, "x");
        archive_entry_set_filetype(e, AE_IFREG);
        ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
        while ((n = read(inner, buf, sizeof(buf))) > 0)
                ASSERT_EQ(archive_write_data(a, buf, (size_t) n), n);
        archive_entry_free(e);
        ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        ASSERT_OK(lseek(fd, 0, SEEK_SET));
        ASSERT_EQ(archive_unpack_crash_data(fd, dfd, &limits, &message), -EBADMSG);
        ASSERT_EQ(count_entries(dir), 0);
        close(fd);
        ASSERT_OK(path_rm_rf(dir));
}

TEST(disk_budget)
{
        UnpackBudget budget = UNPACK_BUDGET_INIT;
        ArchiveLimits l = limits;
        const Member big[] = { { .name = "coredump", .size = 512 * 1024 } };

        l.budget = &budget;
        /* Nothing may be left free below: every reservation fails, nothing stays behind. */
        l.min_free = UINT64_MAX / 2;
        expect(XZ, big, ELEMENTSOF(big), &l, ENOSPC, "low on disk space");
        ASSERT_EQ(unpack_budget_outstanding(&budget), 0);
        /* No floor: the reservations are granted and all released again. */
        l.min_free = 0;
        expect(GZIP, big, ELEMENTSOF(big), &l, 0, NULL);
        ASSERT_EQ(unpack_budget_outstanding(&budget), 0);
        /* Another unpack's outstanding reservation counts against this one. */
        budget.outstanding = UINT64_MAX / 2;
        expect(PLAIN, big, ELEMENTSOF(big), &l, ENOSPC, "shared with other uploads");
        ASSERT_EQ(unpack_budget_outstanding(&budget), UINT64_MAX / 2);
}

TEST(crash_files_by_type)
{
        _cleanup_free_ char *dir = make_dir();
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char *why;

        ASSERT_NULL(crash_files_find_foreign(TASK_TYPE_RETRACE, dfd));
        close(openat(dfd, "coredump", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        ASSERT_NULL(crash_files_find_foreign(TASK_TYPE_RETRACE, dfd));
        ASSERT_STREQ(crash_files_find_foreign(TASK_TYPE_VMCORE, dfd), "coredump");
        close(openat(dfd, "vmcore.vmss", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        ASSERT_STREQ(crash_files_find_foreign(TASK_TYPE_DEBUG, dfd), "vmcore.vmss");
        ASSERT_STREQ(crash_files_find_foreign(TASK_TYPE_RETRACE_INTERACTIVE, dfd), "vmcore.vmss");
        ASSERT_OK(unlinkat(dfd, "coredump", 0));
        ASSERT_NULL(crash_files_find_foreign(TASK_TYPE_VMCORE_INTERACTIVE, dfd));
        ASSERT_OK(path_rm_rf(dir));

#define CHECK_EXE(s, ok) ASSERT_EQ(crash_executable_check(s, strlen(s), &why), (ok) ? 0 : -EINVAL)
        CHECK_EXE("/usr/bin/crashy", true);
        CHECK_EXE("/usr/bin/crashy\n", true);
        CHECK_EXE(" /bin/sh ", true);
        CHECK_EXE("/usr/libexec/tmp/x", true);
        CHECK_EXE("/crashy", true);
        CHECK_EXE("", false);
        CHECK_EXE("\n", false);
        CHECK_EXE("usr/bin/crashy", false);
        CHECK_EXE("/crash/vmcore", false);
        CHECK_EXE("/crash/coredump", false);
        CHECK_EXE("/crash", false);
        CHECK_EXE("/vmlinux", false);
        CHECK_EXE("/proc/self/exe", false);
        CHECK_EXE("/tmp/x", false);
        CHECK_EXE("/usr/bin/../../crash/vmcore", false);
        CHECK_EXE("/usr/./bin/x", false);
        CHECK_EXE("//crash/vmcore", false);
        CHECK_EXE("/usr/bin/", false);
        CHECK_EXE("/usr/bin/a\tb", false);
        ASSERT_EQ(crash_executable_check("/usr/bin/x\0/crash", 18, &why), -EINVAL);
#undef CHECK_EXE
        ASSERT_NOT_NULL(why);
}

TEST(executable_in_root)
{
        _cleanup_free_ char *dir = make_dir();
        _cleanup_close_ int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        const char *why;
        int dfd;

        /* A root as assembled: /usr/bin/crashy, /bin → usr/bin, and links that try to lead elsewhere. */
        ASSERT_OK(mkdirat(root, "usr", 0755));
        ASSERT_OK(mkdirat(root, "usr/bin", 0755));
        ASSERT_OK(mkdirat(root, "usr/bin/subdir", 0755));
        ASSERT_OK(mkdirat(root, "crash", 0755)); /* as if the sandbox's mount point were in the root */
        dfd = openat(root, "usr/bin/crashy", O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
        ASSERT_TRUE(dfd >= 0);
        close(dfd);
        dfd = openat(root, "crash/coredump", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        ASSERT_TRUE(dfd >= 0);
        close(dfd);
        ASSERT_OK(symlinkat("usr/bin", root, "bin"));
        ASSERT_OK(symlinkat("/usr/bin/crashy", root, "usr/bin/absolute"));
        ASSERT_OK(symlinkat("../../../../../../etc/passwd", root, "usr/bin/escape"));
        ASSERT_OK(symlinkat("/crash/coredump", root, "usr/bin/tocrash"));
        ASSERT_OK(symlinkat("/proc/self/exe", root, "usr/bin/toproc"));

        ASSERT_OK(crash_executable_resolve(root, "/usr/bin/crashy", &why));
        ASSERT_OK(crash_executable_resolve(root, "/bin/crashy", &why));
        ASSERT_OK(crash_executable_resolve(root, "/usr/bin/absolute", &why));
        ASSERT_EQ(crash_executable_resolve(root, "/usr/bin/missing", &why), -ENOENT);
        ASSERT_EQ(crash_executable_resolve(root, "/opt/x/y", &why), -ENOENT);
        /* ../ beyond the root stays in it: /etc/passwd of the root, which does not exist. */
        ASSERT_EQ(crash_executable_resolve(root, "/usr/bin/escape", &why), -ELOOP);
        ASSERT_NOT_NULL(why);
        ASSERT_EQ(crash_executable_resolve(root, "/bin/missing", &why), -ELOOP);
        ASSERT_EQ(crash_executable_resolve(root, "/usr/bin/tocrash", &why), -EINVAL);
        ASSERT_TRUE(strstr(why, "sandbox") != NULL);
        ASSERT_TRUE(crash_executable_resolve(root, "/usr/bin/toproc", &why) < 0);
        ASSERT_EQ(crash_executable_resolve(root, "/usr/bin/subdir", &why), -EINVAL);
        ASSERT_TRUE(strstr(why, "regular file") != NULL);
        ASSERT_EQ(crash_executable_resolve(root, "/crash/coredump", &why), -EINVAL);
        ASSERT_EQ(crash_executable_resolve(root, "/usr/bin/../../crash/coredump", &why), -EINVAL);
        ASSERT_OK(path_rm_rf(dir));
}

TEST(task_types)
{
        ASSERT_EQ(task_type_from_string("0"), TASK_TYPE_RETRACE);
        ASSERT_EQ(task_type_from_string("4"), TASK_TYPE_VMCORE_INTERACTIVE);
        ASSERT_EQ(task_type_from_string("5"), _TASK_TYPE_INVALID);
        ASSERT_EQ(task_type_from_string("01"), _TASK_TYPE_INVALID);
        ASSERT_STREQ(task_type_to_string(TASK_TYPE_VMCORE), "2");
        ASSERT_TRUE(task_type_is_vmcore(TASK_TYPE_VMCORE_INTERACTIVE));
        ASSERT_FALSE(task_type_is_vmcore(TASK_TYPE_DEBUG));
        ASSERT_TRUE(task_type_is_interactive(TASK_TYPE_RETRACE_INTERACTIVE));
        ASSERT_TRUE(crash_file_lookup("vmcore.vmss") != NULL);
        ASSERT_NULL(crash_file_lookup("vmcore.img"));
        ASSERT_EQ(crash_file_lookup("os_info")->max_size, 8192);
}

DEFINE_TEST_MAIN(TEST_ENTRY(accepts_every_compression), TEST_ENTRY(content_is_written),
                 TEST_ENTRY(malicious_members), TEST_ENTRY(size_limits), TEST_ENTRY(damaged_archives),
                 TEST_ENTRY(task_types), TEST_ENTRY(xz_decoder_memory), TEST_ENTRY(xz_only_outside),
                 TEST_ENTRY(disk_budget), TEST_ENTRY(crash_files_by_type), TEST_ENTRY(executable_in_root))
