/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fuzz-file.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-path.h"

static char dir[] = "/tmp/retrace-fuzz-XXXXXX";

static void remove_dir(void)
{
        (void) path_rm_rf(dir);
}

const char *fuzz_file_write(const char *name, const uint8_t *data, size_t size)
{
        static bool made = false;
        static char path[4096];
        int fd;

        if (!made) {
                if (!mkdtemp(dir))
                        abort();
                (void) atexit(remove_dir);
                made = true;
        }
        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || fd_write_all(fd, data, size) < 0 || close(fd) < 0)
                abort();
        return path;
}
