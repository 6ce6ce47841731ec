/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An uploaded coredump: the ELF core reader (program headers, notes, the modules' build-ids through
 * libdwfl) must hold up against any file. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"
#include "daemon-core.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(core_info_freep) CoreInfo *c = NULL;
        _cleanup_close_ int fd = memfd_create("fuzz-core", MFD_CLOEXEC);

        if (fd < 0 || fd_write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                abort();
        if (core_info_read(fd, &c) < 0)
                return 0;
        if (!c->arch)
                abort(); /* a core that reads has an architecture, "unknown" at worst */
        for (size_t i = 0; i < c->n_modules; i++)
                if (!c->modules[i].name)
                        abort();
        return 0;
}
