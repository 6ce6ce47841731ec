/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <pthread.h>
#include <stdint.h>

/* The one accountant of disk space shared by every unpack of a process: each chunk of a member is
 * reserved before it is written and released once it is on disk, and a reservation is granted only
 * while the free space of the destination's file system, less every other unpack's outstanding
 * reservations and this chunk, stays at or above the floor (MinStorageLeft). Concurrent unpacks so
 * cannot each see the same free space and together fill the disk. */
typedef struct UnpackBudget {
        pthread_mutex_t lock;
        uint64_t outstanding; /* bytes reserved and not yet released */
} UnpackBudget;

#define UNPACK_BUDGET_INIT                        \
        {                                         \
                .lock = PTHREAD_MUTEX_INITIALIZER \
        }

/* The process's one accountant: uploads being unpacked and remote tasks' downloads and unpacks. */
extern UnpackBudget unpack_budget_shared;

/* Bytes reserved by unpacks in progress right now. */
uint64_t unpack_budget_outstanding(UnpackBudget *b);
/* Reserves len bytes for a write into dirfd's file system: -ENOSPC when free space less every
 * outstanding reservation less len would drop below min_free. *ret_free gets the free bytes seen. */
int unpack_budget_reserve(UnpackBudget *b, int dirfd, uint64_t min_free, uint64_t len, uint64_t *ret_free);
/* Gives a reservation back once its bytes are on disk (or were not written). */
void unpack_budget_release(UnpackBudget *b, uint64_t len);

typedef struct ArchiveLimits {
        uint64_t max_unpacked;       /* bytes of all members together, counted while unpacking */
        uint64_t max_entries;        /* archive members */
        uint64_t max_decoder_memory; /* memory the xz decoder may use (its dictionary); 0: no limit */
        UnpackBudget *budget;        /* NULL: no disk accounting */
        uint64_t min_free;           /* with budget: bytes that must stay free beside the destination */
        /* Called after each chunk written with the bytes of the archive read so far and its size; a
         * negative return stops the unpack with that error. NULL: none. */
        int (*progress)(void *userdata, uint64_t done, uint64_t total);
        void *progress_userdata;
} ArchiveLimits;

/* Unpacks an uploaded crash-data archive (tar, optionally gzip- or xz-compressed; the compression is
 * detected from the content, never from a header) into dest_dirfd, accepting only top-level regular
 * files with the names of crash_file_lookup(), each within its own limit. xz is decoded here with
 * liblzma under max_decoder_memory (libarchive's own xz reader has no memory limit); gzip needs a
 * fixed 32 KiB window. Other compressions are not accepted.
 *
 * Returns 0, or:
 *   -EPERM    malicious archive: unknown name, directory part, "..", absolute path, symlink, hard
 *             link, device node, directory, duplicate member (HTTP 403);
 *   -EFBIG    a member over its own limit, all members together over max_unpacked, or an xz stream
 *             whose decoder needs more than max_decoder_memory (HTTP 413);
 *   -ENOSPC   the budget refused a chunk: writing it would leave less than min_free (HTTP 507);
 *   -E2BIG    more than max_entries members (HTTP 413);
 *   -EBADMSG  not an archive, unknown compression, damaged or truncated (HTTP 400);
 *   other     I/O errors writing dest_dirfd (HTTP 500).
 * On failure every file this call created is removed again, and *ret_message (when not NULL) gets a
 * one-line explanation for the client. */
int archive_unpack_crash_data(int archive_fd, int dest_dirfd, const ArchiveLimits *limits,
                              char **ret_message);

/* A crash file fetched for a remote task (daemon-remote.h): a tar archive as above (plain, gzip, xz or
 * zstd), or a single stream (plain, gzip, xz or zstd) that becomes the crash file raw_name (NULL: an
 * archive only). The same rules, limits and errors as archive_unpack_crash_data(). */
int archive_unpack_remote(int archive_fd, int dest_dirfd, const ArchiveLimits *limits, const char *raw_name,
                          char **ret_message);
