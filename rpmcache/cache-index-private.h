/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the files of the package index share (cache-index.c: schema, packages, releases, statistics;
 * cache-index-query.c: the lookups by build-id, path, file and dependency). Not for other parts. */

#include <sqlite3.h>

#include "cache-index.h"
#include "common-sqlite.h"

struct CacheIndex {
        sqlite3 *db;
};

#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* The columns index_package_from_row() reads, 0..10. */
#define PACKAGE_COLUMNS                                                                        \
        "p.id, p.sha256, p.name, p.epoch, p.version, p.release, p.arch, p.sourcerpm, p.size, " \
        "p.installed_size, p.digest_algo"
#define PACKAGE_N_COLUMNS 11

int index_sql_prepare(CacheIndex *idx, const char *sql, sqlite3_stmt **ret);
/* A text column as a new string, NULL for SQL NULL (or on allocation failure). */
char *index_column_strdup(sqlite3_stmt *st, int col);
/* Columns 0..10 (PACKAGE_COLUMNS) of the current row into p. */
int index_package_from_row(sqlite3_stmt *st, PackageInfo *p);
/* Runs st and collects every row as a PackageInfo (plus, when extra_col >= 0, a PackageDep made of
 * the columns extra_col (name), extra_col+1 (flags), extra_col+2 (evr)). */
int index_collect_packages(sqlite3_stmt *st, int extra_col, PackageInfo **ret, PackageDep **ret_deps,
                           size_t *ret_n);
