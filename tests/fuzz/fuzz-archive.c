/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Upload archives, and the data fetched for a task from a URL or DropDir (also zstd, also a single
 * stream becoming 'vmcore'): whatever the bytes, unpacking must not crash, must not write outside a
 * fresh directory, and must leave nothing behind when it fails. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"
#include "common-path.h"
#include "daemon-archive.h"
#include "daemon-crashdata.h"
#include "fuzz.h"

static void unpack_checked(int fd, const ArchiveLimits *limits, bool remote)
{
        char dir[] = "/tmp/fuzz-archive.XXXXXX";
        _cleanup_free_ char *message = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (!mkdtemp(dir) || lseek(fd, 0, SEEK_SET) < 0)
                abort();
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                abort();
        r = remote ? archive_unpack_remote(fd, dfd, limits, "vmcore", &message)
                   : archive_unpack_crash_data(fd, dfd, limits, &message);
        if (r < 0) {
                _cleanup_closedir_ DIR *d = opendir(dir);
                struct dirent *de;

                if (!message)
                        abort(); /* every refusal explains itself */
                while (d && (de = readdir(d)))
                        if (de->d_name[0] != '.')
                                abort(); /* a failed unpack left a file */
        }
        if (path_rm_rf(dir) < 0)
                abort();
        if (unpack_budget_outstanding(limits->budget) != 0)
                abort(); /* every reservation is released */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static UnpackBudget budget = UNPACK_BUDGET_INIT;
        const ArchiveLimits limits = {
                .max_unpacked = 4 << 20, .max_entries = 16, .max_decoder_memory = 16 << 20, .budget = &budget
        };
        const char *why;
        _cleanup_close_ int fd = -EBADF;

        fd = memfd_create("upload", MFD_CLOEXEC);
        if (fd < 0 || fd_write_all(fd, data, size) < 0)
                abort();
        unpack_checked(fd, &limits, false);
        unpack_checked(fd, &limits, true);
        /* The same bytes as the content of 'executable': a pure check that must hold for any input. */
        if (crash_executable_check((const char *) data, size, &why) < 0 && !why)
                abort();
        return 0;
}
