/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <rpm/rpmds.h>
#include <rpm/rpmpgp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache-assemble.h"
#include "cache-import.h"
#include "cache-index.h"
#include "cache-objects.h"
#include "cache-release.h"
#include "cache-resolve.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "reposync-fetch.h"
#include "reposync-metadata.h"
#include "tests.h"

TEST(build_id_paths)
{
        BuildIdKind k;
        char id[129];

        ASSERT_OK(build_id_from_path("/usr/lib/debug/.build-id/92/9d354cfcb448b7.debug", &k, id));
        ASSERT_STREQ(id, "929d354cfcb448b7");
        ASSERT_EQ(k, BUILD_ID_DEBUG);
        ASSERT_OK(build_id_from_path("/usr/lib/debug/.build-id/92/9d354cfcb448b7", &k, id));
        ASSERT_EQ(k, BUILD_ID_DEBUG);
        ASSERT_OK(build_id_from_path("/usr/lib/.build-id/ab/cdef01", &k, id));
        ASSERT_STREQ(id, "abcdef01");
        ASSERT_EQ(k, BUILD_ID_BINARY);
        ASSERT_ERROR(build_id_from_path("/usr/lib/debug/.build-id/92/9d354c.1", &k, id), EINVAL);
        ASSERT_ERROR(build_id_from_path("/usr/lib/debug/.build-id/92/9d354c.1.debug", &k, id), EINVAL);
        ASSERT_ERROR(build_id_from_path("/usr/lib/.build-id/ab/cdef01.debug", &k, id), EINVAL);
        ASSERT_ERROR(build_id_from_path("/usr/lib/debug/.build-id/92", &k, id), EINVAL);
        ASSERT_ERROR(build_id_from_path("/usr/lib/debug/.build-id/XY/abcd", &k, id), EINVAL);
        ASSERT_ERROR(build_id_from_path("/usr/bin/gdb", &k, id), EINVAL);
}

TEST(object_names)
{
        _cleanup_free_ char *a = NULL, *b = NULL, *flat = NULL;
        const char *hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

        ASSERT_OK(cache_object_name(PGPHASHALGO_SHA256, hex, 0104755, &a));
        /* setuid and write bits are gone from the permission class */
        ASSERT_STREQ(a, "sha256/e3/b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855-555");
        ASSERT_OK(cache_object_name(PGPHASHALGO_SHA256, hex, 0100644, &b));
        ASSERT_TRUE(string_endswith(b, "-444") != NULL);
        ASSERT_ERROR(cache_object_name(PGPHASHALGO_SHA256, "abc", 0644, &b), EINVAL);
        ASSERT_ERROR(cache_object_name(PGPHASHALGO_MD5, hex, 0644, &b), EINVAL);
        ASSERT_ERROR(cache_object_name(PGPHASHALGO_SHA256,
                                       "../../../../../../../../../../../../../../../../../../../../../../",
                                       0644, &b),
                     EINVAL);
        ASSERT_OK(cache_object_flat_name(a, &flat));
        ASSERT_NULL(strchr(flat, '/'));
}

TEST(object_writer_checks_digest)
{
        _cleanup_free_ char *dir = strdup("/tmp/test-cache.XXXXXX");
        _cleanup_close_ int dfd = -EBADF, ofd = -EBADF;
        const char *empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        ObjectWriter w;
        struct stat st;

        ASSERT_NOT_NULL(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ofd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(object_writer_open(&w, dfd, "bad", PGPHASHALGO_SHA256));
        ASSERT_OK(object_writer_write(&w, "x", 1));
        ASSERT_ERROR(object_writer_finish(&w, empty, 0644, 0), EBADMSG);
        ASSERT_OK(object_writer_open(&w, dfd, "good", PGPHASHALGO_SHA256));
        ASSERT_OK(object_writer_finish(&w, empty, 06755, 1700000000));
        ASSERT_OK(fstatat(dfd, "good", &st, 0));
        ASSERT_EQ(st.st_mode & 07777, 0555);
        ASSERT_EQ(st.st_mtim.tv_sec, 1700000000); /* the packaged mtime */
        /* Publishing creates the fan-out directories; publishing the same object again is fine. */
        ASSERT_OK(mkdirat(dfd, "objects", 0755));
        {
                _cleanup_close_ int objects = openat(dfd, "objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                ASSERT_OK(cache_object_publish(dfd, "good", objects, "sha256/e3/b0-555"));
                ASSERT_EQ(cache_object_exists(objects, "sha256/e3/b0-555"), 1);
                ASSERT_OK(object_writer_open(&w, dfd, "again", PGPHASHALGO_SHA256));
                ASSERT_OK(object_writer_finish(&w, empty, 0755, 0));
                ASSERT_OK(cache_object_publish(dfd, "again", objects, "sha256/e3/b0-555"));
                ASSERT_EQ(cache_object_exists(objects, "sha256/e3/b0-556"), 0);
        }
        ASSERT_OK(path_rm_rf(dir));
}

static PackageFile F(const char *path, mode_t mode, const char *link)
{
        return (PackageFile){ .path = (char *) path, .mode = mode, .link = (char *) link };
}

TEST(validate_paths)
{
        _cleanup_free_ char *reason = NULL;
        PackageFile ok[] = { F("/usr", S_IFDIR | 0755, NULL), F("/usr/bin/x", S_IFREG | 0755, NULL),
                             F("/usr/lib64", S_IFLNK | 0777, "/usr/lib"),
                             F("/etc/abs", S_IFLNK | 0777, "/etc/x") };
        PackageFile dotdot[] = { F("/usr/../etc/passwd", S_IFREG | 0644, NULL) };
        PackageFile relative[] = { F("usr/bin/x", S_IFREG | 0644, NULL) };
        PackageFile through[] = { F("/opt/evil", S_IFLNK | 0777, "/etc"),
                                  F("/opt/evil/passwd", S_IFREG | 0644, NULL) };
        PackageFile empty_link[] = { F("/opt/l", S_IFLNK | 0777, "") };

        ASSERT_OK(cache_validate_paths(ok, ELEMENTSOF(ok), &reason));
        ASSERT_ERROR(cache_validate_paths(dotdot, 1, &reason), EBADMSG);
        ASSERT_TRUE(strstr(reason, "/usr/../etc/passwd") != NULL);
        ASSERT_ERROR(cache_validate_paths(relative, 1, &reason), EBADMSG);
        ASSERT_ERROR(cache_validate_paths(through, 2, &reason), EBADMSG);
        ASSERT_TRUE(strstr(reason, "beneath symlink '/opt/evil'") != NULL);
        ASSERT_ERROR(cache_validate_paths(empty_link, 1, &reason), EBADMSG);
}

TEST(root_key)
{
        char *a[] = { (char *) "bbb", (char *) "aaa", (char *) "ccc" };
        char *b[] = { (char *) "ccc", (char *) "aaa", (char *) "bbb", (char *) "aaa" };
        char *c[] = { (char *) "ccc", (char *) "aaa" };
        _cleanup_free_ char *ka = NULL, *kb = NULL, *kc = NULL;

        ASSERT_OK(cache_root_key(a, 3, &ka));
        ASSERT_OK(cache_root_key(b, 4, &kb));
        ASSERT_OK(cache_root_key(c, 2, &kc));
        ASSERT_STREQ(ka, kb); /* order and duplicates do not matter */
        ASSERT_FALSE(streq(ka, kc));
        ASSERT_EQ(strlen(ka), 64);
}

TEST(releases)
{
        _cleanup_free_ char *d = NULL, *v = NULL, *a = NULL, *j = NULL;

        ASSERT_OK(release_split("centos-stream-9-x86_64", &d, &v, &a));
        ASSERT_STREQ(d, "centos-stream");
        ASSERT_STREQ(v, "9");
        ASSERT_STREQ(a, "x86_64");
        ASSERT_ERROR(release_split("fedora-40", &d, &v, &a), EINVAL);
        ASSERT_ERROR(release_split("../x-1-y", &d, &v, &a), EINVAL);
        ASSERT_ERROR(release_split("-1-x", &d, &v, &a), EINVAL);
        ASSERT_OK(release_join("fedora", "40", "x86_64", &j));
        ASSERT_STREQ(j, "fedora-40-x86_64");
        ASSERT_ERROR(release_join("fedora", "4-0", "x86_64", &j), EINVAL);
}

TEST(dep_matches)
{
        PackageDep req_ge = { .name = (char *) "libc",
                              .flags = RPMSENSE_GREATER | RPMSENSE_EQUAL,
                              .evr = (char *) "2.30" };
        PackageDep req_any = { .name = (char *) "libc", .evr = (char *) "" };
        PackageDep prov_236 = { .name = (char *) "libc", .flags = RPMSENSE_EQUAL, .evr = (char *) "2.36-1" };
        PackageDep prov_228 = { .name = (char *) "libc", .flags = RPMSENSE_EQUAL, .evr = (char *) "2.28-1" };
        PackageDep prov_unversioned = { .name = (char *) "libc", .evr = (char *) "" };
        PackageDep other = { .name = (char *) "libm", .flags = RPMSENSE_EQUAL, .evr = (char *) "2.36-1" };

        ASSERT_EQ(cache_dep_matches(&req_ge, &prov_236), 1);
        ASSERT_EQ(cache_dep_matches(&req_ge, &prov_228), 0);
        ASSERT_EQ(cache_dep_matches(&req_ge, &prov_unversioned), 1);
        ASSERT_EQ(cache_dep_matches(&req_any, &prov_228), 1);
        ASSERT_EQ(cache_dep_matches(&req_any, &other), 0);
}

/* An index of schema 1 (every package extracted at import) is migrated when opened. */
TEST(index_migrates_from_1)
{
        _cleanup_free_ char *dir = strdup("/tmp/test-cache.XXXXXX"), *path = NULL;
        _cleanup_(cache_index_closep) CacheIndex *idx = NULL;
        CacheStats st;
        sqlite3 *db = NULL;
        bool extracted = false;

        ASSERT_NOT_NULL(mkdtemp(dir));
        path = path_join(dir, "index.sqlite");
        ASSERT_NOT_NULL(path);
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_EQ(
                sqlite3_exec(
                        db,
                        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                        "INSERT INTO meta VALUES ('schema_version', '1');"
                        "CREATE TABLE packages (id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE,"
                        " name TEXT NOT NULL, epoch INTEGER NOT NULL, version TEXT NOT NULL,"
                        " release TEXT NOT NULL, arch TEXT NOT NULL, sourcerpm TEXT, size INTEGER NOT NULL,"
                        " installed_size INTEGER NOT NULL, digest_algo INTEGER NOT NULL,"
                        " imported INTEGER NOT NULL);"
                        "INSERT INTO packages VALUES (1, 'aa', 'gdb', 0, '1', '1', 'x86_64', NULL, 10, 20,"
                        " 8, 1700000000);",
                        NULL, NULL, NULL),
                SQLITE_OK);
        (void) sqlite3_close(db);
        ASSERT_OK(cache_index_open(path, &idx));
        ASSERT_OK(cache_index_get_extracted(idx, 1, &extracted));
        ASSERT_TRUE(extracted);
        ASSERT_OK(cache_index_stats(idx, &st));
        ASSERT_EQ(st.extracted_packages, 1u);
        ASSERT_OK(cache_index_set_extracted(idx, 1, false));
        ASSERT_OK(cache_index_get_extracted(idx, 1, &extracted));
        ASSERT_FALSE(extracted);
        idx = cache_index_close(idx);
        ASSERT_OK(cache_index_open(path, &idx)); /* version 3 now: opens as it is */
        (void) path_rm_rf(dir);
}

/* Schema 3: last use, roots with their packages, counters (what eviction reads). */
TEST(index_use_roots_counters)
{
        _cleanup_free_ char *dir = strdup("/tmp/test-cache.XXXXXX"), *path = NULL;
        _cleanup_(cache_index_closep) CacheIndex *idx = NULL;
        _cleanup_free_ int64_t *ids = NULL;
        _cleanup_strv_free_ char **roots = NULL;
        CacheLruEntry *lru = NULL;
        size_t n = 0;
        uint64_t v = 0, objects = 1, root_bytes = 0;
        bool known = true;
        const int64_t one = 1;
        int64_t id = 0;

        ASSERT_NOT_NULL(mkdtemp(dir));
        path = path_join(dir, "index.sqlite");
        ASSERT_NOT_NULL(path);
        ASSERT_OK(cache_index_open(path, &idx));
        ASSERT_OK(cache_index_add_package(idx,
                                          &(PackageRecord){ .info = { .sha256 = (char *) "aa",
                                                                      .name = (char *) "p",
                                                                      .version = (char *) "1",
                                                                      .release = (char *) "1",
                                                                      .arch = (char *) "noarch",
                                                                      .digest_algo = PGPHASHALGO_SHA256 } },
                                          &id));
        ASSERT_EQ(id, one);
        ASSERT_OK(cache_index_counter_get(idx, "hits", &v));
        ASSERT_EQ(v, 0u);
        ASSERT_OK(cache_index_counter_add(idx, "hits", 3));
        ASSERT_OK(cache_index_counter_add(idx, "hits", 4));
        ASSERT_OK(cache_index_counter_get(idx, "hits", &v));
        ASSERT_EQ(v, 7u);
        ASSERT_OK(cache_index_root_known(idx, "k1", &known));
        ASSERT_FALSE(known);
        ASSERT_OK(cache_index_record_root(idx, "k1", 4096, &one, 1));
        ASSERT_OK(cache_index_record_root(idx, "k1", 8192, &one, 1)); /* replaces */
        ASSERT_OK(cache_index_root_known(idx, "k1", &known));
        ASSERT_TRUE(known);
        ASSERT_OK(cache_index_use(idx, &objects, &root_bytes));
        ASSERT_EQ(objects, 0u);
        ASSERT_EQ(root_bytes, 8192u);
        ASSERT_OK(cache_index_root_packages(idx, "k1", &ids, &n));
        ASSERT_EQ(n, 1u);
        ASSERT_EQ(ids[0], 1);
        ASSERT_OK(cache_index_package_roots(idx, 1, &roots));
        ASSERT_EQ(strv_length(roots), 1u);
        ASSERT_OK(cache_index_forget_root(idx, "k1"));
        ASSERT_OK(cache_index_use(idx, &objects, &root_bytes));
        ASSERT_EQ(root_bytes, 0u);
        ASSERT_OK(cache_index_lru_extracted(idx, &lru, &n));
        ASSERT_EQ(n, 0u);
        free(lru);
        (void) path_rm_rf(dir);
}

TEST(locations_and_urls)
{
        _cleanup_free_ char *u1 = NULL, *u2 = NULL;

        ASSERT_EQ(repo_location_valid("Packages/g/gdb-13.rpm"), 1);
        ASSERT_EQ(repo_location_valid("../../etc/passwd"), 0);
        ASSERT_EQ(repo_location_valid("/etc/passwd"), 0);
        ASSERT_EQ(repo_location_valid("http://evil/x.rpm"), 0);
        ASSERT_EQ(repo_location_valid("a//b"), 0);
        ASSERT_OK(fetch_url_join("/srv/repo/", "repodata/repomd.xml", &u1));
        ASSERT_STREQ(u1, "file:///srv/repo/repodata/repomd.xml");
        ASSERT_OK(fetch_url_join("http://h:8/r", "Packages/a.rpm", &u2));
        ASSERT_STREQ(u2, "http://h:8/r/Packages/a.rpm");
}

DEFINE_TEST_MAIN(TEST_ENTRY(build_id_paths), TEST_ENTRY(object_names),
                 TEST_ENTRY(object_writer_checks_digest), TEST_ENTRY(validate_paths), TEST_ENTRY(root_key),
                 TEST_ENTRY(releases), TEST_ENTRY(dep_matches), TEST_ENTRY(index_migrates_from_1),
                 TEST_ENTRY(index_use_roots_counters), TEST_ENTRY(locations_and_urls))
