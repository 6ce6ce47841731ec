/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "daemon-crashdata.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, archive_read_free);

typedef struct Unpack {
        int dest_dirfd;
        const ArchiveLimits *limits;
        uint64_t unpacked;
        char **created; /* names written so far, removed again on failure */
        char *message;
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
                        return unpack_fail(u, -EBADMSG, "The archive is damaged or truncated (%s)",
                                           archive_error_string(a) ?: "no details");
                /* Sparse members arrive with holes: count and write them as real bytes. */
                if ((uint64_t) offset > written) {
                        uint64_t hole = (uint64_t) offset - written;

                        written += hole;
                        u->unpacked += hole;
                        if (file->max_size > 0 && written > file->max_size)
                                break;
                        if (u->unpacked > u->limits->max_unpacked)
                                break;
                        if (ftruncate(fd, (off_t) written) < 0)
                                return unpack_fail(u, -errno, "Cannot write '%s'", file->name);
                        if (lseek(fd, 0, SEEK_END) < 0)
                                return unpack_fail(u, -errno, "Cannot write '%s'", file->name);
                }
                written += len;
                u->unpacked += len;
                if (file->max_size > 0 && written > file->max_size)
                        break;
                if (u->unpacked > u->limits->max_unpacked)
                        break;
                r = fd_write_all(fd, buf, len);
                if (r < 0)
                        return unpack_fail(u, r, "Cannot write '%s'", file->name);
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
        if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_filter_xz(a) != ARCHIVE_OK ||
            archive_read_support_format_tar(a) != ARCHIVE_OK)
                return unpack_fail(u, -EOPNOTSUPP, "libarchive lacks gzip, xz or tar support");
        if (archive_read_open_fd(a, archive_fd, 64 * 1024) != ARCHIVE_OK)
                return unpack_fail(u, -EBADMSG, "The upload is not a tar archive (%s)",
                                   archive_error_string(a) ?: "unknown format");
        for (;;) {
                struct archive_entry *entry;
                const CrashFile *file = NULL;

                r = archive_read_next_header(a, &entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK)
                        return unpack_fail(u, -EBADMSG, "The upload is not a valid tar archive (%s)",
                                           archive_error_string(a) ?: "no details");
                if (++entries > u->limits->max_entries)
                        return unpack_fail(u, -E2BIG, "The archive has more than %" PRIu64 " members",
                                           u->limits->max_entries);
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

int archive_unpack_crash_data(int archive_fd, int dest_dirfd, const ArchiveLimits *limits,
                              char **ret_message)
{
        Unpack u = { .dest_dirfd = dest_dirfd, .limits = limits };
        int r;

        r = unpack_all(&u, archive_fd);
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
