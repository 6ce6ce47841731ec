/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Repository metadata (repomd.xml and primary.xml), parsed with libsolv. */
typedef struct RepoFile {
        char *location;    /* relative to the repository's base */
        int checksum_algo; /* pgpHashAlgo */
        char *checksum;    /* lower-case hex */
        uint64_t size;     /* 0 when the metadata does not say */
        char *nevra;       /* packages only */
} RepoFile;

void repo_file_done(RepoFile *f);
void repo_file_array_free(RepoFile *a, size_t n);

/* A location from metadata is usable when relative, normalized and without a scheme. Pure. */
int repo_location_valid(const char *location);
/* Finds the "primary" entry of repomd.xml at path. */
int repomd_parse(const char *path, RepoFile *ret_primary, char **ret_error);
/* Lists the binary packages of primary.xml at path (compressed with gzip, xz, zstd or bzip2 or
 * not at all). Source packages are left out. */
int primary_parse(const char *path, RepoFile **ret, size_t *ret_n, char **ret_error);
