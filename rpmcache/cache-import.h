/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cache-store.h"

typedef struct ImportOptions {
        const char *release;         /* associate with this release (may be NULL) */
        const char *repo;            /* … and repository */
        const char *expected_sha256; /* from repository metadata; NULL when unknown */
        bool gpgcheck;               /* require a valid signature by one of gpgkeys */
        char **gpgkeys;              /* ASCII-armored public key files */
        bool extract;                /* extract the files now; else index only (header and digests
                                      * checked, payload not decompressed), extracted on demand */
} ImportOptions;

/* Loads the rpm configuration once and routes rpm's own messages into the reason strings
 * instead of stderr. Idempotent. */
int cache_rpm_init(void);

/* Imports one RPM file: checks its sha256 against expected_sha256, reads the header with librpm
 * (digests verified; signature required when gpgcheck), verifies the payload digest, validates
 * every path, and records the package in the index in one transaction. With o->extract it first
 * extracts the regular files whose objects are missing into a private staging directory (never
 * running scriptlets, never as root), checks each against the header's file digest and publishes
 * the objects (a known package not yet extracted is extracted then); without, the package is
 * recorded as not extracted (unless every object is already in the store). The caller must not
 * hold the cache lock.
 * Returns 1 when the package was new, 0 when it was already known (only the release is recorded),
 * and a negative errno when the package is refused; then *ret_reason (when not NULL) says why, and
 * neither the index nor the object store holds anything from it. */
int cache_import_rpm(Cache *c, const char *path, const ImportOptions *o, int64_t *ret_id, char **ret_reason);

/* Pure: validates a package's file list. Paths must be absolute and normalized (no "." or ".."
 * components, no "//"); no path may go through a symlink of the same package. ret_reason names
 * the offending path. */
int cache_validate_paths(const PackageFile *files, size_t n, char **ret_reason);

/* Extracts the objects of the RPM at path, which the index records as sha256: checks the file's
 * sha256, the header's digests, the payload digest and every file's digest, as an import does;
 * writes nothing into the index. The caller holds the cache lock shared. Safe to call from several
 * threads at once (each with its own package). ret_bytes: bytes of the objects written. A damaged
 * package is -EBADMSG with *ret_reason saying what is wrong. only (NULL-terminated, NULL: every
 * file): the regular files to write objects for; the whole payload is still read and checked. */
int cache_unpack_rpm(Cache *c, const char *path, const char *sha256, char *const *only, uint64_t *ret_bytes,
                     char **ret_reason);
