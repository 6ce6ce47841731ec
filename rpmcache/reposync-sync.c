/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reposync-sync.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "cache-extract.h"
#include "cache-import.h"
#include "cache-resolve.h"
#include "cache-objects.h"
#include "cache-release.h"
#include "common-elf.h"
#include "common-path.h"
#include "common-string.h"
#include "reposync-fetch.h"
#include "reposync-metadata.h"

typedef struct Sync {
        const RetraceConfig *cfg;
        Cache *cache;
        const Plugin *plugin;
        const char *version, *arch;
        char *release;
        char *tmp_dir; /* RepoDir/tmp/<release> */
        const SyncCallbacks *cb;
        SyncCounters counters;
} Sync;

_printf_(3, 4) static void sync_message(Sync *s, int level, const char *format, ...)
{
        _cleanup_free_ char *text = NULL;
        va_list ap;

        if (!s->cb || !s->cb->message)
                return;
        va_start(ap, format);
        if (vasprintf(&text, format, ap) < 0)
                text = NULL;
        va_end(ap);
        if (text)
                s->cb->message(level, text, s->cb->userdata);
}

static void sync_progress(Sync *s)
{
        if (s->cb && s->cb->progress)
                s->cb->progress(&s->counters, s->cb->userdata);
}

static void fetch_progress(uint64_t bytes, void *userdata)
{
        Sync *s = userdata;

        s->counters.current_bytes = bytes;
        sync_progress(s);
}

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

static int rpm_store_path(const RetraceConfig *cfg, const char *sha256, char **ret_dir, char **ret_path)
{
        if (asprintf(ret_dir, "%s/packages/%.2s", cfg->repo_dir, sha256) < 0)
                return -ENOMEM;
        if (asprintf(ret_path, "%s/%s.rpm", *ret_dir, sha256) < 0)
                return -ENOMEM;
        return 0;
}

/* Downloads a metadata file and checks it against its checksum. */
static int fetch_verified(Sync *s, const char *mirror, const RepoFile *f, const char *dest, uint64_t max,
                          char **ret_error)
{
        _cleanup_free_ char *url = NULL, *hex = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = fetch_url_join(mirror, f->location, &url);
        if (r < 0)
                return r;
        r = fetch_to_path(url, dest, max, s->cfg->sync_timeout, fetch_progress, s, ret_error);
        if (r < 0)
                return r;
        fd = open(dest, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = digest_fd(fd, f->checksum_algo, &hex, NULL);
        if (r < 0)
                return r;
        if (!streq(hex, f->checksum)) {
                free(*ret_error);
                if (asprintf(ret_error, "%s: %s checksum %s does not match the metadata's %s", url,
                             digest_algo_to_string(f->checksum_algo), hex, f->checksum) < 0)
                        *ret_error = NULL;
                return -EBADMSG;
        }
        return 0;
}

/* Fetches and parses the metadata of one mirror; keeps a copy under metadata/. */
static int load_mirror(Sync *s, const PluginRepo *repo, const char *mirror, RepoFile **ret, size_t *ret_n,
                       char **ret_error)
{
        _cleanup_free_ char *repomd = NULL, *primary = NULL, *meta_dir = NULL, *keep = NULL, *url = NULL;
        RepoFile p = {};
        int r;

        if (asprintf(&repomd, "%s/%s-repomd.xml", s->tmp_dir, repo->name) < 0)
                return -ENOMEM;
        r = fetch_url_join(mirror, "repodata/repomd.xml", &url);
        if (r < 0)
                return r;
        r = fetch_to_path(url, repomd, s->cfg->sync_max_metadata_size, s->cfg->sync_timeout, NULL, NULL,
                          ret_error);
        if (r < 0)
                return r;
        r = repomd_parse(repomd, &p, ret_error);
        if (r < 0)
                return r;
        if (asprintf(&meta_dir, "%s/metadata/%s/%s", s->cfg->repo_dir, s->release, repo->name) < 0 ||
            asprintf(&keep, "%s/%s%s%s", meta_dir,
                     string_startswith(base_name(p.location), p.checksum) ? "" : p.checksum,
                     string_startswith(base_name(p.location), p.checksum) ? "" : "-",
                     base_name(p.location)) < 0) {
                repo_file_done(&p);
                return -ENOMEM;
        }
        r = path_mkdir_p(meta_dir, 0755);
        if (r < 0)
                goto finish;
        if (access(keep, F_OK) < 0) {
                /* The primary file is named by its checksum: an unchanged repository costs one
                 * small download (repomd.xml). Keep the compression suffix: libsolv needs it. */
                if (asprintf(&primary, "%s/%s-primary-%s", s->tmp_dir, repo->name, strrchr(keep, '/') + 1) <
                    0) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = fetch_verified(s, mirror, &p, primary, s->cfg->sync_max_metadata_size, ret_error);
                if (r < 0)
                        goto finish;
                if (rename(primary, keep) < 0) {
                        r = -errno;
                        goto finish;
                }
        }
        r = primary_parse(keep, ret, ret_n, ret_error);
        if (r == -EBADMSG)
                (void) unlink(keep);
finish:
        repo_file_done(&p);
        return r;
}

/* Downloads one package (trying each mirror from the one that served the metadata on) into the
 * store, or finds it already there. ret_path is the stored RPM. */
static int fetch_package(Sync *s, char **mirrors, size_t first, const RepoFile *f, const char *sha256_dir,
                         const char *stored)
{
        size_t n = strv_length(mirrors);
        int r = -ENOENT;

        for (size_t k = 0; k < n; k++) {
                _cleanup_free_ char *tmp = NULL, *error = NULL;
                const char *mirror = mirrors[(first + k) % n];

                if (asprintf(&tmp, "%s/package-%s", s->tmp_dir, base_name(f->location)) < 0)
                        return -ENOMEM;
                r = fetch_verified(s, mirror, f, tmp, s->cfg->cache_max_rpm_size, &error);
                s->counters.current_bytes = 0;
                if (r >= 0) {
                        struct stat st;

                        r = path_mkdir_p(sha256_dir, 0755);
                        if (r >= 0 && stat(tmp, &st) >= 0 && rename(tmp, stored) >= 0) {
                                s->counters.downloaded++;
                                s->counters.download_bytes += st.st_size;
                                return 0;
                        }
                        r = r < 0 ? r : -errno;
                        sync_message(s, LOG_ERR, "Cannot store %s as %s: %s", f->nevra, stored,
                                     strerror(-r));
                        (void) unlink(tmp);
                        return r;
                }
                (void) unlink(tmp);
                sync_message(s, LOG_WARNING, "Mirror %s failed for %s: %s", mirror, f->nevra,
                             error ? error : strerror(-r));
                if (r == -ENOSPC)
                        return r;
        }
        return r;
}

/* Whether the stored RPM can be kept. A package in the index is checked by size (hashing hundreds
 * of GB at every sync is not affordable; extraction verifies the content and moves a damaged RPM
 * aside, so that it is missing here); one not in the index yet is hashed, as its import would. */
static bool stored_rpm_intact(Sync *s, const RepoFile *f, const char *stored)
{
        _cleanup_free_ char *hex = NULL;
        _cleanup_close_ int fd = -EBADF;
        PackageInfo info = {};
        struct stat st;
        int64_t id;
        bool ok;

        fd = open(stored, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return false;
        if (cache_index_find_sha256(s->cache->index, f->checksum, &id) >= 0 &&
            cache_index_get_package(s->cache->index, id, &info) >= 0) {
                ok = info.size == (uint64_t) st.st_size;
                package_info_done(&info);
                return ok;
        }
        return digest_fd(fd, f->checksum_algo, &hex, NULL) >= 0 && streq(hex, f->checksum);
}

static int sync_package(Sync *s, const PluginRepo *repo, char **gpgkeys, char **mirrors, size_t first,
                        const RepoFile *f)
{
        _cleanup_free_ char *dir = NULL, *stored = NULL, *reason = NULL;
        ImportOptions o = {
                .release = s->release,
                .repo = repo->name,
                .gpgcheck = repo->gpgcheck,
                .gpgkeys = gpgkeys,
                .extract = s->cfg->cache_prefetch == CACHE_PREFETCH_ALL,
        };
        int64_t id;
        int r;

        if (f->checksum_algo != digest_algo_from_string("sha256")) {
                sync_message(s, LOG_ERR,
                             "Refusing package %s from %s: the metadata has a %s checksum; only sha256 "
                             "repositories are supported",
                             f->nevra, repo->name, digest_algo_to_string(f->checksum_algo));
                s->counters.refused++;
                return 0;
        }
        o.expected_sha256 = f->checksum;
        r = rpm_store_path(s->cfg, f->checksum, &dir, &stored);
        if (r < 0)
                return r;
        if (access(stored, F_OK) >= 0 && !stored_rpm_intact(s, f, stored)) {
                sync_message(s, LOG_WARNING, "Stored package %s (%s) is damaged: downloading it again",
                             f->nevra, stored);
                if (unlink(stored) >= 0)
                        s->counters.redownloaded++;
        }
        if (access(stored, F_OK) < 0) {
                r = fetch_package(s, mirrors, first, f, dir, stored);
                if (r == -ENOSPC)
                        return r;
                if (r < 0) {
                        sync_message(s, LOG_ERR, "Cannot download package %s of %s from any mirror",
                                     f->nevra, repo->name);
                        s->counters.refused++;
                        return 0;
                }
        }
        r = cache_import_rpm(s->cache, stored, &o, &id, &reason);
        if (r < 0) {
                sync_message(s, LOG_ERR, "Refusing package %s (%s) from %s: %s", f->nevra, stored,
                             repo->name, reason ? reason : strerror(-r));
                s->counters.refused++;
                if (r == -ENOSPC)
                        return r;
                return 0;
        }
        if (r > 0)
                s->counters.imported++;
        return 0;
}

static int sync_repo(Sync *s, const PluginRepo *repo)
{
        _cleanup_strv_free_ char **mirrors = NULL, **gpgkeys = NULL;
        RepoFile *files = NULL;
        size_t n = 0, used = 0;
        int r = -ENOLINK;

        STRV_FOREACH (m, repo->mirrors) {
                _cleanup_free_ char *resolved = NULL;

                r = plugin_mirror_resolve(s->plugin, *m, s->version, s->arch, &resolved);
                if (r < 0)
                        return r;
                r = strv_extend(&mirrors, resolved);
                if (r < 0)
                        return r;
        }
        r = plugin_repo_gpgkeys(repo, s->version, s->arch, &gpgkeys);
        if (r < 0)
                return r;
        s->counters.repo = repo->name;
        for (size_t i = 0; mirrors && mirrors[i]; i++) {
                _cleanup_free_ char *error = NULL;

                r = load_mirror(s, repo, mirrors[i], &files, &n, &error);
                if (r >= 0) {
                        used = i;
                        break;
                }
                sync_message(s, LOG_WARNING, "Mirror %s of repository %s failed: %s%s", mirrors[i],
                             repo->name, error ? error : strerror(-r),
                             mirrors[i + 1] ? "; trying the next mirror" : "");
        }
        if (r < 0) {
                sync_message(s, LOG_ERR,
                             "No mirror of repository %s (%s) could be used: check the mirrors in %s",
                             repo->name, s->release, s->plugin->path);
                s->counters.failed_repos++;
                return 0;
        }
        s->counters.packages_total += n;
        sync_progress(s);
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = sync_package(s, repo, gpgkeys, mirrors, used, &files[i]);
                s->counters.packages_done++;
                sync_progress(s);
        }
        repo_file_array_free(files, n);
        return r;
}

/* CachePrefetch = debugger: the first task of the release does not wait for gdb's extraction. The
 * cores of another architecture than the host's are read by gdb_foreign_package of the host
 * architecture's release of the same version: that one is prefetched for them. */
static int prefetch_debugger(Sync *s)
{
        _cleanup_free_ int64_t *ids = NULL;
        _cleanup_strv_free_ char **unresolved = NULL;
        _cleanup_free_ char *reason = NULL, *distribution = NULL, *version = NULL, *arch = NULL,
                            *host_release = NULL;
        const char *release = s->release, *debugger = s->plugin->gdb_package;
        ExtractResult res = {};
        size_t n = 0;
        int r;

        if (!debugger)
                return 0;
        if (release_split(s->release, &distribution, &version, &arch) >= 0 &&
            arch_is_foreign(host_arch_name(), arch)) {
                r = release_join(distribution, version, host_arch_name(), &host_release);
                if (r < 0)
                        return r;
                release = host_release;
                debugger = s->plugin->gdb_foreign_package;
        }
        r = cache_resolve_with_debugger(s->cache->index, release, debugger, NULL, 0, &ids, &n, &unresolved);
        if (r == -ENOENT) {
                if (host_release)
                        sync_message(
                                s, LOG_WARNING,
                                "The debugger package %s for %s cores is not in %s: nothing prefetched; "
                                "retracing needs it (retrace-server-reposync %s %s %s)",
                                debugger, arch, release, distribution, version, host_arch_name());
                else
                        sync_message(s, LOG_WARNING,
                                     "The debugger package %s is not in %s: nothing prefetched", debugger,
                                     release);
                return 0;
        }
        if (r < 0)
                return r;
        r = cache_extract_packages(s->cache, ids, n, 0, &res, &reason);
        s->counters.extracted += res.packages;
        s->counters.extracted_bytes += res.bytes;
        if (r < 0) {
                sync_message(s, LOG_ERR, "Cannot prefetch the debugger %s of %s: %s", debugger, release,
                             reason ?: strerror(-r));
                s->counters.refused++;
                return r == -ENOSPC ? r : 0;
        }
        return 0;
}

int reposync_release(const RetraceConfig *cfg, Cache *cache, const Plugin *plugin, const char *version,
                     const char *arch, const SyncCallbacks *cb, SyncCounters *ret)
{
        _cleanup_free_ char *locks = NULL, *lock = NULL;
        _cleanup_close_ int lock_fd = -EBADF;
        Sync s = {
                .cfg = cfg, .cache = cache, .plugin = plugin, .version = version, .arch = arch, .cb = cb
        };
        int r;

        r = release_join(plugin->distribution, version, arch, &s.release);
        if (r < 0)
                return r;
        if (asprintf(&locks, "%s/locks", cfg->repo_dir) < 0 ||
            asprintf(&lock, "%s/%s.lock", locks, s.release) < 0 ||
            asprintf(&s.tmp_dir, "%s/tmp/%s", cfg->repo_dir, s.release) < 0) {
                r = -ENOMEM;
                goto finish;
        }
        r = path_mkdir_p(locks, 0755);
        if (r < 0)
                goto finish;
        lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (lock_fd < 0) {
                r = -errno;
                goto finish;
        }
        if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                goto finish;
        }
        /* Whatever an interrupted run left half-downloaded goes; finished downloads are in packages/. */
        (void) path_rm_rf(s.tmp_dir);
        r = path_mkdir_p(s.tmp_dir, 0755);
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < plugin->n_repos && r >= 0; i++)
                if (plugin->repos[i].enabled)
                        r = sync_repo(&s, &plugin->repos[i]);
        if (r >= 0 && cfg->cache_prefetch == CACHE_PREFETCH_DEBUGGER)
                r = prefetch_debugger(&s);
        (void) path_rm_rf(s.tmp_dir);
        if (r >= 0 && s.counters.failed_repos > 0)
                r = -ENOLINK;
        *ret = s.counters;
finish:
        free(s.release);
        free(s.tmp_dir);
        return r;
}
