/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <rpm/rpmtypes.h>
#include <rpm/rpmcrypto.h>
#include <stdint.h>
#include <sys/types.h>

#include "common-macro.h"

/* The object store: one read-only file per (content digest, permission class), named
 * "<algorithm>/<first two hex digits>/<rest of the digest>-<octal permissions>", e.g.
 * "sha256/3f/1c…9a-555". The permission class is the package's mode without write, setuid,
 * setgid and sticky bits, so a root hardlinked to objects can never gain those bits. */

const char *digest_algo_to_string(int algo);
int digest_algo_from_string(const char *s);

/* Permission bits an object keeps from a package file's mode. */
static inline mode_t cache_object_mode(mode_t mode)
{
        return mode & 0555;
}

/* Pure: the object's name relative to objects/; -EINVAL for a bad digest or unknown algorithm. */
int cache_object_name(int algo, const char *hex, mode_t mode, char **ret);
/* The same name with '/' replaced by '_' (a file name inside a staging directory). */
int cache_object_flat_name(const char *name, char **ret);
/* 1 when the object exists, 0 when not. */
int cache_object_exists(int objects_fd, const char *name);

/* Writes one object into a staging directory while hashing it. */
typedef struct ObjectWriter {
        int fd;
        int algo;
        DIGEST_CTX ctx;
        uint64_t size;
} ObjectWriter;

int object_writer_open(ObjectWriter *w, int staging_fd, const char *flat_name, int algo);
int object_writer_write(ObjectWriter *w, const void *buf, size_t n);
/* Checks the digest against expected_hex (-EBADMSG on mismatch), applies the object mode and
 * closes the file. The writer is reset either way. */
int object_writer_finish(ObjectWriter *w, const char *expected_hex, mode_t mode, time_t mtime);
void object_writer_abort(ObjectWriter *w);

/* Moves a finished staged object into the store; an object that already exists wins (same
 * content by construction). */
int cache_object_publish(int staging_fd, const char *flat_name, int objects_fd, const char *name);

/* Hashes an open file; ret_hex is lower-case hex. */
int digest_fd(int fd, int algo, char **ret_hex, uint64_t *ret_size);
