/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common-macro.h"

/* The package index (sqlite3, WAL). Packages are identified by the sha256 of the RPM file; a
 * package belongs to one or more releases ("<distribution>-<version>-<arch>") through the
 * repositories it was synced from. */
/* 2: packages.extracted (a sync indexes packages; their files are extracted on demand). An index of
 * version 1 is migrated when opened (its packages were all extracted at import). */
/* 3: packages.last_used, roots (assembled roots and their packages), counters (cache hits, misses
 * and evictions); packages.partial and files.extracted (big debuginfo packages extracted file by
 * file). An index of version 2 is migrated when opened (last use = extraction time). */
#define CACHE_INDEX_SCHEMA_VERSION 3

typedef struct CacheIndex CacheIndex;

typedef enum FileKind {
        FILE_KIND_REGULAR,
        FILE_KIND_DIRECTORY,
        FILE_KIND_SYMLINK,
        FILE_KIND_OTHER, /* devices, fifos, sockets: listed, never created in roots */
        _FILE_KIND_MAX,
        _FILE_KIND_INVALID = -EINVAL,
} FileKind;

typedef enum BuildIdKind {
        BUILD_ID_DEBUG,  /* /usr/lib/debug/.build-id/xx/yyyy(.debug) */
        BUILD_ID_BINARY, /* /usr/lib/.build-id/xx/yyyy */
        _BUILD_ID_KIND_MAX,
        _BUILD_ID_KIND_INVALID = -EINVAL,
} BuildIdKind;

const char *build_id_kind_to_string(BuildIdKind k);

typedef struct PackageFile {
        char *path;
        mode_t mode;
        uint64_t size;
        char *digest; /* hex, regular files only */
        char *link;   /* symlinks only */
} PackageFile;

typedef struct PackageDep {
        char *name;
        uint32_t flags; /* rpmsenseFlags */
        char *evr;
} PackageDep;

typedef struct PackageInfo {
        int64_t id;
        char *sha256;
        char *name;
        uint32_t epoch;
        char *version;
        char *release;
        char *arch;
        char *sourcerpm;
        uint64_t size;           /* of the RPM file */
        uint64_t installed_size; /* RPMTAG_SIZE */
        int digest_algo;         /* of the file digests (pgpHashAlgo) */
} PackageInfo;

void package_info_done(PackageInfo *p);
void package_file_done(PackageFile *f);
void package_dep_done(PackageDep *d);
/* "name-version-release.arch" (epoch omitted, as rpm -q prints it). */
char *package_info_nevra(const PackageInfo *p);

/* A package being added: header facts, files, deps and build-ids, written in one transaction. */
typedef struct PackageRecord {
        PackageInfo info;
        PackageFile *files;
        size_t n_files;
        PackageDep *provides;
        size_t n_provides;
        PackageDep *requires;
        size_t n_requires;
        bool extracted; /* every regular file's object is in the store */
} PackageRecord;

int cache_index_open(const char *path, CacheIndex **ret);
CacheIndex *cache_index_close(CacheIndex *idx);
DEFINE_TRIVIAL_CLEANUP_FUNC(CacheIndex *, cache_index_close);
/* The last sqlite error message, for the caller's log line. */
const char *cache_index_strerror(CacheIndex *idx);

/* Looks a package up by the sha256 of its RPM: id, or -ENOENT. */
int cache_index_find_sha256(CacheIndex *idx, const char *sha256, int64_t *ret_id);
/* Adds a package with its files, dependencies and build-ids; returns the new id. */
int cache_index_add_package(CacheIndex *idx, const PackageRecord *rec, int64_t *ret_id);
/* Records that the package was seen in repo of release (idempotent). */
int cache_index_add_release(CacheIndex *idx, int64_t package_id, const char *release, const char *repo);
int cache_index_get_package(CacheIndex *idx, int64_t id, PackageInfo *ret);
/* Whether the package's files have been extracted into the object store; -ENOENT for no package. */
int cache_index_get_extracted(CacheIndex *idx, int64_t package_id, bool *ret);
/* Whole or nothing; either way the package is no longer partial. */
int cache_index_set_extracted(CacheIndex *idx, int64_t package_id, bool extracted);
/* Partial extraction (a big debuginfo package: only the files tasks needed). The generation counts
 * partial extractions of a package not extracted whole (0: none); it changes whenever more of its
 * files are extracted, so that roots built with fewer are not reused. */
int cache_index_get_partial(CacheIndex *idx, int64_t package_id, uint64_t *ret_generation);
/* Whether path of the package is in the store (the package is extracted, or that file is);
 * -ENOENT when the package has no such path. */
int cache_index_get_file_extracted(CacheIndex *idx, int64_t package_id, const char *path, bool *ret);
/* Records paths (NULL-terminated) of a package not extracted whole as extracted. */
int cache_index_mark_files_extracted(CacheIndex *idx, int64_t package_id, char *const *paths);

/* Packages of a release (or of every release when release is NULL) matching spec, which is
 * "name", "name-version-release" or "name-version-release.arch" (optionally with "epoch:"
 * before the version). Newest first. */
int cache_index_find_packages(CacheIndex *idx, const char *release, const char *spec, const char *arch,
                              PackageInfo **ret, size_t *ret_n);
/* For /checkpackage: is package N-V-R (with arch, when not NULL) known for release (any when NULL)? */
int cache_index_nvr_known(CacheIndex *idx, const char *nvr, const char *arch, const char *release,
                          bool *ret_known);

typedef struct BuildIdHit {
        PackageInfo package;
        char *path;
        BuildIdKind kind;
} BuildIdHit;
void build_id_hit_done(BuildIdHit *h);
/* Every package that has build_id under a .build-id tree, restricted to release when not NULL. */
int cache_index_lookup_build_id(CacheIndex *idx, const char *build_id, const char *release, BuildIdHit **ret,
                                size_t *ret_n);
/* The packages that hold the file path (in release, or any when NULL), as hits with kind
 * BUILD_ID_DEBUG; none is not an error (*ret_n = 0). */
int cache_index_lookup_path(CacheIndex *idx, const char *path, const char *release, BuildIdHit **ret,
                            size_t *ret_n);
/* The releases a package belongs to, sorted; -ENOENT when none. */
int cache_index_package_releases(CacheIndex *idx, int64_t package_id, char ***ret);
/* A file entry together with the package that holds it. */
typedef struct PackageFileHit {
        PackageInfo package;
        PackageFile file;
} PackageFileHit;
void package_file_hit_done(PackageFileHit *h);
void package_file_hit_array_free(PackageFileHit *a, size_t n);
/* Every package of release (any when NULL) holding path, with its entry (at most 512). */
int cache_index_find_file(CacheIndex *idx, const char *release, const char *path, PackageFileHit **ret,
                          size_t *ret_n);
/* The entry for path in one package; -ENOENT when the package has no such path. */
int cache_index_get_file(CacheIndex *idx, int64_t package_id, const char *path, PackageFile *ret);
/* The entries of one package whose path starts with prefix (at most 4096). */
int cache_index_find_file_prefix(CacheIndex *idx, int64_t package_id, const char *prefix, PackageFile **ret,
                                 size_t *ret_n);
/* The packages built from the same source RPM at the same epoch, version and release as p (every
 * subpackage and debuginfo package of that build, all architectures), in release (any when NULL);
 * -ENOENT when p names no source RPM. */
int cache_index_find_build_siblings(CacheIndex *idx, const char *release, const PackageInfo *p,
                                    PackageInfo **ret, size_t *ret_n);

int cache_index_get_files(CacheIndex *idx, int64_t package_id, PackageFile **ret, size_t *ret_n);
int cache_index_get_requires(CacheIndex *idx, int64_t package_id, PackageDep **ret, size_t *ret_n);
/* Packages of release that provide name (with the provide's flags and EVR in ret_provides), and
 * for names starting with '/', packages of release that contain that file. */
int cache_index_find_providers(CacheIndex *idx, const char *release, const char *name, PackageInfo **ret,
                               PackageDep **ret_provides, size_t *ret_n);

/* The packages of release that ship debug files or sources (/usr/lib/debug/, /usr/src/debug/):
 * what a debuginfod answers from. *ret may be NULL when there are none. */
int cache_index_find_debug_packages(CacheIndex *idx, const char *release, int64_t **ret, size_t *ret_n);

/* The releases ("<distribution>-<version>-<arch>") the index holds packages for, sorted. */
int cache_index_list_releases(CacheIndex *idx, char ***ret);
/* A number that grows whenever a sync adds a package to a release (to tell that lookups which found
 * nothing may find something now). */
int cache_index_release_stamp(CacheIndex *idx, int64_t *ret);

typedef struct CacheStats {
        uint64_t packages;
        uint64_t releases;
        uint64_t files;          /* regular files over all packages */
        uint64_t files_bytes;    /* their total size */
        uint64_t unique_objects; /* distinct (digest, mode class) */
        uint64_t unique_bytes;
        uint64_t rpm_bytes;                 /* sum of RPM sizes */
        uint64_t installed_bytes;           /* sum of RPMTAG_SIZE */
        uint64_t extracted_packages;        /* packages whose objects are in the store */
        uint64_t extracted_rpm_bytes;       /* their RPM sizes */
        uint64_t extracted_installed_bytes; /* their RPMTAG_SIZE */
        uint64_t partial_packages;          /* packages only some files of which are extracted */
        uint64_t partial_files;             /* those files */
} CacheStats;
int cache_index_stats(CacheIndex *idx, CacheStats *ret);

/* Calls cb for every distinct object referenced by an extracted package of the index (digest algorithm, hex
 * digest, mode). Stops and returns cb's value when it is negative. */
typedef int (*CacheObjectCallback)(int algo, const char *digest, mode_t mode, void *userdata);
int cache_index_foreach_object(CacheIndex *idx, CacheObjectCallback cb, void *userdata);

/* Use and eviction. A package's last use is when a root (a task's, an assembly's) last needed it. */
int cache_index_touch_packages(CacheIndex *idx, const int64_t *ids, size_t n, int64_t when);
/* Persistent counters ("hits", "misses", "evicted-packages", "evicted-bytes"); a missing one is 0. */
int cache_index_counter_add(CacheIndex *idx, const char *name, uint64_t delta);
int cache_index_counter_get(CacheIndex *idx, const char *name, uint64_t *ret);
/* An assembled root (roots/<key>): the bytes it takes besides the objects it links, and its packages. */
int cache_index_record_root(CacheIndex *idx, const char *key, uint64_t bytes, const int64_t *ids, size_t n);
int cache_index_root_known(CacheIndex *idx, const char *key, bool *ret);
int cache_index_forget_root(CacheIndex *idx, const char *key);
int cache_index_list_roots(CacheIndex *idx, char ***ret);
/* The recorded roots that contain a package. */
int cache_index_package_roots(CacheIndex *idx, int64_t package_id, char ***ret);
int cache_index_root_packages(CacheIndex *idx, const char *key, int64_t **ret, size_t *ret_n);
/* What the cache holds: the distinct objects of extracted packages (their files' sizes) and the
 * recorded roots' own bytes. */
int cache_index_use(CacheIndex *idx, uint64_t *ret_object_bytes, uint64_t *ret_root_bytes);
typedef struct CacheLruEntry {
        int64_t id;
        uint64_t bytes; /* its regular files' sizes */
} CacheLruEntry;
/* The extracted packages, least recently used first. */
int cache_index_lru_extracted(CacheIndex *idx, CacheLruEntry **ret, size_t *ret_n);
/* Like cache_index_foreach_object(), for the objects of one package (extracted or not). */
int cache_index_foreach_package_object(CacheIndex *idx, int64_t package_id, CacheObjectCallback cb,
                                       void *userdata);

int cache_index_begin(CacheIndex *idx);
int cache_index_commit(CacheIndex *idx);
int cache_index_rollback(CacheIndex *idx);

/* Free helpers for arrays returned above. */
void package_info_array_free(PackageInfo *a, size_t n);
void package_file_array_free(PackageFile *a, size_t n);
void package_dep_array_free(PackageDep *a, size_t n);
void build_id_hit_array_free(BuildIdHit *a, size_t n);
/* Sorts newest first by epoch, version, release (rpmvercmp). */
int package_info_compare_evr(const PackageInfo *a, const PackageInfo *b);

/* Recognizes a build-id path: "/usr/lib/debug/.build-id/xx/yyyy" or "….debug" (debug) and
 * "/usr/lib/.build-id/xx/yyyy" (binary); duplicates such as "yyyy.1" are not build-ids. Writes the
 * lower-case hex build-id (at most 128 digits) into ret. Pure. */
int build_id_from_path(const char *path, BuildIdKind *ret_kind, char ret[static 129]);
