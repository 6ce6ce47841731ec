/* SPDX-License-Identifier: GPL-2.0-or-later */
/* repomd.xml from a mirror: the parser reads a path, so the input goes through a temporary file. */
#include <stdlib.h>

#include "common-macro.h"
#include "fuzz-file.h"
#include "fuzz.h"
#include "reposync-metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *error = NULL;
        RepoFile primary = {};
        const char *path = fuzz_file_write("repomd.xml", data, size);

        if (repomd_parse(path, &primary, &error) < 0) {
                if (primary.location || primary.checksum)
                        abort(); /* a failure leaves the out-parameter alone */
                return 0;
        }
        if (!primary.location || !primary.checksum || repo_location_valid(primary.location) <= 0)
                abort();
        repo_file_done(&primary);
        return 0;
}
