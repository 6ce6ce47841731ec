/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "cache-index.h"
#include "cache-store.h"

/* The cache seen through debuginfod's protocol: the file a build-id names, from the synced
 * packages only (never a task's data). Called with the caller's lock on c->index held, like the
 * other look-ups; a package not extracted yet is extracted with that lock released
 * (cache_package_file_open()). */

typedef enum DebuginfodKind {
        DEBUGINFOD_DEBUGINFO,  /* the debug file */
        DEBUGINFOD_EXECUTABLE, /* the binary (executables and shared libraries) */
        DEBUGINFOD_SOURCE,     /* a source file of the build (its -debugsource package) */
        DEBUGINFOD_SECTION,    /* one ELF section of the debug file, else of the binary */
        _DEBUGINFOD_KIND_MAX,
        _DEBUGINFOD_KIND_INVALID = -EINVAL,
} DebuginfodKind;

const char *debuginfod_kind_to_string(DebuginfodKind k);
DebuginfodKind debuginfod_kind_from_string(const char *s);

typedef struct DebuginfodFile {
        int fd;          /* the object, read-only */
        uint64_t offset; /* where the answer starts in it (a section's offset; else 0) */
        uint64_t size;   /* bytes of the answer */
        char *nevra;     /* the package that holds it */
        char *path;      /* its path in that package */
        /* what the lookup extracted on the way (packages, their bytes, the time it took), for a
         * caller that reports it (a task); partially extracted packages count as packages */
        uint64_t extracted_packages, extracted_bytes, extracted_usec;
} DebuginfodFile;

void debuginfod_file_done(DebuginfodFile *f);

/* Pure: the canonical form of a source path as a client sends it (already %-decoded): "//"
 * collapsed, "." segments removed, ".." going up one segment (path_simplify()). -EINVAL when it is
 * not absolute, names the root or a ".." would leave the root. */
int debuginfod_source_path(const char *path, char **ret);

/* Finds what kind names for build_id (lower-case hex): arg is the canonical source path for
 * DEBUGINFOD_SOURCE and the section name for DEBUGINFOD_SECTION, else NULL. -ENOENT when the
 * cache has no such file; an extraction's failure as its error. */
int cache_debuginfod_find(Cache *c, DebuginfodKind kind, const char *build_id, const char *arg,
                          DebuginfodFile *ret);
