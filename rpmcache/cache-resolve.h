/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

#include "cache-index.h"

/* Dependency closure inside one release, over the index's provides/requires (and file lists for
 * file dependencies). fixed are packages already chosen (e.g. the crash's exact versions): they
 * satisfy requirements but their own requirements are not followed. start are followed. For a
 * requirement nothing chosen satisfies, the provider with the requirement's own name wins, then
 * the highest epoch-version-release. Requirements nobody in the release provides are returned
 * in ret_unresolved as "name [op evr] (needed by nevra)". *ret is fixed followed by the closure of
 * start, without duplicates. */
int cache_resolve_closure(CacheIndex *idx, const char *release, const int64_t *fixed, size_t n_fixed,
                          const int64_t *start, size_t n_start, int64_t **ret, size_t *ret_n,
                          char ***ret_unresolved);

/* Pure: does a provide (name, flags, evr) satisfy a requirement? Uses rpm's range comparison. */
int cache_dep_matches(const PackageDep *require, const PackageDep *provide);

/* The newest package of release matching spec ("name", "name-version-release" or
 * "name-version-release.arch"); -ENOENT when there is none. */
int cache_find_package(CacheIndex *idx, const char *release, const char *spec, int64_t *ret_id);

/* fixed plus the debugger package (newest debugger_package in release) and its closure. */
int cache_resolve_with_debugger(CacheIndex *idx, const char *release, const char *debugger_package,
                                const int64_t *fixed, size_t n_fixed, int64_t **ret, size_t *ret_n,
                                char ***ret_unresolved);
