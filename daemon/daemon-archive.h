/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

typedef struct ArchiveLimits {
        uint64_t max_unpacked; /* bytes of all members together, counted while unpacking */
        uint64_t max_entries;  /* archive members */
} ArchiveLimits;

/* Unpacks an uploaded crash-data archive (tar, optionally gzip- or xz-compressed; the compression is
 * detected from the content, never from a header) into dest_dirfd, accepting only top-level regular
 * files with the names of crash_file_lookup(), each within its own limit.
 *
 * Returns 0, or:
 *   -EPERM    malicious archive: unknown name, directory part, "..", absolute path, symlink, hard
 *             link, device node, directory, duplicate member (HTTP 403);
 *   -EFBIG    a member over its own limit, or all members together over max_unpacked (HTTP 413);
 *   -E2BIG    more than max_entries members (HTTP 413);
 *   -EBADMSG  not an archive, unknown compression, damaged or truncated (HTTP 400);
 *   other     I/O errors writing dest_dirfd (HTTP 500).
 * On failure every file this call created is removed again, and *ret_message (when not NULL) gets a
 * one-line explanation for the client. */
int archive_unpack_crash_data(int archive_fd, int dest_dirfd, const ArchiveLimits *limits,
                              char **ret_message);
