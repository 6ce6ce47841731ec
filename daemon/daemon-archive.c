/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "daemon-crashdata.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, archive_read_free);

#define UNPACK_READ_SIZE (64 * 1024)

UnpackBudget unpack_budget_shared = UNPACK_BUDGET_INIT;

uint64_t unpack_budget_outstanding(UnpackBudget *b)
{
        uint64_t n;

        pthread_mutex_lock(&b->lock);
        n = b->outstanding;
        pthread_mutex_unlock(&b->lock);
        return n;
}

int unpack_budget_reserve(UnpackBudget *b, int dirfd, uint64_t min_free, uint64_t len, uint64_t *ret_free)
{
        struct statvfs sv;
        uint64_t free_bytes;
        int r = 0;

        pthread_mutex_lock(&b->lock);
        if (fstatvfs(dirfd, &sv) < 0)
                r = -errno;
        else {
                free_bytes = (uint64_t) sv.f_bavail * (uint64_t) sv.f_frsize;
                *ret_free = free_bytes;
                if (free_bytes < b->outstanding || free_bytes - b->outstanding < len ||
                    free_bytes - b->outstanding - len < min_free)
                        r = -ENOSPC;
                else
                        b->outstanding += len;
        }
        pthread_mutex_unlock(&b->lock);
        return r;
}

void unpack_budget_release(UnpackBudget *b, uint64_t len)
{
        pthread_mutex_lock(&b->lock);
        b->outstanding -= MIN(len, b->outstanding);
        pthread_mutex_unlock(&b->lock);
}

/* An xz upload, decoded here with liblzma under a memory limit and handed to libarchive as a plain
 * stream. */
typedef struct XzSource {
        int fd;
        lzma_stream strm;
        bool input_done;
        bool stream_end;
        uint64_t memlimit;
        uint64_t needed; /* the decoder's memory need, when memlimit stopped it */
        int error;
        uint8_t in[UNPACK_READ_SIZE];
        uint8_t out[UNPACK_READ_SIZE];
} XzSource;

static la_ssize_t xz_source_read(struct archive *a, void *userdata, const void **ret_buf)
{
        XzSource *x = userdata;

        *ret_buf = x->out;
        while (!x->stream_end) {
                lzma_ret ret;
                size_t produced;

                if (x->strm.avail_in == 0 && !x->input_done) {
                        ssize_t n = read(x->fd, x->in, sizeof(x->in));

                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                x->error = -errno;
                                archive_set_error(a, errno, "Cannot read the upload");
                                return -1;
                        }
                        x->strm.next_in = x->in;
                        x->strm.avail_in = (size_t) n;
                        x->input_done = n == 0;
                }
                x->strm.next_out = x->out;
                x->strm.avail_out = sizeof(x->out);
                ret = lzma_code(&x->strm, x->input_done ? LZMA_FINISH : LZMA_RUN);
                produced = sizeof(x->out) - x->strm.avail_out;
                if (ret == LZMA_STREAM_END)
                        x->stream_end = true;
                else if (ret == LZMA_MEMLIMIT_ERROR) {
                        x->needed = lzma_memusage(&x->strm);
                        x->error = -EFBIG;
                        archive_set_error(a, EFBIG, "xz decoder memory limit");
                        return -1;
                } else if (ret != LZMA_OK) {
                        x->error = -EBADMSG;
                        archive_set_error(a, EINVAL, "xz stream %s",
                                          ret == LZMA_BUF_ERROR ? "truncated" : "damaged");
                        return -1;
                }
                if (produced > 0)
                        return (la_ssize_t) produced;
        }
        return 0;
}

static bool upload_is_xz(int fd)
{
        static const uint8_t magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
        uint8_t head[sizeof(magic)];

        return pread(fd, head, sizeof(head), 0) == (ssize_t) sizeof(head) &&
               memcmp(head, magic, sizeof(magic)) == 0;
}

typedef struct Unpack {
        int dest_dirfd;
        const ArchiveLimits *limits;
        const char *raw_name; /* a single compressed or plain stream is this crash file; NULL: tar only */
        bool zstd;            /* zstd accepted as well */
        uint64_t input_size;  /* of the archive, for progress */
        uint64_t unpacked;
        char **created; /* names written so far, removed again on failure */
        char *message;
        XzSource *xz; /* set while an xz upload is decoded */
} Unpack;

_printf_(3, 4) static int unpack_fail(Unpack *u, int error, const char *format, ...)
{
        va_list ap;

        if (!u->message) {
                va_start(ap, format);
                if (vasprintf(&u->message, format, ap) < 0)
                        u->message = NULL;
                va_end(ap);
        }
        return error;
}

/* A read error of libarchive: the xz decoder's own reason first (its memory limit is 413, not 400). */
static int unpack_fail_read(Unpack *u, struct archive *a, const char *what)
{
        if (u->xz && u->xz->error == -EFBIG)
                return unpack_fail(u, -EFBIG,
                                   "The xz stream needs %" PRIu64 " MiB of memory to decode, more than the "
                                   "server's limit of %" PRIu64
                                   " MiB (MaxDecompressMemory); compress with a smaller dictionary "
                                   "(xz -6 or less)",
                                   (u->xz->needed + (1 << 20) - 1) >> 20, u->xz->memlimit >> 20);
        if (u->xz && u->xz->error < 0 && u->xz->error != -EBADMSG)
                return unpack_fail(u, u->xz->error, "Cannot read the upload");
        return unpack_fail(u, -EBADMSG, "%s (%s)", what, archive_error_string(a) ?: "no details");
}

/* Checks an entry's name and type before any byte of it is written. */
static int unpack_check_entry(Unpack *u, struct archive_entry *entry, const CrashFile **ret_file)
{
        const char *name = archive_entry_pathname(entry);
        const CrashFile *file;
        mode_t type = archive_entry_filetype(entry);

        if (isempty(name))
                return unpack_fail(u, -EPERM, "Archive member without a name");
        if (name[0] == '/')
                return unpack_fail(u, -EPERM, "Archive member '%s' has an absolute path", name);
        if (strstr(name, ".."))
                return unpack_fail(u, -EPERM, "Archive member '%s' contains '..'", name);
        if (archive_entry_hardlink(entry))
                return unpack_fail(u, -EPERM, "Archive member '%s' is a hard link", name);
        if (type != AE_IFREG)
                return unpack_fail(u, -EPERM, "Archive member '%s' is not a regular file", name);
        if (strchr(name, '/'))
                return unpack_fail(u, -EPERM, "Archive member '%s' is not at the top level", name);
        file = crash_file_lookup(name);
        if (!file)
                return unpack_fail(u, -EPERM, "Archive member '%s' is not a known crash data file", name);
        if (strv_contains(u->created, name))
                return unpack_fail(u, -EPERM, "Archive member '%s' appears twice", name);
        if (archive_entry_size_is_set(entry) && file->max_size > 0 &&
            (uint64_t) archive_entry_size(entry) > file->max_size)
                return unpack_fail(u, -EFBIG, "File '%s' is larger than its limit of %" PRIu64 " bytes",
                                   name, file->max_size);
        *ret_file = file;
        return 0;
}

static int unpack_refuse_space(Unpack *u, int error, uint64_t free_bytes)
{
        if (error == -ENOSPC)
                return unpack_fail(u, -ENOSPC,
                                   "The server is low on disk space: unpacking this upload would leave less "
                                   "than %" PRIu64 " MiB free (%" PRIu64
                                   " MiB free now, shared with other uploads); try again later",
                                   u->limits->min_free >> 20, free_bytes >> 20);
        return unpack_fail(u, error, "Cannot check the free disk space");
}

/* Writes one chunk under a reservation of the budget: granted only while enough stays free. */
static int unpack_write_chunk(Unpack *u, int fd, const CrashFile *file, const void *buf, size_t len)
{
        uint64_t free_bytes = 0;
        int r;

        if (u->limits->budget) {
                r = unpack_budget_reserve(u->limits->budget, u->dest_dirfd, u->limits->min_free, len,
                                          &free_bytes);
                if (r < 0)
                        return unpack_refuse_space(u, r, free_bytes);
        }
        r = fd_write_all(fd, buf, len);
        if (u->limits->budget)
                unpack_budget_release(u->limits->budget, len);
        if (r < 0)
                return unpack_fail(u, r, "Cannot write '%s'", file->name);
        return 0;
}

/* A hole of a sparse member counts like data (a copy or a rewrite of the file fills it), so it is
 * reserved like data, though ftruncate() leaves it sparse for now. */
static int unpack_write_hole(Unpack *u, int fd, const CrashFile *file, uint64_t end, uint64_t hole)
{
        uint64_t free_bytes = 0;
        int r = 0;

        if (u->limits->budget) {
                r = unpack_budget_reserve(u->limits->budget, u->dest_dirfd, u->limits->min_free, hole,
                                          &free_bytes);
                if (r < 0)
                        return unpack_refuse_space(u, r, free_bytes);
        }
        if (ftruncate(fd, (off_t) end) < 0 || lseek(fd, 0, SEEK_END) < 0)
                r = unpack_fail(u, -errno, "Cannot write '%s'", file->name);
        if (u->limits->budget)
                unpack_budget_release(u->limits->budget, hole);
        return r;
}

/* Streams one member's data into a new file, counting every byte against both limits. */
static int unpack_write_entry(Unpack *u, struct archive *a, const CrashFile *file)
{
        _cleanup_close_ int fd = -EBADF;
        uint64_t written = 0;
        int r;

        /* World-readable, so that the sandbox's unprivileged user may read it; the task directory (0700)
         * keeps everyone else out. */
        fd = openat(u->dest_dirfd, file->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return unpack_fail(u, -errno, "Cannot create '%s' in the task directory", file->name);
        r = strv_extend(&u->created, file->name);
        if (r < 0)
                return r;

        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t offset;

                r = archive_read_data_block(a, &buf, &len, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK)
                        return unpack_fail_read(u, a, "The archive is damaged or truncated");
                /* Sparse members arrive with holes: count and write them as real bytes. */
                if ((uint64_t) offset > written) {
                        uint64_t hole = (uint64_t) offset - written;

                        written += hole;
                        u->unpacked += hole;
                        if (file->max_size > 0 && written > file->max_size)
                                break;
                        if (u->unpacked > u->limits->max_unpacked)
                                break;
                        r = unpack_write_hole(u, fd, file, written, hole);
                        if (r < 0)
                                return r;
                }
                written += len;
                u->unpacked += len;
                if (u->limits->progress) {
                        uint64_t in = u->xz ? u->xz->strm.total_in : (uint64_t) archive_filter_bytes(a, -1);

                        r = u->limits->progress(u->limits->progress_userdata, in, u->input_size);
                        if (r < 0)
                                return unpack_fail(u, r, "Stopped");
                }
                if (file->max_size > 0 && written > file->max_size)
                        break;
                if (u->unpacked > u->limits->max_unpacked)
                        break;
                r = unpack_write_chunk(u, fd, file, buf, len);
                if (r < 0)
                        return r;
        }
        if (file->max_size > 0 && written > file->max_size)
                return unpack_fail(u, -EFBIG, "File '%s' is larger than its limit of %" PRIu64 " bytes",
                                   file->name, file->max_size);
        if (u->unpacked > u->limits->max_unpacked)
                return unpack_fail(u, -EFBIG,
                                   "The archive unpacks to more than the limit of %" PRIu64 " bytes",
                                   u->limits->max_unpacked);
        return 0;
}

static int unpack_all(Unpack *u, int archive_fd)
{
        _cleanup_(archive_read_freep) struct archive *a = NULL;
        uint64_t entries = 0;
        int r;

        a = archive_read_new();
        if (!a)
                return -ENOMEM;
        /* xz is decoded by xz_source_read(), never by libarchive (whose xz reader has no memory
         * limit): an xz stream inside the decoded one is then no tar and refused. */
        if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_format_tar(a) != ARCHIVE_OK)
                return unpack_fail(u, -EOPNOTSUPP, "libarchive lacks gzip or tar support");
        if (u->zstd && archive_read_support_filter_zstd(a) != ARCHIVE_OK)
                return unpack_fail(u, -EOPNOTSUPP, "libarchive lacks zstd support");
        /* raw bids lowest: anything that is no tar (after decompression) is then one stream. */
        if (u->raw_name && archive_read_support_format_raw(a) != ARCHIVE_OK)
                return unpack_fail(u, -EOPNOTSUPP, "libarchive lacks support for single streams");
        if (u->xz)
                r = archive_read_open(a, u->xz, NULL, xz_source_read, NULL);
        else
                r = archive_read_open_fd(a, archive_fd, UNPACK_READ_SIZE);
        if (r != ARCHIVE_OK)
                return unpack_fail_read(u, a, "The upload is not a tar archive");
        for (;;) {
                struct archive_entry *entry;
                const CrashFile *file = NULL;

                r = archive_read_next_header(a, &entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK)
                        return unpack_fail_read(u, a, "The upload is not a valid tar archive");
                if (++entries > u->limits->max_entries)
                        return unpack_fail(u, -E2BIG, "The archive has more than %" PRIu64 " members",
                                           u->limits->max_entries);
                if (u->raw_name && archive_format(a) == ARCHIVE_FORMAT_RAW) {
                        /* Not a tar: the whole (decompressed) stream is the one crash file. */
                        file = crash_file_lookup(u->raw_name);
                        if (!file)
                                return -EINVAL;
                        return unpack_write_entry(u, a, file);
                }
                r = unpack_check_entry(u, entry, &file);
                if (r < 0)
                        return r;
                r = unpack_write_entry(u, a, file);
                if (r < 0)
                        return r;
        }
        if (entries == 0)
                return unpack_fail(u, -EBADMSG, "The archive is empty");
        return 0;
}

static int unpack(int archive_fd, int dest_dirfd, const ArchiveLimits *limits, const char *raw_name,
                  bool zstd, char **ret_message)
{
        Unpack u = { .dest_dirfd = dest_dirfd, .limits = limits, .raw_name = raw_name, .zstd = zstd };
        _cleanup_free_ XzSource *xz = NULL;
        struct stat st;
        int r;

        if (fstat(archive_fd, &st) >= 0)
                u.input_size = (uint64_t) st.st_size;

        if (upload_is_xz(archive_fd)) {
                /* On the heap: its buffers are too large for an HTTP thread's stack. calloc() is
                 * LZMA_STREAM_INIT for the stream. */
                xz = calloc(1, sizeof(XzSource));
                if (!xz)
                        return -ENOMEM;
                xz->fd = archive_fd;
                xz->memlimit = limits->max_decoder_memory ?: UINT64_MAX;
                if (lzma_stream_decoder(&xz->strm, xz->memlimit, LZMA_CONCATENATED) != LZMA_OK)
                        return -ENOMEM;
                u.xz = xz;
        }
        r = unpack_all(&u, archive_fd);
        if (xz)
                lzma_end(&xz->strm);
        if (r < 0) {
                STRV_FOREACH (name, u.created)
                        (void) unlinkat(dest_dirfd, *name, 0);
                if (ret_message)
                        *ret_message = TAKE_PTR(u.message);
        }
        free(u.message);
        strv_free(u.created);
        return r;
}

int archive_unpack_crash_data(int archive_fd, int dest_dirfd, const ArchiveLimits *limits,
                              char **ret_message)
{
        return unpack(archive_fd, dest_dirfd, limits, NULL, false, ret_message);
}

int archive_unpack_remote(int archive_fd, int dest_dirfd, const ArchiveLimits *limits, const char *raw_name,
                          char **ret_message)
{
        return unpack(archive_fd, dest_dirfd, limits, raw_name, true, ret_message);
}
