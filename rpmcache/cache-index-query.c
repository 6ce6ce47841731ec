/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The index's lookups: by build-id, by path and file, by build (source RPM and EVR), files and
 * dependencies of a package, providers of a name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache-index-private.h"
#include "common-macro.h"
#include "common-string.h"

/* Steps through st, appending one element of size bytes per row: fill() reads the row into a zeroed
 * element (< 0 on failure), done() releases one element. On failure all that was collected is
 * released, the element being filled included. */
typedef int (*RowFill)(sqlite3_stmt *st, void *elem);
typedef void (*ElemDone)(void *elem);

static int index_sql_collect(sqlite3_stmt *st, size_t size, RowFill fill, ElemDone done, void **ret,
                             size_t *ret_n)
{
        char *a = NULL;
        size_t n = 0, allocated = 0;
        int r = 0, rc;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (array_reserve((void **) &a, &allocated, n + 1, size) < 0) {
                        r = -ENOMEM;
                        break;
                }
                memset(a + n * size, 0, size);
                r = fill(st, a + n * size);
                n++;
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = sqlite_errno(rc);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        done(a + i * size);
                free(a);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

static int fill_build_id_hit(sqlite3_stmt *st, void *elem)
{
        BuildIdHit *h = elem;
        int r;

        h->kind = sqlite3_column_int(st, PACKAGE_N_COLUMNS + 1);
        h->path = index_column_strdup(st, PACKAGE_N_COLUMNS);
        r = index_package_from_row(st, &h->package);
        return r < 0 ? r : h->path ? 0 : -ENOMEM;
}

static void done_build_id_hit(void *elem)
{
        build_id_hit_done(elem);
}

static int fill_file(sqlite3_stmt *st, void *elem)
{
        PackageFile *f = elem;

        *f = (PackageFile){
                .path = index_column_strdup(st, 0),
                .mode = (mode_t) sqlite3_column_int64(st, 1),
                .size = (uint64_t) sqlite3_column_int64(st, 2),
                .digest = index_column_strdup(st, 3),
                .link = index_column_strdup(st, 4),
        };
        return f->path ? 0 : -ENOMEM;
}

static void done_file(void *elem)
{
        package_file_done(elem);
}

static int fill_dep(sqlite3_stmt *st, void *elem)
{
        PackageDep *d = elem;

        *d = (PackageDep){
                .name = index_column_strdup(st, 0),
                .flags = (uint32_t) sqlite3_column_int64(st, 1),
                .evr = index_column_strdup(st, 2),
        };
        return d->name && d->evr ? 0 : -ENOMEM;
}

static void done_dep(void *elem)
{
        package_dep_done(elem);
}

int cache_index_lookup_build_id(CacheIndex *idx, const char *build_id, const char *release, BuildIdHit **ret,
                                size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(
                idx,
                "SELECT DISTINCT " PACKAGE_COLUMNS ", b.path, b.kind FROM build_ids b"
                " JOIN packages p ON p.id = b.package_id"
                " WHERE b.build_id = ?1 AND (?2 IS NULL OR EXISTS (SELECT 1 FROM package_releases r"
                "  WHERE r.package_id = p.id AND r.release = ?2))"
                " ORDER BY b.kind, p.name, p.id",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, build_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, release, -1, SQLITE_STATIC);
        return index_sql_collect(st, sizeof(BuildIdHit), fill_build_id_hit, done_build_id_hit, (void **) ret,
                                 ret_n);
}

int cache_index_lookup_path(CacheIndex *idx, const char *path, const char *release, BuildIdHit **ret,
                            size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(
                idx,
                "SELECT DISTINCT " PACKAGE_COLUMNS ", f.path, 0 FROM files f"
                " JOIN packages p ON p.id = f.package_id"
                " WHERE f.path = ?1 AND (?2 IS NULL OR EXISTS (SELECT 1 FROM package_releases r"
                "  WHERE r.package_id = p.id AND r.release = ?2))"
                " ORDER BY p.name, p.id",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, release, -1, SQLITE_STATIC);
        return index_sql_collect(st, sizeof(BuildIdHit), fill_build_id_hit, done_build_id_hit, (void **) ret,
                                 ret_n);
}

int cache_index_package_releases(CacheIndex *idx, int64_t package_id, char ***ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r, rc;

        r = index_sql_prepare(
                idx, "SELECT DISTINCT release FROM package_releases WHERE package_id = ?1 ORDER BY release",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = strv_extend(&l, (const char *) sqlite3_column_text(st, 0));
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return sqlite_errno(rc);
        if (!l)
                return -ENOENT;
        *ret = TAKE_PTR(l);
        return 0;
}

int cache_index_get_file(CacheIndex *idx, int64_t package_id, const char *path, PackageFile *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(
                idx,
                "SELECT path, mode, size, digest, link FROM files WHERE package_id = ?1 AND path = ?2"
                " LIMIT 1",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_errno(rc);
        return fill_file(st, ret);
}

static int fill_file_hit(sqlite3_stmt *st, void *elem)
{
        PackageFileHit *h = elem;
        int r;

        r = index_package_from_row(st, &h->package);
        if (r < 0)
                return r;
        h->file = (PackageFile){
                .path = index_column_strdup(st, PACKAGE_N_COLUMNS),
                .mode = (mode_t) sqlite3_column_int64(st, PACKAGE_N_COLUMNS + 1),
                .size = (uint64_t) sqlite3_column_int64(st, PACKAGE_N_COLUMNS + 2),
                .digest = index_column_strdup(st, PACKAGE_N_COLUMNS + 3),
                .link = index_column_strdup(st, PACKAGE_N_COLUMNS + 4),
        };
        return h->file.path ? 0 : -ENOMEM;
}

static void done_file_hit(void *elem)
{
        package_file_hit_done(elem);
}

void package_file_hit_done(PackageFileHit *h)
{
        package_info_done(&h->package);
        package_file_done(&h->file);
}

void package_file_hit_array_free(PackageFileHit *a, size_t n)
{
        for (size_t i = 0; i < n; i++)
                package_file_hit_done(&a[i]);
        free(a);
}

int cache_index_find_file(CacheIndex *idx, const char *release, const char *path, PackageFileHit **ret,
                          size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(
                idx,
                "SELECT " PACKAGE_COLUMNS ", f.path, f.mode, f.size, f.digest, f.link FROM files f"
                " JOIN packages p ON p.id = f.package_id"
                " WHERE f.path = ?1 AND (?2 IS NULL OR EXISTS (SELECT 1 FROM package_releases r"
                "  WHERE r.package_id = p.id AND r.release = ?2))"
                " ORDER BY p.name, p.id LIMIT 512",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, release, -1, SQLITE_STATIC);
        return index_sql_collect(st, sizeof(PackageFileHit), fill_file_hit, done_file_hit, (void **) ret,
                                 ret_n);
}

int cache_index_find_file_prefix(CacheIndex *idx, int64_t package_id, const char *prefix, PackageFile **ret,
                                 size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        /* A range instead of LIKE: paths may hold '%' and '_'. U+10FFFF sorts after every byte a
         * UTF-8 path can continue with. */
        r = index_sql_prepare(idx,
                              "SELECT path, mode, size, digest, link FROM files WHERE package_id = ?1"
                              " AND path >= ?2 AND path < ?2 || char(1114111) ORDER BY path LIMIT 4096",
                              &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
        return index_sql_collect(st, sizeof(PackageFile), fill_file, done_file, (void **) ret, ret_n);
}

int cache_index_find_build_siblings(CacheIndex *idx, const char *release, const PackageInfo *p,
                                    PackageInfo **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (!p->sourcerpm)
                return -ENOENT;
        r = index_sql_prepare(
                idx,
                "SELECT " PACKAGE_COLUMNS " FROM packages p WHERE p.sourcerpm = ?1 AND p.epoch = ?2"
                " AND p.version = ?3 AND p.release = ?4"
                " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM package_releases r"
                "  WHERE r.package_id = p.id AND r.release = ?5)) ORDER BY p.name, p.id LIMIT 1024",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, p->sourcerpm, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, p->epoch);
        sqlite3_bind_text(st, 3, p->version, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, p->release, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, release, -1, SQLITE_STATIC);
        return index_collect_packages(st, -1, ret, NULL, ret_n);
}

int cache_index_get_files(CacheIndex *idx, int64_t package_id, PackageFile **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(
                idx, "SELECT path, mode, size, digest, link FROM files WHERE package_id = ? ORDER BY path",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        return index_sql_collect(st, sizeof(PackageFile), fill_file, done_file, (void **) ret, ret_n);
}

static int collect_deps(sqlite3_stmt *st, PackageDep **ret, size_t *ret_n)
{
        return index_sql_collect(st, sizeof(PackageDep), fill_dep, done_dep, (void **) ret, ret_n);
}

int cache_index_get_requires(CacheIndex *idx, int64_t package_id, PackageDep **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(idx, "SELECT name, flags, evr FROM deps WHERE package_id = ? AND type = 1",
                              &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        return collect_deps(st, ret, ret_n);
}

int cache_index_find_providers(CacheIndex *idx, const char *release, const char *name, PackageInfo **ret,
                               PackageDep **ret_provides, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(
                idx,
                "SELECT " PACKAGE_COLUMNS ", d.name, d.flags, d.evr FROM deps d"
                " JOIN packages p ON p.id = d.package_id"
                " WHERE d.type = 0 AND d.name = ?2 AND EXISTS (SELECT 1 FROM package_releases r"
                "  WHERE r.package_id = p.id AND r.release = ?1)"
                " UNION ALL SELECT " PACKAGE_COLUMNS ", f.path, 0, '' FROM files f"
                " JOIN packages p ON p.id = f.package_id"
                " WHERE substr(?2, 1, 1) = '/' AND f.path = ?2 AND EXISTS (SELECT 1 FROM package_releases r"
                "  WHERE r.package_id = p.id AND r.release = ?1)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, release, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        return index_collect_packages(st, PACKAGE_N_COLUMNS, ret, ret_provides, ret_n);
}

int cache_index_find_debug_packages(CacheIndex *idx, const char *release, int64_t **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0, allocated = 0;
        int r, rc;

        /* Ranges on the path (not LIKE) keep to files_path; the two trees are where rpm's
         * find-debuginfo puts debug files and sources. */
        r = index_sql_prepare(
                idx,
                "SELECT DISTINCT f.package_id FROM files f JOIN package_releases pr ON pr.package_id = "
                "f.package_id "
                "WHERE pr.release = ?1 AND ((f.path >= '/usr/lib/debug/' AND f.path < '/usr/lib/debug0') OR "
                "(f.path >= '/usr/src/debug/' AND f.path < '/usr/src/debug0')) ORDER BY f.package_id",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, release, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = ARRAY_RESERVE(ids, allocated, n + 1);
                if (r < 0)
                        return r;
                ids[n++] = sqlite3_column_int64(st, 0);
        }
        if (rc != SQLITE_DONE)
                return sqlite_errno(rc);
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}
