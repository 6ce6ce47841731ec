/* SPDX-License-Identifier: GPL-2.0-or-later */
/* retrace-server-cache: the package cache for people, scripts and tests.
 *   stats | verify | gc | evict | lookup [--path P] [--package NVR] BUILD-ID… | assemble RELEASE PACKAGE…
 * [--with-debugger] import [--release R --repo NAME] RPM… | known NVR [--release R] [--arch A] | closure
 * RELEASE PACKAGE… */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache-assemble.h"
#include "cache-evict.h"
#include "cache-extract.h"
#include "cache-import.h"
#include "cache-lookup.h"
#include "cache-plugin.h"
#include "cache-release.h"
#include "cache-resolve.h"
#include "cache-store.h"
#include "common-config.h"
#include "common-log.h"
#include "common-string.h"

static const char *arg_config = NULL;
static const char *arg_release = NULL;
static const char *arg_repo = NULL;
static const char *arg_arch = NULL;
static bool arg_with_debugger = false;
static bool arg_debuginfo = false;
static const char *arg_path = NULL;
static char **arg_packages = NULL;
static RetraceConfig *config = NULL;

static int open_cache(Cache **ret)
{
        CacheLimits limits;
        int r;

        cache_limits_from_config(config, &limits);
        r = cache_open(config->cache_dir, &limits, ret);
        if (r < 0)
                return log_error_errno(r, "Cannot open the cache in %s: %m (check CacheDir in %s)",
                                       config->cache_dir,
                                       config->path ? config->path : "the embedded defaults");
        return 0;
}

static double ratio(uint64_t a, uint64_t b)
{
        return b ? (double) a / (double) b : 0.0;
}

/* index.sqlite with its write-ahead log. */
static uint64_t index_bytes(Cache *c)
{
        static const char *const names[] = { "index.sqlite", "index.sqlite-wal", "index.sqlite-shm" };
        uint64_t total = 0;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                struct stat st;

                if (fstatat(c->dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) >= 0)
                        total += (uint64_t) st.st_blocks * 512;
        }
        return total;
}

static int cmd_stats(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        CacheStats s;
        CacheDiskUse u;
        CacheUse use;
        uint64_t gdb_index = 0;
        int r;

        r = open_cache(&c);
        if (r < 0)
                return r;
        r = cache_index_stats(c->index, &s);
        if (r < 0)
                return log_error_errno(r, "Cannot read the index in %s: %s", c->dir,
                                       cache_index_strerror(c->index));
        r = cache_disk_use(c, &u);
        if (r < 0)
                return log_error_errno(r, "Cannot walk %s/objects: %m", c->dir);
        printf("packages: %" PRIu64 "\n", s.packages);
        printf("releases: %" PRIu64 "\n", s.releases);
        printf("package-files: %" PRIu64 "\n", s.files);
        printf("package-file-bytes: %" PRIu64 "\n", s.files_bytes);
        printf("objects: %" PRIu64 "\n", u.objects);
        printf("object-bytes-unique: %" PRIu64 "\n", s.unique_bytes);
        printf("object-disk-bytes: %" PRIu64 "\n", u.object_bytes);
        printf("dedup-ratio: %.2f\n", ratio(s.files_bytes, s.unique_bytes));
        printf("rpm-bytes: %" PRIu64 "\n", s.rpm_bytes);
        printf("installed-bytes: %" PRIu64 "\n", s.installed_bytes);
        printf("packages-extracted: %" PRIu64 "\n", s.extracted_packages);
        printf("packages-indexed-only: %" PRIu64 "\n",
               s.packages - s.extracted_packages - s.partial_packages);
        printf("packages-partial: %" PRIu64 "\n", s.partial_packages);
        printf("partial-files: %" PRIu64 "\n", s.partial_files);
        printf("extracted-rpm-bytes: %" PRIu64 "\n", s.extracted_rpm_bytes);
        printf("extracted-installed-bytes: %" PRIu64 "\n", s.extracted_installed_bytes);
        printf("index-bytes: %" PRIu64 "\n", index_bytes(c));
        printf("roots: %" PRIu64 "\n", u.roots);
        r = cache_use(c->index, &use);
        if (r < 0)
                return log_error_errno(r, "Cannot read the index in %s: %s", c->dir,
                                       cache_index_strerror(c->index));
        r = cache_gdb_index_bytes(c, &gdb_index);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s/gdb-index: %m", c->dir);
        printf("cache-bytes: %" PRIu64 "\n", use.object_bytes + use.root_bytes + gdb_index);
        printf("cache-object-bytes: %" PRIu64 "\n", use.object_bytes);
        printf("cache-root-bytes: %" PRIu64 "\n", use.root_bytes);
        printf("cache-gdb-index-bytes: %" PRIu64 "\n", gdb_index);
        printf("cache-max-size: %" PRIu64 "\n", c->limits.max_size);
        printf("package-hits: %" PRIu64 "\n", use.hits);
        printf("package-misses: %" PRIu64 "\n", use.misses);
        printf("hit-rate: %.3f\n", ratio(use.hits, use.hits + use.misses));
        printf("evicted-packages: %" PRIu64 "\n", use.evicted_packages);
        printf("evicted-bytes: %" PRIu64 "\n", use.evicted_bytes);
        return 0;
}

/* Evicts down to CacheMaxSize (nothing without one), waiting for extractions and assemblies in
 * progress. (assemble and extract do not evict: the root or packages they leave are for whoever
 * asked, and no task pins them.) */
static int evict(Cache *c, bool wait)
{
        CacheEvictResult res = {};
        int r;

        if (c->limits.max_size == 0)
                return 0;
        r = cache_evict(c, c->index, c->limits.max_size, wait, &res);
        if (r < 0)
                return log_error_errno(r, "Cannot evict from %s: %s", c->dir,
                                       cache_index_strerror(c->index));
        if (res.packages > 0 || res.roots > 0)
                log_info("Evicted %" PRIu64 " packages (%.1f MB of objects and gdb indexes), %" PRIu64
                         " roots and %" PRIu64
                         " gdb indexes; the cache holds %.1f MB of CacheMaxSize %.1f MB",
                         res.packages, (double) res.bytes / 1e6, res.roots, res.gdb_indexes,
                         (double) res.use_after / 1e6, (double) c->limits.max_size / 1e6);
        if (res.use_after > c->limits.max_size && !res.busy)
                log_warning("The cache holds %.1f MB, over CacheMaxSize %.1f MB: the rest belongs to "
                            "%" PRIu64 " roots in use",
                            (double) res.use_after / 1e6, (double) c->limits.max_size / 1e6,
                            res.pinned_roots);
        return 0;
}

static int cmd_evict(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        int r;

        r = open_cache(&c);
        if (r < 0)
                return r;
        if (c->limits.max_size == 0)
                log_info("No CacheMaxSize configured: nothing to evict");
        return evict(c, true);
}

static void print_bad(const char *object, const char *reason, void *userdata)
{
        log_error("Object %s is bad: %s", object, reason);
}

static int cmd_verify(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        uint64_t checked = 0;
        int r;

        r = open_cache(&c);
        if (r < 0)
                return r;
        r = cache_verify(c, print_bad, NULL, &checked);
        if (r < 0)
                return log_error_errno(r, "Cannot verify the cache in %s: %m", c->dir);
        printf("checked %" PRIu64 " objects, %d bad\n", checked, r);
        if (r > 0) {
                log_error("%d objects in %s/objects are damaged: re-import the packages that use them "
                          "(retrace-server-reposync) after removing them",
                          r, c->dir);
                return -EBADMSG;
        }
        return 0;
}

static int cmd_gc(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        CacheGcResult g;
        int r;

        r = open_cache(&c);
        if (r < 0)
                return r;
        r = evict(c, true);
        if (r < 0)
                return r;
        r = cache_gc(c, CACHE_ROOT_MIN_AGE_SEC, &g);
        if (r < 0)
                return log_error_errno(r, "Garbage collection in %s failed: %m", c->dir);
        printf("removed %" PRIu64 " objects (%" PRIu64 " bytes), %" PRIu64 " roots, %" PRIu64 " leftovers\n",
               g.objects_removed, g.bytes_removed, g.roots_removed, g.tmp_removed);
        return 0;
}

static void print_hit(const char *build_id, const char *kind, const LookupHit *h)
{
        _cleanup_free_ char *nevra = NULL;

        if (!h->found)
                return;
        nevra = package_info_nevra(&h->package);
        printf("%s %s %s %s by %s%s\n", build_id, kind, strna(nevra), h->path,
               lookup_rule_to_string(h->rule), h->confirmed ? " (build-id confirmed)" : "");
}

/* One resolver for people and the daemon: cache_lookup_module(). */
static int cmd_lookup(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        int r, missing = 0;

        if (argc < 2)
                return log_error_errno(EINVAL, "lookup needs at least one BUILD-ID");
        r = open_cache(&c);
        if (r < 0)
                return r;
        for (int i = 1; i < argc; i++) {
                _cleanup_(module_packages_done) ModulePackages m = {};
                ModuleQuery q = {
                        .build_id = argv[i],
                        .path = arg_path,
                        .arch = arg_arch,
                        .crash_packages = arg_packages,
                };

                if (!string_in_charset(argv[i], "0123456789abcdef") || strlen(argv[i]) < 2 ||
                    strlen(argv[i]) > 128)
                        return log_error_errno(EINVAL, "%s is not a build-id (lower-case hex)", argv[i]);
                r = cache_lookup_module(c, arg_release, &q, &m);
                if (r < 0)
                        return log_error_errno(r, "Lookup of %s failed: %m (%s)", argv[i],
                                               cache_index_strerror(c->index));
                print_hit(argv[i], "binary", &m.binary);
                print_hit(argv[i], "debuginfo", &m.debuginfo);
                print_hit(argv[i], "dwz", &m.dwz);
                if (!m.binary.found || !m.debuginfo.found)
                        STRV_FOREACH (t, m.tried)
                                log_info("%s: %s", argv[i], *t);
                if (!m.binary.found && !m.debuginfo.found) {
                        log_error("Build-id %s is in no package%s%s: sync the release that built it "
                                  "(retrace-server-reposync)",
                                  argv[i], arg_release ? " of " : "", strempty(arg_release));
                        missing++;
                }
        }
        return missing ? -ENOENT : 0;
}

static int find_packages(Cache *c, const char *release, char **specs, int n_specs, int64_t **ret)
{
        _cleanup_free_ int64_t *ids = calloc(n_specs ? n_specs : 1, sizeof(int64_t));
        _cleanup_free_ char *d = NULL, *v = NULL, *a = NULL;
        int r;

        if (!ids)
                return log_oom();
        for (int i = 0; i < n_specs; i++) {
                r = cache_find_package(c->index, release, specs[i], &ids[i]);
                if (r == -ENOENT) {
                        if (release_split(release, &d, &v, &a) >= 0)
                                return log_error_errno(r,
                                                       "Package %s not found in release %s: run "
                                                       "retrace-server-reposync %s %s %s",
                                                       specs[i], release, d, v, a);
                        return log_error_errno(r, "Package %s not found in release %s", specs[i], release);
                }
                if (r < 0)
                        return log_error_errno(r, "Cannot look up %s: %s", specs[i],
                                               cache_index_strerror(c->index));
        }
        *ret = TAKE_PTR(ids);
        return 0;
}

static int debugger_closure(Cache *c, const char *release, const int64_t *fixed, size_t n_fixed,
                            int64_t **ret, size_t *ret_n)
{
        _cleanup_free_ char *d = NULL, *v = NULL, *a = NULL, *error = NULL;
        _cleanup_(plugin_freep) Plugin *p = NULL;
        _cleanup_strv_free_ char **unresolved = NULL;
        int r;

        r = release_split(release, &d, &v, &a);
        if (r < 0)
                return log_error_errno(r, "Release '%s' is not DISTRIBUTION-VERSION-ARCH", release);
        r = plugin_find(config->plugin_dir, d, &p, &error);
        if (r < 0)
                return log_error_errno(r, "No plugin for distribution %s in %s: %s", d, config->plugin_dir,
                                       error ? error : "add one or set PluginDir");
        r = cache_resolve_with_debugger(c->index, release, p->gdb_package, fixed, n_fixed, ret, ret_n,
                                        &unresolved);
        if (r == -ENOENT)
                return log_error_errno(
                        r,
                        "Debugger package %s not found in release %s: run retrace-server-reposync %s %s %s",
                        p->gdb_package, release, d, v, a);
        if (r < 0)
                return log_error_errno(r, "Cannot resolve the dependencies of %s: %m", p->gdb_package);
        STRV_FOREACH (u, unresolved)
                log_warning("Unresolved dependency in %s: %s", release, *u);
        return 0;
}

/* Extracts what of ids is not extracted yet, and says so. */
static int extract(Cache *c, const int64_t *ids, size_t n)
{
        _cleanup_free_ char *reason = NULL;
        ExtractResult res = {};
        int r;

        r = cache_extract_packages(c, ids, n, 0, &res, &reason);
        if (res.packages > 0)
                log_info("Extracted %" PRIu64 " packages (%.1f MB) in %.3f s", res.packages,
                         (double) res.bytes / 1e6, (double) res.usec / 1e6);
        if (r < 0)
                return log_error_errno(r, "%s", reason ?: strerror(-r));
        return 0;
}

/* extract RELEASE PACKAGE… [--with-debugger]: what a task would extract, ahead of it. */
/* The packages of "COMMAND RELEASE PACKAGE…", plus the debugger's closure with --with-debugger. */
static int command_packages(Cache *c, int argc, char **argv, int64_t **ret, size_t *ret_n)
{
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = argc - 2;
        int r;

        r = find_packages(c, argv[1], argv + 2, argc - 2, &ids);
        if (r < 0)
                return r;
        if (arg_with_debugger)
                return debugger_closure(c, argv[1], ids, n, ret, ret_n);
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

static int cmd_extract(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        _cleanup_free_ int64_t *all = NULL;
        size_t n = 0;
        int r;

        if (argc < 2 || (argc < 3 && !arg_with_debugger && !arg_debuginfo))
                return log_error_errno(EINVAL, "extract needs RELEASE and at least one PACKAGE (or "
                                               "--with-debugger, or --debuginfo)");
        if (arg_debuginfo && (argc > 2 || arg_with_debugger))
                return log_error_errno(EINVAL, "extract --debuginfo takes only RELEASE");
        r = open_cache(&c);
        if (r < 0)
                return r;
        if (arg_debuginfo) {
                /* What a debuginfod answers from: every debuginfo and debugsource package. */
                r = cache_index_find_debug_packages(c->index, argv[1], &all, &n);
                if (r < 0)
                        return log_error_errno(r, "Cannot list the debug packages of %s: %m", argv[1]);
                if (n == 0)
                        return log_error_errno(
                                ENOENT,
                                "No package of %s ships debug files; is it synced (retrace-server-"
                                "reposync)?",
                                argv[1]);
                return extract(c, all, n);
        }
        r = command_packages(c, argc, argv, &all, &n);
        if (r < 0)
                return r;
        if (arg_path) {
                /* --path P: of a package that CachePartialExtractSize makes partial, only P. */
                _cleanup_(extract_plan_freep) ExtractPlan *plan = NULL;
                _cleanup_free_ ExtractWant *wants = calloc(n ? n : 1, sizeof(ExtractWant));
                _cleanup_free_ char *reason = NULL;
                ExtractResult res = {};

                if (!wants)
                        return log_oom();
                for (size_t i = 0; i < n; i++)
                        wants[i] = (ExtractWant){ .id = all[i], .path = arg_path };
                r = cache_extract_plan_for(c, all, n, wants, n, &plan);
                if (r < 0)
                        return log_error_errno(r, "Cannot read the index in %s: %s", c->dir,
                                               cache_index_strerror(c->index));
                r = cache_extract_run(c, plan, 0, &res, &reason);
                if (r < 0)
                        return log_error_errno(r, "%s", reason ?: strerror(-r));
                log_info("Extracted %" PRIu64 " packages (%" PRIu64 " partially: %" PRIu64
                         " files; %.1f MB) in %.3f s",
                         res.packages, res.partial, res.files, (double) res.bytes / 1e6,
                         (double) res.usec / 1e6);
                return 0;
        }
        return extract(c, all, n);
}

static int cmd_assemble(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        _cleanup_free_ int64_t *all = NULL;
        _cleanup_free_ char *reason = NULL;
        AssembleResult res = {};
        struct timespec t0, t1;
        size_t n;
        int r;

        if (argc < 3)
                return log_error_errno(EINVAL, "assemble needs RELEASE and at least one PACKAGE");
        r = open_cache(&c);
        if (r < 0)
                return r;
        r = command_packages(c, argc, argv, &all, &n);
        if (r < 0)
                return r;
        r = extract(c, all, n);
        if (r < 0)
                return r;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = cache_assemble(c, all, n, &res, &reason);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (r < 0)
                return log_error_errno(r, "Cannot assemble the root for %s: %s", argv[1],
                                       reason ? reason : strerror(-r));
        printf("%s\n", res.path);
        log_info("%s root of %zu packages (%" PRIu64 " entries, %" PRIu64 " copied) in %.1f ms",
                 res.reused ? "reused" : "built", n, res.files, res.copied,
                 (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
        assemble_result_done(&res);
        return 0;
}

static int cmd_closure(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        _cleanup_free_ int64_t *ids = NULL, *all = NULL;
        size_t n;
        int r;

        if (argc < 2)
                return log_error_errno(EINVAL, "closure needs RELEASE [PACKAGE…]");
        r = open_cache(&c);
        if (r < 0)
                return r;
        r = find_packages(c, argv[1], argv + 2, argc - 2, &ids);
        if (r < 0)
                return r;
        r = debugger_closure(c, argv[1], ids, argc - 2, &all, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                PackageInfo p = {};

                if (cache_index_get_package(c->index, all[i], &p) < 0)
                        continue;
                _cleanup_free_ char *nevra = package_info_nevra(&p);
                printf("%s\n", strna(nevra));
                package_info_done(&p);
        }
        return 0;
}

static int cmd_import(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        /* An RPM given by path is not in RepoDir/packages/, where on-demand extraction reads from:
         * extract it now. */
        ImportOptions o = { .release = arg_release, .repo = arg_repo ?: "local", .extract = true };
        int r, failed = 0;

        r = open_cache(&c);
        if (r < 0)
                return r;
        for (int i = 1; i < argc; i++) {
                _cleanup_free_ char *reason = NULL;
                int64_t id;

                r = cache_import_rpm(c, argv[i], &o, &id, &reason);
                if (r < 0) {
                        log_error_errno(r, "Refusing package %s: %s", argv[i],
                                        reason ? reason : strerror(-r));
                        failed++;
                } else
                        log_info("%s %s", r > 0 ? "Imported" : "Already known:", argv[i]);
        }
        return failed ? -EBADMSG : 0;
}

static int cmd_known(int argc, char **argv)
{
        _cleanup_(cache_closep) Cache *c = NULL;
        bool known;
        int r;

        if (argc != 2)
                return log_error_errno(EINVAL, "known needs exactly one N-V-R");
        r = open_cache(&c);
        if (r < 0)
                return r;
        r = cache_index_nvr_known(c->index, argv[1], arg_arch, arg_release, &known);
        if (r < 0)
                return log_error_errno(r, "Cannot look up %s: %s", argv[1], cache_index_strerror(c->index));
        printf("%s\n", known ? "known" : "unknown");
        return known ? 0 : -ENOENT;
}

static void help(void)
{
        printf("Usage: retrace-server-cache [--config FILE] COMMAND …\n"
               "  stats                               packages, objects, bytes, dedup ratio, use, hits,\n"
               "                                      evictions\n"
               "  verify                              re-hash every object\n"
               "  gc                                  evict down to CacheMaxSize, drop unreferenced "
               "objects,\n"
               "                                      old roots, leftovers\n"
               "  evict                               evict least recently used packages down to "
               "CacheMaxSize\n"
               "  lookup [--release R] [--arch A] [--path P] [--package NVR]… BUILD-ID…\n"
               "                                      binary, debuginfo and dwz package of each\n"
               "                                      build-id (P: the module's path in the core;\n"
               "                                      NVR: packages the crash names)\n"
               "  assemble RELEASE PACKAGE… [--with-debugger]\n"
               "                                      build or reuse a root, print its path\n"
               "  extract [--path P] RELEASE PACKAGE… [--with-debugger]\n"
               "                                      extract the packages not extracted yet\n"
               "  extract --debuginfo RELEASE         extract every debuginfo and debugsource package\n"
               "                                      (debuginfod then answers without waiting)\n"
               "  closure RELEASE [PACKAGE…]          the debugger's dependency closure\n"
               "  import [--release R --repo N] RPM…  import RPM files\n"
               "  known [--release R] [--arch A] NVR  is the package known (exit 0) or not (1)\n");
}

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },  { "release", required_argument, NULL, 'r' },
                { "repo", required_argument, NULL, 'R' },    { "arch", required_argument, NULL, 'a' },
                { "with-debugger", no_argument, NULL, 'd' }, { "debuginfo", no_argument, NULL, 'D' },
                { "path", required_argument, NULL, 'p' },    { "package", required_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },          {},
        };
        static const struct {
                const char *name;
                int (*func)(int argc, char **argv);
        } commands[] = {
                { "stats", cmd_stats },   { "verify", cmd_verify },     { "gc", cmd_gc },
                { "lookup", cmd_lookup }, { "assemble", cmd_assemble }, { "closure", cmd_closure },
                { "import", cmd_import }, { "known", cmd_known },       { "extract", cmd_extract },
                { "evict", cmd_evict },
        };
        _cleanup_free_ char *error = NULL;
        int c, r;

        log_set_program("retrace-server-cache");
        /* "+": options after the command are allowed too (permute), e.g. assemble R P --with-debugger */
        while ((c = getopt_long(argc, argv, "c:r:R:a:dDp:P:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 'r':
                        arg_release = optarg;
                        break;
                case 'R':
                        arg_repo = optarg;
                        break;
                case 'a':
                        arg_arch = optarg;
                        break;
                case 'd':
                        arg_with_debugger = true;
                        break;
                case 'D':
                        arg_debuginfo = true;
                        break;
                case 'p':
                        arg_path = optarg;
                        break;
                case 'P':
                        if (strv_extend(&arg_packages, optarg) < 0)
                                return log_oom();
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return 2;
                }
        if (optind >= argc) {
                help();
                return 2;
        }
        r = config_load(arg_config, &config, &error);
        if (r < 0) {
                log_error("%s", error ? error : "cannot load the configuration");
                return EXIT_FAILURE;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(argv[optind], commands[i].name)) {
                        r = commands[i].func(argc - optind, argv + optind);
                        config = config_free(config);
                        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
                }
        log_error("Unknown command '%s'; see --help", argv[optind]);
        config = config_free(config);
        return 2;
}
