/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cache-store.h"

/* Extraction on demand: a sync records packages from their headers; the files of a package go into
 * the object store when something first needs them, from the RPM kept in RepoDir/packages/.
 * Each package is extracted once, whoever asks at the same time (threads of the daemon, other
 * processes): a flock on CacheDir/locks/<sha256>, and the index is read again after taking it. */

typedef struct ExtractJob {
        int64_t id;
        char *sha256;
        char *nevra;
        uint64_t installed_size;
        char **paths; /* partial: only these files (NULL: the whole package) */
        /* results */
        int error;
        char *reason;
        bool extracted; /* by this call (false: already done by someone else meanwhile) */
        uint64_t bytes; /* objects written */
} ExtractJob;

/* The packages of a set that are not extracted yet. Made with the index (the caller's lock on it,
 * if any, held); run without it. */
typedef struct ExtractPlan {
        ExtractJob *jobs;
        size_t n;
} ExtractPlan;

ExtractPlan *extract_plan_free(ExtractPlan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExtractPlan *, extract_plan_free);

typedef struct ExtractResult {
        uint64_t packages;       /* extracted by this call (partially or whole) */
        uint64_t partial;        /* of which partially */
        uint64_t files;          /* files extracted from those */
        uint64_t bytes;          /* objects written */
        uint64_t installed_size; /* RPMTAG_SIZE of the packages extracted */
        uint64_t usec;
} ExtractResult;

/* The jobs for the packages among ids that the index says are not extracted (maybe none). */
int cache_extract_plan(Cache *c, const int64_t *ids, size_t n, ExtractPlan **ret);

/* Partial extraction: a debuginfo package (name ending in -debuginfo, -dbg, -dbgsym) whose installed
 * size exceeds CachePartialExtractSize is extracted only for the files the caller wants (a task: the
 * debug files of its core's build-ids and their dwz alt files; vmlinux and the modules' debug files
 * for a vmcore); the rest stays in the RPM until a task wants it. The index records each file
 * extracted (cache_index_mark_files_extracted()). A package wanted without a path is extracted
 * whole. */
typedef struct ExtractWant {
        int64_t id;
        const char *path;
} ExtractWant;
bool cache_package_partial(const Cache *c, const PackageInfo *p);
/* As cache_extract_plan(), with wants: for a package that cache_package_partial() says so and that
 * wants name, a job for its wanted files not extracted yet (no job when there is none). */
int cache_extract_plan_for(Cache *c, const int64_t *ids, size_t n, const ExtractWant *wants, size_t n_wants,
                           ExtractPlan **ret);

/* Extracts the plan's packages, at most jobs at a time (0: one per online CPU), in threads that
 * use their own index connections (c->index is not touched, so the caller may let other threads
 * use it meanwhile). Holds the cache lock shared throughout. Stops starting packages after the
 * first failure; returns it with *ret_reason naming the package (a damaged RPM is also moved
 * aside as RPM.corrupt, so that the next sync downloads it again). */
int cache_extract_run(Cache *c, ExtractPlan *plan, unsigned jobs, ExtractResult *ret, char **ret_reason);

/* Both of the above, for callers that own c. */
int cache_extract_packages(Cache *c, const int64_t *ids, size_t n, unsigned jobs, ExtractResult *ret,
                           char **ret_reason);

/* The path of a package's stored RPM: RepoDir/packages/<xx>/<sha256>.rpm. */
int cache_rpm_path(const char *repo_dir, const char *sha256, char **ret);
