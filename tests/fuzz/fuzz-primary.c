/* SPDX-License-Identifier: GPL-2.0-or-later */
/* primary.xml from a mirror. The parser reads a path and decompresses by the file's suffix: the
 * first byte of the input picks the suffix (none, .gz, .xz, .zst, .bz2), the rest is the file. */
#include <stdlib.h>

#include "common-macro.h"
#include "fuzz-file.h"
#include "fuzz.h"
#include "reposync-metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const names[] = { "primary.xml", "primary.xml.gz", "primary.xml.xz",
                                             "primary.xml.zst", "primary.xml.bz2" };
        _cleanup_free_ char *error = NULL;
        RepoFile *files = NULL;
        size_t n = 0;
        const char *path;

        if (size < 1)
                return 0;
        path = fuzz_file_write(names[data[0] % ELEMENTSOF(names)], data + 1, size - 1);
        if (primary_parse(path, &files, &n, &error) < 0) {
                if (!error)
                        abort(); /* a refused file says why */
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                if (!files[i].location || !files[i].checksum || !files[i].nevra ||
                    repo_location_valid(files[i].location) <= 0)
                        abort();
        repo_file_array_free(files, n);
        return 0;
}
