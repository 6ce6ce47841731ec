/* SPDX-License-Identifier: GPL-2.0-or-later */
/* retrace-server-reposync DISTRIBUTION VERSION ARCH: downloads every package of the release's
 * repositories (see the distribution plugin) into RepoDir and imports it into the cache. Never
 * deletes anything; a second run only fetches repomd.xml. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cache-import.h"
#include "cache-plugin.h"
#include "cache-store.h"
#include "common-config.h"
#include "common-log.h"
#include "reposync-sync.h"

typedef struct Progress {
        bool tty;
        bool shown;
        struct timespec start, last;
} Progress;

static double seconds_since(const struct timespec *t)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double) (now.tv_sec - t->tv_sec) + (double) (now.tv_nsec - t->tv_nsec) / 1e9;
}

static void print_progress(const SyncCounters *c, Progress *p, bool final)
{
        double elapsed = seconds_since(&p->start);
        double mib = (double) (c->download_bytes + c->current_bytes) / (1024.0 * 1024.0);

        fprintf(stderr,
                "%s%s: %" PRIu64 "/%" PRIu64 " packages, %" PRIu64 " downloaded, %.1f MiB, %.1f MiB/s%s%s",
                p->tty ? "\r" : "", c->repo ? c->repo : "", c->packages_done, c->packages_total,
                c->downloaded, mib, elapsed > 0 ? mib / elapsed : 0.0, p->tty ? "\033[K" : "",
                final || !p->tty ? "\n" : "");
        p->shown = !final;
}

static void on_progress(const SyncCounters *c, void *userdata)
{
        Progress *p = userdata;

        if (!p->tty || seconds_since(&p->last) < 0.2)
                return;
        clock_gettime(CLOCK_MONOTONIC, &p->last);
        print_progress(c, p, false);
}

static void on_message(int level, const char *text, void *userdata)
{
        Progress *p = userdata;

        if (p->shown) {
                fputs("\r\033[K", stderr);
                p->shown = false;
        }
        log_full_errno(level, 0, "%s", text);
}

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(config_freep) RetraceConfig *cfg = NULL;
        _cleanup_(plugin_freep) Plugin *plugin = NULL;
        _cleanup_(cache_closep) Cache *cache = NULL;
        _cleanup_free_ char *error = NULL;
        const char *config_path = NULL;
        Progress progress = { .tty = isatty(STDERR_FILENO) };
        SyncCallbacks cb = { .message = on_message, .progress = on_progress, .userdata = &progress };
        SyncCounters counters = {};
        CacheLimits limits;
        int c, r;

        log_set_program("retrace-server-reposync");
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'h':
                        printf("Usage: %s [--config FILE] DISTRIBUTION VERSION ARCH\n"
                               "Downloads the release's packages into RepoDir and imports them into the "
                               "cache.\n",
                               argv[0]);
                        return EXIT_SUCCESS;
                default:
                        return 2;
                }
        if (argc - optind != 3) {
                log_error(
                        "Expected DISTRIBUTION VERSION ARCH, e.g. retrace-server-reposync fedora 40 x86_64");
                return 2;
        }
        const char *distribution = argv[optind], *version = argv[optind + 1], *arch = argv[optind + 2];

        r = config_load(config_path, &cfg, &error);
        if (r < 0) {
                log_error("%s", error ? error : "cannot load the configuration");
                return EXIT_FAILURE;
        }
        r = plugin_find(cfg->plugin_dir, distribution, &plugin, &error);
        if (r < 0) {
                log_error_errno(r, "No usable plugin for distribution %s in %s: %s", distribution,
                                cfg->plugin_dir,
                                error ? error : "add one (see plugins/README.md) or set PluginDir");
                return EXIT_FAILURE;
        }
        if (!plugin_has_version(plugin, version))
                log_notice("Version %s is not in the versionlist of %s; syncing it anyway", version,
                           plugin->path);
        r = cache_rpm_init();
        if (r < 0) {
                log_error_errno(r, "Cannot load the rpm configuration: %m (is rpm installed?)");
                return EXIT_FAILURE;
        }
        cache_limits_from_config(cfg, &limits);
        r = cache_open(cfg->cache_dir, &limits, &cache);
        if (r < 0) {
                log_error_errno(r, "Cannot open the cache in %s: %m (check CacheDir)", cfg->cache_dir);
                return EXIT_FAILURE;
        }

        clock_gettime(CLOCK_MONOTONIC, &progress.start);
        progress.last = (struct timespec){};
        r = reposync_release(cfg, cache, plugin, version, arch, &cb, &counters);
        if (r == -EBUSY) {
                log_error("Another retrace-server-reposync for %s %s %s is running (lock in %s/locks); try "
                          "again later",
                          distribution, version, arch, cfg->repo_dir);
                return EXIT_FAILURE;
        }
        if (counters.packages_total > 0 || counters.repo)
                print_progress(&counters, &progress, true);
        printf("synced %s-%s-%s: %" PRIu64 " packages listed, %" PRIu64 " downloaded (%" PRIu64
               " bytes), %" PRIu64 " new in the cache, %" PRIu64 " refused; %" PRIu64 " extracted (%" PRIu64
               " bytes, CachePrefetch=%s)\n",
               distribution, version, arch, counters.packages_total, counters.downloaded,
               counters.download_bytes, counters.imported, counters.refused, counters.extracted,
               counters.extracted_bytes, cache_prefetch_to_string(cfg->cache_prefetch));
        if (r == -ENOLINK) {
                log_error("%" PRIu64 " repositories of %s %s %s could not be synced from any mirror",
                          counters.failed_repos, distribution, version, arch);
                return EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(
                        r, "Sync of %s %s %s stopped: %m%s", distribution, version, arch,
                        r == -ENOSPC ? " (free space in RepoDir and CacheDir, then run it again; it resumes)"
                                     : "");
                return EXIT_FAILURE;
        }
        return counters.refused > 0 ? 3 : EXIT_SUCCESS;
}
