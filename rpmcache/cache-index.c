/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-index.h"

#include <errno.h>
#include <rpm/rpmver.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache-index-private.h"
#include "common-sqlite.h"
#include "common-string.h"

static const char *const build_id_kind_table[_BUILD_ID_KIND_MAX] = {
        [BUILD_ID_DEBUG] = "debuginfo",
        [BUILD_ID_BINARY] = "binary",
};

DEFINE_STRING_TABLE_TO_STRING(build_id_kind, BuildIdKind, _BUILD_ID_KIND_MAX)

static const char schema[] =
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS packages ("
        "  id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, name TEXT NOT NULL, epoch INTEGER NOT NULL,"
        "  version TEXT NOT NULL, release TEXT NOT NULL, arch TEXT NOT NULL, sourcerpm TEXT,"
        "  size INTEGER NOT NULL, installed_size INTEGER NOT NULL, digest_algo INTEGER NOT NULL,"
        "  imported INTEGER NOT NULL, extracted INTEGER NOT NULL DEFAULT 0,"
        "  last_used INTEGER NOT NULL DEFAULT 0, partial INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS packages_name ON packages(name);"
        "CREATE TABLE IF NOT EXISTS package_releases ("
        "  package_id INTEGER NOT NULL REFERENCES packages(id), release TEXT NOT NULL, repo TEXT NOT NULL,"
        "  first_seen INTEGER NOT NULL, PRIMARY KEY (package_id, release, repo));"
        "CREATE INDEX IF NOT EXISTS package_releases_release ON package_releases(release);"
        "CREATE TABLE IF NOT EXISTS files ("
        "  package_id INTEGER NOT NULL REFERENCES packages(id), path TEXT NOT NULL, mode INTEGER NOT NULL,"
        "  size INTEGER NOT NULL, digest TEXT, link TEXT, extracted INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS files_package ON files(package_id);"
        "CREATE INDEX IF NOT EXISTS files_path ON files(path);"
        "CREATE TABLE IF NOT EXISTS build_ids ("
        "  build_id TEXT NOT NULL, package_id INTEGER NOT NULL REFERENCES packages(id), path TEXT NOT NULL,"
        "  kind INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS build_ids_build_id ON build_ids(build_id);"
        "CREATE TABLE IF NOT EXISTS deps ("
        "  package_id INTEGER NOT NULL REFERENCES packages(id), type INTEGER NOT NULL, name TEXT NOT NULL,"
        "  flags INTEGER NOT NULL, evr TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS deps_name ON deps(type, name);"
        "CREATE INDEX IF NOT EXISTS deps_package ON deps(package_id, type);"
        "CREATE TABLE IF NOT EXISTS roots (key TEXT PRIMARY KEY, bytes INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS root_packages ("
        "  key TEXT NOT NULL, package_id INTEGER NOT NULL REFERENCES packages(id),"
        "  PRIMARY KEY (key, package_id));"
        "CREATE INDEX IF NOT EXISTS root_packages_package ON root_packages(package_id);"
        "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

enum { DEP_PROVIDE = 0, DEP_REQUIRE = 1 };

const char *cache_index_strerror(CacheIndex *idx)
{
        return idx && idx->db ? sqlite3_errmsg(idx->db) : "no index";
}

static int sql_exec(CacheIndex *idx, const char *sql)
{
        int rc = sqlite3_exec(idx->db, sql, NULL, NULL, NULL);

        return rc == SQLITE_OK ? 0 : sqlite_errno(rc);
}

int index_sql_prepare(CacheIndex *idx, const char *sql, sqlite3_stmt **ret)
{
        int rc = sqlite3_prepare_v2(idx->db, sql, -1, ret, NULL);

        return rc == SQLITE_OK ? 0 : sqlite_errno(rc);
}

static int sql_step_done(sqlite3_stmt *st)
{
        int rc = sqlite3_step(st);

        return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sqlite_errno(rc);
}

int cache_index_begin(CacheIndex *idx)
{
        return sql_exec(idx, "BEGIN IMMEDIATE");
}

int cache_index_commit(CacheIndex *idx)
{
        return sql_exec(idx, "COMMIT");
}

int cache_index_rollback(CacheIndex *idx)
{
        return sql_exec(idx, "ROLLBACK");
}

CacheIndex *cache_index_close(CacheIndex *idx)
{
        if (!idx)
                return NULL;
        (void) sqlite3_close(idx->db);
        return mfree(idx);
}

/* Adds a column unless the table has it (a table the schema has just created has them all). */
static int add_column(CacheIndex *idx, const char *table, const char *column, const char *decl)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *sql = NULL;
        int r, rc;

        if (asprintf(&sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name = ?", table) < 0)
                return -ENOMEM;
        r = index_sql_prepare(idx, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, column, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                return 0;
        if (rc != SQLITE_DONE)
                return sqlite_errno(rc);
        sql = mfree(sql);
        if (asprintf(&sql, "ALTER TABLE %s ADD COLUMN %s %s", table, column, decl) < 0)
                return -ENOMEM;
        return sql_exec(idx, sql);
}

/* Version 1 extracted every package at import: its packages are all extracted. */
static int migrate_from_1(CacheIndex *idx)
{
        int r = add_column(idx, "packages", "extracted", "INTEGER NOT NULL DEFAULT 0");

        if (r < 0)
                return r;
        return sql_exec(idx, "UPDATE packages SET extracted = imported;"
                             "UPDATE meta SET value = '2' WHERE key = 'schema_version';");
}

/* Version 2 did not record use: a package was last used when it was extracted. (The tables roots,
 * root_packages and counters are created by the schema; roots assembled before stay unrecorded
 * and are pruned as before.) Packages were extracted whole. */
static int migrate_from_2(CacheIndex *idx)
{
        int r;

        r = add_column(idx, "packages", "last_used", "INTEGER NOT NULL DEFAULT 0");
        if (r >= 0)
                r = add_column(idx, "packages", "partial", "INTEGER NOT NULL DEFAULT 0");
        if (r >= 0)
                r = add_column(idx, "files", "extracted", "INTEGER NOT NULL DEFAULT 0");
        if (r < 0)
                return r;
        return sql_exec(idx, "UPDATE packages SET last_used = extracted;"
                             "UPDATE meta SET value = '3' WHERE key = 'schema_version';");
}

static int check_schema_version(CacheIndex *idx)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(idx, "SELECT value FROM meta WHERE key = 'schema_version'", &st);
        if (r < 0)
                return r;
        if (sqlite3_step(st) == SQLITE_ROW) {
                const char *v = (const char *) sqlite3_column_text(st, 0);
                char want[16];

                (void) snprintf(want, sizeof(want), "%d", CACHE_INDEX_SCHEMA_VERSION);
                if (v && streq(v, want))
                        return 0;
                if (v && (streq(v, "1") || streq(v, "2"))) {
                        bool from_1 = streq(v, "1");

                        sqlite3_finalize(TAKE_PTR(st));
                        if (from_1) {
                                r = migrate_from_1(idx);
                                if (r < 0)
                                        return r;
                        }
                        return migrate_from_2(idx);
                }
                return -EPROTO;
        }
        sqlite3_finalize(TAKE_PTR(st));
        r = index_sql_prepare(idx, "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int(st, 1, CACHE_INDEX_SCHEMA_VERSION);
        return sql_step_done(st);
}

int cache_index_open(const char *path, CacheIndex **ret)
{
        _cleanup_(cache_index_closep) CacheIndex *idx = NULL;
        int rc, r;

        idx = calloc(1, sizeof(CacheIndex));
        if (!idx)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &idx->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
                return sqlite_errno(rc);
        (void) sqlite3_busy_timeout(idx->db, 60 * 1000);
        r = sql_exec(idx, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
        if (r < 0)
                return r;
        r = sql_exec(idx, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = sql_exec(idx, schema);
        if (r >= 0)
                r = check_schema_version(idx);
        if (r < 0) {
                (void) sql_exec(idx, "ROLLBACK");
                return r;
        }
        r = sql_exec(idx, "COMMIT");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(idx);
        return 0;
}

/* ---- records */

void package_info_done(PackageInfo *p)
{
        free(p->sha256);
        free(p->name);
        free(p->version);
        free(p->release);
        free(p->arch);
        free(p->sourcerpm);
        *p = (PackageInfo){};
}

void package_file_done(PackageFile *f)
{
        free(f->path);
        free(f->digest);
        free(f->link);
        *f = (PackageFile){};
}

void package_dep_done(PackageDep *d)
{
        free(d->name);
        free(d->evr);
        *d = (PackageDep){};
}

void build_id_hit_done(BuildIdHit *h)
{
        package_info_done(&h->package);
        free(h->path);
}

#define DEFINE_ARRAY_FREE(type, name, done)         \
        void name(type *a, size_t n)                \
        {                                           \
                for (size_t i = 0; a && i < n; i++) \
                        done(&a[i]);                \
                free(a);                            \
        }
DEFINE_ARRAY_FREE(PackageInfo, package_info_array_free, package_info_done)
DEFINE_ARRAY_FREE(PackageFile, package_file_array_free, package_file_done)
DEFINE_ARRAY_FREE(PackageDep, package_dep_array_free, package_dep_done)
DEFINE_ARRAY_FREE(BuildIdHit, build_id_hit_array_free, build_id_hit_done)

char *package_info_nevra(const PackageInfo *p)
{
        char *s;

        if (asprintf(&s, "%s-%s-%s.%s", p->name, p->version, p->release, p->arch) < 0)
                return NULL;
        return s;
}

int package_info_compare_evr(const PackageInfo *a, const PackageInfo *b)
{
        int c;

        if (a->epoch != b->epoch)
                return a->epoch < b->epoch ? 1 : -1;
        c = rpmvercmp(a->version, b->version);
        if (c == 0)
                c = rpmvercmp(a->release, b->release);
        return -c;
}

static int compare_evr_qsort(const void *a, const void *b)
{
        return package_info_compare_evr(a, b);
}

char *index_column_strdup(sqlite3_stmt *st, int col)
{
        const char *s = (const char *) sqlite3_column_text(st, col);

        return s ? strdup(s) : NULL;
}

int index_package_from_row(sqlite3_stmt *st, PackageInfo *p)
{
        *p = (PackageInfo){
                .id = sqlite3_column_int64(st, 0),
                .sha256 = index_column_strdup(st, 1),
                .name = index_column_strdup(st, 2),
                .epoch = (uint32_t) sqlite3_column_int64(st, 3),
                .version = index_column_strdup(st, 4),
                .release = index_column_strdup(st, 5),
                .arch = index_column_strdup(st, 6),
                .sourcerpm = index_column_strdup(st, 7),
                .size = (uint64_t) sqlite3_column_int64(st, 8),
                .installed_size = (uint64_t) sqlite3_column_int64(st, 9),
                .digest_algo = sqlite3_column_int(st, 10),
        };
        if (!p->sha256 || !p->name || !p->version || !p->release || !p->arch) {
                package_info_done(p);
                return -ENOMEM;
        }
        return 0;
}

/* Runs st and collects every row as a PackageInfo (plus, when extra_col >= 0, a PackageDep made
 * of the columns extra_col (name), extra_col+1 (flags), extra_col+2 (evr)). */
int index_collect_packages(sqlite3_stmt *st, int extra_col, PackageInfo **ret, PackageDep **ret_deps,
                           size_t *ret_n)
{
        PackageInfo *a = NULL;
        PackageDep *d = NULL;
        size_t n = 0;
        int rc, r = 0;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                PackageInfo *na = reallocarray(a, n + 1, sizeof(PackageInfo));

                if (!na) {
                        r = -ENOMEM;
                        break;
                }
                a = na;
                if (extra_col >= 0) {
                        PackageDep *nd = reallocarray(d, n + 1, sizeof(PackageDep));

                        if (!nd) {
                                r = -ENOMEM;
                                break;
                        }
                        d = nd;
                        d[n] = (PackageDep){
                                .name = index_column_strdup(st, extra_col),
                                .flags = (uint32_t) sqlite3_column_int64(st, extra_col + 1),
                                .evr = index_column_strdup(st, extra_col + 2),
                        };
                }
                r = index_package_from_row(st, &a[n]);
                if (r < 0) {
                        if (d)
                                package_dep_done(&d[n]);
                        break;
                }
                n++;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = sqlite_errno(rc);
        if (r < 0) {
                package_info_array_free(a, n);
                package_dep_array_free(d, n);
                return r;
        }
        *ret = a;
        if (ret_deps)
                *ret_deps = d;
        else
                package_dep_array_free(d, n);
        *ret_n = n;
        return 0;
}

int cache_index_find_sha256(CacheIndex *idx, const char *sha256, int64_t *ret_id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(idx, "SELECT id FROM packages WHERE sha256 = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_errno(rc);
        *ret_id = sqlite3_column_int64(st, 0);
        return 0;
}

int cache_index_get_package(CacheIndex *idx, int64_t id, PackageInfo *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(idx, "SELECT " PACKAGE_COLUMNS " FROM packages p WHERE p.id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_errno(rc);
        return index_package_from_row(st, ret);
}

int build_id_from_path(const char *path, BuildIdKind *ret_kind, char ret[static 129])
{
        const char *rest;
        BuildIdKind kind;
        size_t n;

        if ((rest = string_startswith(path, "/usr/lib/debug/.build-id/")))
                kind = BUILD_ID_DEBUG;
        else if ((rest = string_startswith(path, "/usr/lib/.build-id/")))
                kind = BUILD_ID_BINARY;
        else
                return -EINVAL;
        if (strspn(rest, "0123456789abcdef") != 2 || rest[2] != '/')
                return -EINVAL;
        n = strspn(rest + 3, "0123456789abcdef");
        if (n < 2 || n + 2 > 128)
                return -EINVAL;
        if (rest[3 + n] != '\0' && !(kind == BUILD_ID_DEBUG && streq(rest + 3 + n, ".debug")))
                return -EINVAL;
        memcpy(ret, rest, 2);
        memcpy(ret + 2, rest + 3, n);
        ret[n + 2] = '\0';
        *ret_kind = kind;
        return 0;
}

static int add_deps(CacheIndex *idx, int64_t id, int type, const PackageDep *deps, size_t n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(
                idx, "INSERT INTO deps (package_id, type, name, flags, evr) VALUES (?, ?, ?, ?, ?)", &st);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, id);
                sqlite3_bind_int(st, 2, type);
                sqlite3_bind_text(st, 3, deps[i].name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 4, deps[i].flags);
                sqlite3_bind_text(st, 5, strempty(deps[i].evr), -1, SQLITE_STATIC);
                r = sql_step_done(st);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_files(CacheIndex *idx, int64_t id, const PackageFile *files, size_t n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *bst = NULL;
        int r;

        r = index_sql_prepare(
                idx,
                "INSERT INTO files (package_id, path, mode, size, digest, link) VALUES (?, ?, ?, ?, ?, ?)",
                &st);
        if (r < 0)
                return r;
        r = index_sql_prepare(
                idx, "INSERT INTO build_ids (build_id, package_id, path, kind) VALUES (?, ?, ?, ?)", &bst);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const PackageFile *f = &files[i];
                BuildIdKind kind;
                char bid[129];

                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, id);
                sqlite3_bind_text(st, 2, f->path, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, f->mode);
                sqlite3_bind_int64(st, 4, (sqlite3_int64) f->size);
                sqlite3_bind_text(st, 5, f->digest, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 6, f->link, -1, SQLITE_STATIC);
                r = sql_step_done(st);
                if (r < 0)
                        return r;

                if (build_id_from_path(f->path, &kind, bid) < 0)
                        continue;
                /* "xx/yyyy" and "xx/yyyy.debug" name the same build-id: keep one row each. */
                if (kind == BUILD_ID_DEBUG && !string_endswith(f->path, ".debug") && i + 1 < n &&
                    string_startswith(files[i + 1].path, f->path) &&
                    streq(files[i + 1].path + strlen(f->path), ".debug"))
                        continue;
                sqlite3_reset(bst);
                sqlite3_bind_text(bst, 1, bid, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(bst, 2, id);
                sqlite3_bind_text(bst, 3, f->path, -1, SQLITE_STATIC);
                sqlite3_bind_int(bst, 4, kind);
                r = sql_step_done(bst);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cache_index_add_package(CacheIndex *idx, const PackageRecord *rec, int64_t *ret_id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const PackageInfo *p = &rec->info;
        int64_t id;
        int r;

        r = index_sql_prepare(
                idx,
                "INSERT INTO packages (sha256, name, epoch, version, release, arch, sourcerpm, size,"
                " installed_size, digest_algo, imported, extracted)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, p->sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, p->epoch);
        sqlite3_bind_text(st, 4, p->version, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, p->release, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, p->arch, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, p->sourcerpm, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, (sqlite3_int64) p->size);
        sqlite3_bind_int64(st, 9, (sqlite3_int64) p->installed_size);
        sqlite3_bind_int(st, 10, p->digest_algo);
        sqlite3_bind_int64(st, 11, (sqlite3_int64) time(NULL));
        sqlite3_bind_int64(st, 12, rec->extracted ? (sqlite3_int64) time(NULL) : 0);
        r = sql_step_done(st);
        if (r < 0)
                return r;
        id = sqlite3_last_insert_rowid(idx->db);

        r = add_files(idx, id, rec->files, rec->n_files);
        if (r < 0)
                return r;
        r = add_deps(idx, id, DEP_PROVIDE, rec->provides, rec->n_provides);
        if (r < 0)
                return r;
        r = add_deps(idx, id, DEP_REQUIRE, rec->requires, rec->n_requires);
        if (r < 0)
                return r;
        *ret_id = id;
        return 0;
}

int cache_index_get_extracted(CacheIndex *idx, int64_t package_id, bool *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(idx, "SELECT extracted FROM packages WHERE id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_errno(rc);
        *ret = sqlite3_column_int64(st, 0) != 0;
        return 0;
}

int cache_index_set_extracted(CacheIndex *idx, int64_t package_id, bool extracted)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *files = NULL;
        int r;

        /* Whole or nothing: a partial extraction's records go either way. */
        r = index_sql_prepare(idx, "UPDATE packages SET extracted = ?, partial = 0 WHERE id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, extracted ? (sqlite3_int64) time(NULL) : 0);
        sqlite3_bind_int64(st, 2, package_id);
        r = sql_step_done(st);
        if (r < 0)
                return r;
        r = index_sql_prepare(idx, "UPDATE files SET extracted = 0 WHERE package_id = ? AND extracted != 0",
                              &files);
        if (r < 0)
                return r;
        sqlite3_bind_int64(files, 1, package_id);
        return sql_step_done(files);
}

int cache_index_get_partial(CacheIndex *idx, int64_t package_id, uint64_t *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(idx, "SELECT partial FROM packages WHERE id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_errno(rc);
        *ret = (uint64_t) sqlite3_column_int64(st, 0);
        return 0;
}

int cache_index_get_file_extracted(CacheIndex *idx, int64_t package_id, const char *path, bool *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(idx,
                              "SELECT p.extracted != 0 OR f.extracted != 0 FROM files f JOIN packages p"
                              " ON p.id = f.package_id WHERE f.package_id = ? AND f.path = ?",
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
        *ret = sqlite3_column_int(st, 0) != 0;
        return 0;
}

int cache_index_mark_files_extracted(CacheIndex *idx, int64_t package_id, char *const *paths)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *pkg = NULL;
        int r;

        r = index_sql_prepare(idx, "UPDATE files SET extracted = 1 WHERE package_id = ? AND path = ?", &st);
        if (r < 0)
                return r;
        for (char *const *p = paths; p && *p; p++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, package_id);
                sqlite3_bind_text(st, 2, *p, -1, SQLITE_STATIC);
                r = sql_step_done(st);
                if (r < 0)
                        return r;
        }
        /* A new generation: roots assembled with fewer of its files are not reused. */
        r = index_sql_prepare(
                idx, "UPDATE packages SET partial = partial + 1 WHERE id = ? AND extracted = 0", &pkg);
        if (r < 0)
                return r;
        sqlite3_bind_int64(pkg, 1, package_id);
        return sql_step_done(pkg);
}

int cache_index_add_release(CacheIndex *idx, int64_t package_id, const char *release, const char *repo)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(
                idx,
                "INSERT OR IGNORE INTO package_releases (package_id, release, repo, first_seen) "
                "VALUES (?, ?, ?, ?)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        sqlite3_bind_text(st, 2, release, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, repo, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) time(NULL));
        return sql_step_done(st);
}

/* Splits "name-version-release" at its last two dashes (an "epoch:" prefix on the version is
 * removed). Returns -EINVAL when there are fewer than two dashes. */
static int split_nvr(const char *nvr, char **ret_name, char **ret_version, char **ret_release)
{
        const char *d2 = strrchr(nvr, '-'), *d1, *v;

        if (!d2 || d2 == nvr)
                return -EINVAL;
        for (d1 = d2 - 1; d1 > nvr && *d1 != '-'; d1--)
                ;
        if (d1 == nvr)
                return -EINVAL;
        v = d1 + 1;
        if (strchr(v, ':') && strchr(v, ':') < d2)
                v = strchr(v, ':') + 1;
        *ret_name = strndup(nvr, d1 - nvr);
        *ret_version = strndup(v, d2 - v);
        *ret_release = strdup(d2 + 1);
        if (!*ret_name || !*ret_version || !*ret_release)
                return -ENOMEM;
        return 0;
}

/* "name-E:version-release[.arch]" → "name-version-release[.arch]" and E; *ret_plain = NULL and
 * *ret_epoch = -1 when spec has no epoch. */
static int spec_split_epoch(const char *spec, char **ret_plain, int64_t *ret_epoch)
{
        const char *colon = strrchr(spec, ':'), *dash;
        char *end;
        unsigned long e;

        *ret_plain = NULL;
        *ret_epoch = -1;
        if (!colon)
                return 0;
        for (dash = colon; dash > spec && dash[-1] != '-'; dash--)
                ;
        if (dash == spec || dash == colon)
                return 0;
        errno = 0;
        e = strtoul(dash, &end, 10);
        if (errno != 0 || end != colon || e > UINT32_MAX)
                return 0;
        if (asprintf(ret_plain, "%.*s%s", (int) (dash - spec), spec, colon + 1) < 0)
                return -ENOMEM;
        *ret_epoch = (int64_t) e;
        return 0;
}

int cache_index_find_packages(CacheIndex *idx, const char *release, const char *spec, const char *arch,
                              PackageInfo **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *plain = NULL;
        PackageInfo *a = NULL;
        size_t n = 0, m = 0;
        int64_t epoch = -1;
        int r;

        /* "name-EPOCH:version-release" (as ABRT writes a package with an epoch): match the epoch,
         * and the rest as usual. */
        r = spec_split_epoch(spec, &plain, &epoch);
        if (r < 0)
                return r;
        if (plain)
                spec = plain;
        /* A full N-V-R(.A) match ranks before a package that is merely called spec; within a rank,
         * newest first. */
        r = index_sql_prepare(idx,
                              "SELECT DISTINCT " PACKAGE_COLUMNS " FROM packages p"
                              " JOIN package_releases r ON r.package_id = p.id"
                              " WHERE (?1 IS NULL OR r.release = ?1) AND (?2 IS NULL OR p.arch = ?2)"
                              " AND (?4 < 0 OR p.epoch = ?4)"
                              " AND (p.name = ?3 OR p.name || '-' || p.version || '-' || p.release = ?3"
                              "  OR p.name || '-' || p.version || '-' || p.release || '.' || p.arch = ?3)",
                              &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, release, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, arch, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, spec, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, epoch);
        r = index_collect_packages(st, -1, &a, NULL, &n);
        if (r < 0)
                return r;
        /* index_collect_packages() does not keep by_name; recompute it from the name. */
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i].name, spec)) {
                        PackageInfo t = a[m];

                        a[m++] = a[i];
                        a[i] = t;
                }
        if (m > 0) {
                for (size_t i = m; i < n; i++)
                        package_info_done(&a[i]);
                n = m;
        }
        qsort_safe(a, n, sizeof(PackageInfo), compare_evr_qsort);
        *ret = a;
        *ret_n = n;
        return 0;
}

int cache_index_nvr_known(CacheIndex *idx, const char *nvr, const char *arch, const char *release,
                          bool *ret_known)
{
        _cleanup_free_ char *n = NULL, *v = NULL, *rel = NULL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        if (split_nvr(nvr, &n, &v, &rel) < 0) {
                *ret_known = false;
                return 0;
        }
        r = index_sql_prepare(
                idx,
                "SELECT 1 FROM packages p JOIN package_releases r ON r.package_id = p.id"
                " WHERE p.name = ? AND p.version = ? AND p.release = ?"
                " AND (?4 IS NULL OR p.arch = ?4 OR p.arch = 'noarch') AND (?5 IS NULL OR r.release "
                "= ?5) LIMIT 1",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, rel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, arch, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, release, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return sqlite_errno(rc);
        *ret_known = rc == SQLITE_ROW;
        return 0;
}

static int query_u64(CacheIndex *idx, const char *sql, uint64_t *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(idx, sql, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return sqlite_errno(rc);
        *ret = (uint64_t) sqlite3_column_int64(st, 0);
        return 0;
}

/* The object store keys files by digest and by the permission bits left after dropping write,
 * setuid, setgid and sticky bits; the SQL below mirrors cache_object_mode(). */
#define OBJECT_MODE_SQL "(mode & 365)" /* 0555 */
#define REGULAR_SQL     "(mode & 61440) = 32768"

int cache_index_release_stamp(CacheIndex *idx, int64_t *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(idx, "SELECT COALESCE(MAX(rowid), 0) FROM package_releases", &st);
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}

int cache_index_list_releases(CacheIndex *idx, char ***ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r, rc;

        r = index_sql_prepare(idx, "SELECT DISTINCT release FROM package_releases ORDER BY release", &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = strv_extend(&l, (const char *) sqlite3_column_text(st, 0));
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return sqlite_errno(rc);
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int cache_index_stats(CacheIndex *idx, CacheStats *ret)
{
        CacheStats s = {};
        int r;

        struct {
                const char *sql;
                uint64_t *field;
        } q[] = {
                { "SELECT COUNT(*) FROM packages", &s.packages },
                { "SELECT COUNT(DISTINCT release) FROM package_releases", &s.releases },
                { "SELECT COUNT(*) FROM files WHERE " REGULAR_SQL, &s.files },
                { "SELECT COALESCE(SUM(size), 0) FROM files WHERE " REGULAR_SQL, &s.files_bytes },
                { "SELECT COUNT(*) FROM (SELECT DISTINCT digest, " OBJECT_MODE_SQL
                  " FROM files WHERE " REGULAR_SQL ")",
                  &s.unique_objects },
                { "SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT digest, " OBJECT_MODE_SQL
                  ", size FROM files WHERE " REGULAR_SQL ")",
                  &s.unique_bytes },
                { "SELECT COALESCE(SUM(size), 0) FROM packages", &s.rpm_bytes },
                { "SELECT COALESCE(SUM(installed_size), 0) FROM packages", &s.installed_bytes },
                { "SELECT COUNT(*) FROM packages WHERE extracted != 0", &s.extracted_packages },
                { "SELECT COUNT(*) FROM packages WHERE extracted = 0 AND partial != 0",
                  &s.partial_packages },
                { "SELECT COUNT(*) FROM files WHERE extracted != 0", &s.partial_files },
                { "SELECT COALESCE(SUM(size), 0) FROM packages WHERE extracted != 0",
                  &s.extracted_rpm_bytes },
                { "SELECT COALESCE(SUM(installed_size), 0) FROM packages WHERE extracted != 0",
                  &s.extracted_installed_bytes },
        };
        for (size_t i = 0; i < ELEMENTSOF(q); i++) {
                r = query_u64(idx, q[i].sql, q[i].field);
                if (r < 0)
                        return r;
        }
        *ret = s;
        return 0;
}

int cache_index_foreach_object(CacheIndex *idx, CacheObjectCallback cb, void *userdata)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(
                idx,
                "SELECT DISTINCT p.digest_algo, f.digest, f.mode & 365 FROM files f JOIN packages p"
                " ON p.id = f.package_id WHERE (f.mode & 61440) = 32768"
                " AND (p.extracted != 0 OR f.extracted != 0)",
                &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *digest = (const char *) sqlite3_column_text(st, 1);

                if (!digest)
                        continue;
                r = cb(sqlite3_column_int(st, 0), digest, (mode_t) sqlite3_column_int64(st, 2), userdata);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

/* ---- use, roots and counters (eviction) */

int cache_index_touch_packages(CacheIndex *idx, const int64_t *ids, size_t n, int64_t when)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(idx, "UPDATE packages SET last_used = MAX(last_used, ?) WHERE id = ?", &st);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, when);
                sqlite3_bind_int64(st, 2, ids[i]);
                r = sql_step_done(st);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cache_index_counter_add(CacheIndex *idx, const char *name, uint64_t delta)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(idx,
                              "INSERT INTO counters (name, value) VALUES (?1, ?2)"
                              " ON CONFLICT(name) DO UPDATE SET value = value + ?2",
                              &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) delta);
        return sql_step_done(st);
}

int cache_index_counter_get(CacheIndex *idx, const char *name, uint64_t *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(idx, "SELECT value FROM counters WHERE name = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return sqlite_errno(rc);
        *ret = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64(st, 0) : 0;
        return 0;
}

int cache_index_record_root(CacheIndex *idx, const char *key, uint64_t bytes, const int64_t *ids, size_t n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL, *pk = NULL;
        int r;

        r = cache_index_forget_root(idx, key);
        if (r < 0)
                return r;
        r = index_sql_prepare(idx, "INSERT INTO roots (key, bytes) VALUES (?, ?)", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) bytes);
        r = sql_step_done(st);
        if (r < 0)
                return r;
        r = index_sql_prepare(idx, "INSERT OR IGNORE INTO root_packages (key, package_id) VALUES (?, ?)",
                              &pk);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                sqlite3_reset(pk);
                sqlite3_bind_text(pk, 1, key, -1, SQLITE_STATIC);
                sqlite3_bind_int64(pk, 2, ids[i]);
                r = sql_step_done(pk);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cache_index_root_known(CacheIndex *idx, const char *key, bool *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(idx, "SELECT 1 FROM roots WHERE key = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return sqlite_errno(rc);
        *ret = rc == SQLITE_ROW;
        return 0;
}

int cache_index_forget_root(CacheIndex *idx, const char *key)
{
        _cleanup_stmt_ sqlite3_stmt *a = NULL, *b = NULL;
        int r;

        r = index_sql_prepare(idx, "DELETE FROM root_packages WHERE key = ?", &a);
        if (r < 0)
                return r;
        sqlite3_bind_text(a, 1, key, -1, SQLITE_STATIC);
        r = sql_step_done(a);
        if (r < 0)
                return r;
        r = index_sql_prepare(idx, "DELETE FROM roots WHERE key = ?", &b);
        if (r < 0)
                return r;
        sqlite3_bind_text(b, 1, key, -1, SQLITE_STATIC);
        return sql_step_done(b);
}

static int collect_strings(sqlite3_stmt *st, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        int r, rc;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = strv_extend(&l, (const char *) sqlite3_column_text(st, 0));
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return sqlite_errno(rc);
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int cache_index_list_roots(CacheIndex *idx, char ***ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(idx, "SELECT key FROM roots ORDER BY key", &st);
        if (r < 0)
                return r;
        return collect_strings(st, ret);
}

int cache_index_package_roots(CacheIndex *idx, int64_t package_id, char ***ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = index_sql_prepare(idx, "SELECT key FROM root_packages WHERE package_id = ? ORDER BY key", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        return collect_strings(st, ret);
}

int cache_index_root_packages(CacheIndex *idx, const char *key, int64_t **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ int64_t *a = NULL;
        size_t n = 0, alloc = 0;
        int r, rc;

        r = index_sql_prepare(idx, "SELECT package_id FROM root_packages WHERE key = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (ARRAY_RESERVE(a, alloc, n + 1) < 0)
                        return -ENOMEM;
                a[n++] = sqlite3_column_int64(st, 0);
        }
        if (rc != SQLITE_DONE)
                return sqlite_errno(rc);
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
}

int cache_index_use(CacheIndex *idx, uint64_t *ret_object_bytes, uint64_t *ret_root_bytes)
{
        int r;

        r = query_u64(idx,
                      "SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT p.digest_algo, f.digest,"
                      " f.mode & 365, f.size FROM files f JOIN packages p ON p.id = f.package_id"
                      " WHERE (f.mode & 61440) = 32768 AND (p.extracted != 0 OR f.extracted != 0))",
                      ret_object_bytes);
        if (r < 0)
                return r;
        return query_u64(idx, "SELECT COALESCE(SUM(bytes), 0) FROM roots", ret_root_bytes);
}

int cache_index_lru_extracted(CacheIndex *idx, CacheLruEntry **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ CacheLruEntry *a = NULL;
        size_t n = 0, alloc = 0;
        int r, rc;

        r = index_sql_prepare(idx,
                              "SELECT p.id, (SELECT COALESCE(SUM(f.size), 0) FROM files f"
                              " WHERE f.package_id = p.id AND (f.mode & 61440) = 32768)"
                              " FROM packages p WHERE p.extracted != 0 OR p.partial != 0"
                              " ORDER BY MAX(p.last_used, p.extracted), p.id",
                              &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (ARRAY_RESERVE(a, alloc, n + 1) < 0)
                        return -ENOMEM;
                a[n++] = (CacheLruEntry){ .id = sqlite3_column_int64(st, 0),
                                          .bytes = (uint64_t) sqlite3_column_int64(st, 1) };
        }
        if (rc != SQLITE_DONE)
                return sqlite_errno(rc);
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
}

int cache_index_foreach_package_object(CacheIndex *idx, int64_t package_id, CacheObjectCallback cb,
                                       void *userdata)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = index_sql_prepare(
                idx,
                "SELECT DISTINCT p.digest_algo, f.digest, f.mode & 365 FROM files f JOIN packages p"
                " ON p.id = f.package_id WHERE (f.mode & 61440) = 32768 AND p.id = ?",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, package_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *digest = (const char *) sqlite3_column_text(st, 1);

                if (!digest)
                        continue;
                r = cb(sqlite3_column_int(st, 0), digest, (mode_t) sqlite3_column_int64(st, 2), userdata);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}
