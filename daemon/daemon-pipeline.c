/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pipeline's core: a task's stages with their timing and status, its log, the root assembled from
 * the cache, and the one way to run a debugger (or a converter) in retrace-sandbox. What differs per
 * task kind is in daemon-pipeline-coredump.c (gdb) and daemon-pipeline-vmcore.c (crash). */
#include "daemon-pipeline.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache-assemble.h"
#include "cache-evict.h"
#include "cache-extract.h"
#include "cache-release.h"
#include "cache-resolve.h"
#include "common-elf.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-osrelease.h"
#include "common-path.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-dedup.h"
#include "daemon-hooks.h"
#include "daemon-pipeline-task.h"
#include "daemon-remote.h"
#include "daemon-taskdir.h"
#include "sandbox-status.h"

extern char **environ;

void task_log(TaskRun *t, char level, const char *format, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int n;

        va_start(ap, format);
        n = vasprintf(&msg, format, ap);
        va_end(ap);
        if (n >= 0 && t->log_fd >= 0)
                task_log_append(t->log_fd, level, msg);
}

int task_failf(char **ret_failure, int error, const char *format, ...)
{
        va_list ap;

        free(*ret_failure);
        va_start(ap, format);
        if (vasprintf(ret_failure, format, ap) < 0)
                *ret_failure = NULL;
        va_end(ap);
        return error;
}

static int task_stage(TaskRun *t, const char *stage)
{
        task_log(t, 'I', "%s", stage);
        return task_store_set_stage(t->p->store, t->id, stage);
}

static void task_run_done(TaskRun *t)
{
        safe_close(t->root_pin_fd);
        safe_close(t->cache_lock_fd);
        safe_close(t->save_dir_fd);
        safe_close(t->crash_fd);
        safe_close(t->results_fd);
        safe_close(t->log_fd);
        free(t->executable);
        free(t->package);
        free(t->os_release);
        free(t->os_info);
        free(t->packages_list);
        core_info_free(t->core);
        free(t->release);
        free(t->debugger_release);
        free(t->ids);
        free(t->root_ids);
        for (size_t i = 0; i < t->n_wants; i++)
                free((char *) t->wants[i].path);
        free(t->wants);
        strv_free(t->missing);
        task_resolution_done(&t->resolution);
        free(t->root);
        free(t->dump_name);
        free(t->dump_dir);
        vmcore_info_free(t->vmcore_info);
        free(t->vmlinux);
        free(t->vmlinux_object);
        strv_free(t->module_files);
        free(t->kernel_nevra);
        free(t->duphash);
        task_reuse_release(t);
}

/* ---------------------------------------------------------------- plugins and releases */

int pipeline_load_plugins(Pipeline *p, char **ret_error)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int r;

        d = opendir(p->config->plugin_dir);
        if (!d) {
                if (ret_error)
                        (void) asprintf(ret_error, "cannot read the plugin directory %s: %s",
                                        p->config->plugin_dir, strerror(errno));
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.' && string_endswith(de->d_name, ".conf")) {
                        r = strv_extend(&names, de->d_name);
                        if (r < 0)
                                return r;
                }
        STRV_FOREACH (name, names) {
                _cleanup_free_ char *path = path_join(p->config->plugin_dir, *name);
                Plugin *pl = NULL, **np;

                if (!path)
                        return -ENOMEM;
                r = plugin_load(path, &pl, ret_error);
                if (r < 0)
                        return r;
                np = realloc(p->plugins, (p->n_plugins + 1) * sizeof(Plugin *));
                if (!np) {
                        plugin_free(pl);
                        return -ENOMEM;
                }
                p->plugins = np;
                p->plugins[p->n_plugins++] = pl;
        }
        return 0;
}

void pipeline_done(Pipeline *p)
{
        for (size_t i = 0; i < p->n_plugins; i++)
                plugin_free(p->plugins[i]);
        p->plugins = mfree(p->plugins);
        p->n_plugins = 0;
        p->reuse_running = strv_free(p->reuse_running);
        p->unsaved = mfree(p->unsaved);
        p->n_unsaved = 0;
}

const Plugin *pipeline_plugin_for_distribution(Pipeline *p, const char *distribution)
{
        for (size_t i = 0; i < p->n_plugins; i++)
                if (streq(p->plugins[i]->distribution, distribution))
                        return p->plugins[i];
        return NULL;
}

int pipeline_debuginfod_find(Pipeline *p, DebuginfodKind kind, const char *build_id, const char *arg,
                             DebuginfodFile *ret)
{
        int r;

        pthread_mutex_lock(&p->cache_lock);
        r = cache_debuginfod_find(p->cache, kind, build_id, arg, ret);
        pthread_mutex_unlock(&p->cache_lock);
        if (r < 0 && r != -ENOENT)
                log_error_errno(r, "debuginfod: the %s of build-id %s cannot be read from the cache: %m",
                                debuginfod_kind_to_string(kind), build_id);
        return r;
}

int pipeline_supported_releases(Pipeline *p, char ***ret)
{
        int r;

        pthread_mutex_lock(&p->cache_lock);
        r = cache_index_list_releases(p->cache->index, ret);
        pthread_mutex_unlock(&p->cache_lock);
        return r;
}

static int strv_extend_unique(char ***l, const char *s)
{
        return strv_contains(*l, s) ? 0 : strv_extend(l, s);
}

/* Whether a debugger that reads the release's cores is available: the host's own for its architecture
 * (and its multilib companion); for another architecture the plugin's gdb_foreign_package in the host
 * architecture's release of the same version, which must be synced. */
static bool release_readable(Pipeline *p, char *const *synced, const char *id)
{
        _cleanup_free_ char *distribution = NULL, *version = NULL, *arch = NULL, *host_release = NULL;
        const char *host = host_arch_name();
        const Plugin *pl;
        int64_t pkg;
        int r;

        if (release_split(id, &distribution, &version, &arch) < 0)
                return false;
        if (!arch_is_foreign(host, arch))
                return true;
        pl = pipeline_plugin_for_distribution(p, distribution);
        if (!pl || release_join(distribution, version, host, &host_release) < 0 ||
            !strv_contains(synced, host_release))
                return false;
        pthread_mutex_lock(&p->cache_lock);
        r = cache_find_package(p->cache->index, host_release, pl->gdb_foreign_package, &pkg);
        pthread_mutex_unlock(&p->cache_lock);
        return r >= 0;
}

int pipeline_client_releases(Pipeline *p, char ***ret)
{
        _cleanup_strv_free_ char **all = NULL, **synced = NULL, **list = NULL;
        size_t max_templates = 0;
        int r;

        r = pipeline_supported_releases(p, &all);
        if (r < 0)
                return r;
        /* Only the releases whose cores can be read here: a foreign architecture needs its debugger. */
        STRV_FOREACH (id, all)
                if (release_readable(p, all, *id) && (r = strv_extend(&synced, *id)) < 0)
                        return r;
        for (size_t i = 0; i < p->n_plugins; i++)
                max_templates = MAX(max_templates, strv_length(p->plugins[i]->client_releases));
        /* The first spelling of every release, then the others, then our ids: old clients read 32. */
        for (size_t k = 0; k < max_templates; k++)
                STRV_FOREACH (id, synced) {
                        _cleanup_free_ char *distribution = NULL, *version = NULL, *arch = NULL,
                                            *spelled = NULL;
                        const Plugin *pl;

                        if (release_split(*id, &distribution, &version, &arch) < 0)
                                continue;
                        pl = pipeline_plugin_for_distribution(p, distribution);
                        if (!pl || k >= strv_length(pl->client_releases))
                                continue;
                        r = plugin_client_release(pl->client_releases[k], version, arch, &spelled);
                        if (r < 0)
                                return r;
                        if (strchr(spelled, ' '))
                                continue; /* the old client splits the list at spaces */
                        r = strv_extend_unique(&list, spelled);
                        if (r < 0)
                                return r;
                }
        STRV_FOREACH (id, synced) {
                r = strv_extend_unique(&list, *id);
                if (r < 0)
                        return r;
        }
        if (!list && !(list = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(list);
        return 0;
}

int pipeline_map_release(Pipeline *p, const char *id, char **ret_release, char **ret_message)
{
        _cleanup_strv_free_ char **synced = NULL;
        _cleanup_free_ char *list = NULL;
        int r;

        *ret_message = NULL;
        r = pipeline_supported_releases(p, &synced);
        if (r < 0)
                return r;
        if (strv_contains(synced, id)) {
                char *copy = strdup(id);
                if (!copy)
                        return -ENOMEM;
                *ret_release = copy;
                return 0;
        }
        for (size_t i = 0; i < p->n_plugins; i++) {
                _cleanup_free_ char *version = NULL, *arch = NULL, *release = NULL;
                const Plugin *pl = p->plugins[i];

                r = plugin_parse_client_release(pl, id, &version, &arch);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                r = release_join(pl->distribution, version, arch, &release);
                if (r < 0)
                        return r;
                if (strv_contains(synced, release)) {
                        *ret_release = TAKE_PTR(release);
                        return 0;
                }
                if (asprintf(ret_message,
                             "Release %s%s%s%s is not synced on this server: run retrace-server-reposync %s "
                             "%s %s",
                             id, streq(id, release) ? "" : " (", streq(id, release) ? "" : release,
                             streq(id, release) ? "" : ")", pl->distribution, version, arch) < 0)
                        return -ENOMEM;
                return -ENOENT;
        }
        r = pipeline_client_releases(p, &synced);
        if (r < 0)
                return r;
        list = strv_join(synced, " ");
        if (asprintf(ret_message, "Release %s is not supported by this server. Supported releases: %s", id,
                     isempty(list) ? "none (run retrace-server-reposync)" : list) < 0)
                return -ENOMEM;
        return -ENOENT;
}

int pipeline_package_known(Pipeline *p, const char *nvr, const char *arch, const char *release, bool *ret)
{
        int r;

        pthread_mutex_lock(&p->cache_lock);
        r = cache_index_nvr_known(p->cache->index, nvr, arch, release, ret);
        pthread_mutex_unlock(&p->cache_lock);
        return r;
}

/* "NAME-VERSION-ARCH" as ABRT 2.15's abrt-retrace-client spells it (see plugins/README.md):
 * REDHAT_BUGZILLA_PRODUCT else NAME, REDHAT_BUGZILLA_PRODUCT_VERSION else VERSION_ID cut at a space,
 * "Fedora"→"fedora" ("Rawhide"→"rawhide"), "Red Hat Enterprise Linux"→"rhel", i586/i686→i386. */
static int abrt_release_id(const char *os_info, const char *arch, char **ret)
{
        _cleanup_free_ char *name = os_release_value(os_info, "REDHAT_BUGZILLA_PRODUCT"),
                            *version = os_release_value(os_info, "REDHAT_BUGZILLA_PRODUCT_VERSION");

        if (!name)
                name = os_release_value(os_info, "NAME");
        if (!version)
                version = os_release_value(os_info, "VERSION_ID");
        if (!name || !version || !arch)
                return -ENOENT;
        version[strcspn(version, " ")] = '\0';
        if (streq(name, "Fedora")) {
                name[0] = 'f';
                if (streq(version, "Rawhide"))
                        version[0] = 'r';
        } else if (streq(name, "Red Hat Enterprise Linux")) {
                free(name);
                if (!(name = strdup("rhel")))
                        return -ENOMEM;
        }
        if (streq(arch, "i686") || streq(arch, "i586"))
                arch = "i386";
        return asprintf(ret, "%s-%s-%s", name, version, arch) < 0 ? -ENOMEM : 0;
}

int pipeline_detect_release(Pipeline *p, const char *os_release, const char *os_info, const char *package,
                            const char *arch, const Plugin **ret_plugin, char **ret_release)
{
        _cleanup_free_ char *version = NULL;
        const Plugin *found = NULL;

        for (size_t i = 0; !found && os_release && i < p->n_plugins; i++)
                if (plugin_match_release(p->plugins[i], os_release, &version) >= 0)
                        found = p->plugins[i];
        if (!found && os_info) {
                /* The release id ABRT's client derives from os_info, read with clientrelease. */
                _cleanup_free_ char *abrt_id = NULL;

                if (abrt_release_id(os_info, arch, &abrt_id) >= 0)
                        for (size_t i = 0; !found && i < p->n_plugins; i++) {
                                _cleanup_free_ char *parsed_arch = NULL;

                                if (plugin_parse_client_release(p->plugins[i], abrt_id, &version,
                                                                &parsed_arch) >= 0)
                                        found = p->plugins[i];
                        }
        }
        if (!found && os_info) {
                _cleanup_free_ char *id = os_release_value(os_info, "ID"),
                                    *name = os_release_value(os_info, "NAME"),
                                    *version_id = os_release_value(os_info, "VERSION_ID");
                if (name)
                        os_release_slugify(name);
                for (size_t i = 0; !found && version_id && i < p->n_plugins; i++) {
                        const char *dist = p->plugins[i]->distribution;

                        if ((id && streq(dist, id)) || (name && streq(dist, name))) {
                                found = p->plugins[i];
                                /* "9.2" names release "9" where the plugin lists major versions. */
                                if (!plugin_has_version(found, version_id))
                                        version_id[strcspn(version_id, ".")] = '\0';
                                version = TAKE_PTR(version_id);
                        }
                }
        }
        if (!found && package) {
                const char *tag = strrchr(package, '-');

                for (size_t i = 0; !found && tag && i < p->n_plugins; i++)
                        if (plugin_guess_release(p->plugins[i], tag + 1, &version) >= 0)
                                found = p->plugins[i];
        }
        if (!found)
                return -ENOENT;
        *ret_plugin = found;
        return release_join(found->distribution, version, arch, ret_release);
}

/* ---------------------------------------------------------------- packages */

int task_add_package(TaskRun *t, int64_t id)
{
        for (size_t i = 0; i < t->n_ids; i++)
                if (t->ids[i] == id)
                        return 0;
        if (ARRAY_RESERVE(t->ids, t->ids_allocated, t->n_ids + 1) < 0)
                return -ENOMEM;
        t->ids[t->n_ids++] = id;
        return 0;
}

int task_want_file(TaskRun *t, int64_t id, const char *path)
{
        char *copy;

        if (!path)
                return 0;
        for (size_t i = 0; i < t->n_wants; i++)
                if (t->wants[i].id == id && streq(t->wants[i].path, path))
                        return 0;
        if (ARRAY_RESERVE(t->wants, t->wants_allocated, t->n_wants + 1) < 0)
                return -ENOMEM;
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        t->wants[t->n_wants++] = (ExtractWant){ .id = id, .path = copy };
        return 0;
}

/* ---------------------------------------------------------------- prepare */

static bool job_keep_waiting(void *userdata)
{
        return !task_job_cancelled(userdata);
}

int task_extract_packages(TaskRun *t, const int64_t *ids, size_t n, uint64_t *ret_extracted,
                          char **ret_failure)
{
        _cleanup_(extract_plan_freep) ExtractPlan *plan = NULL;
        _cleanup_free_ char *reason = NULL;
        ExtractResult res = {};
        int r;

        pthread_mutex_lock(&t->p->cache_lock);
        r = cache_extract_plan_for(t->p->cache, ids, n, t->wants, t->n_wants, &plan);
        pthread_mutex_unlock(&t->p->cache_lock);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot read the package index: %s", strerror(-r));
        if (ret_extracted)
                *ret_extracted = 0;
        if (plan->n == 0)
                return 0;
        /* Without the mutex: other tasks use the index meanwhile, and a package another task (or
         * process) is extracting is waited for, not extracted twice. */
        r = cache_extract_run(t->p->cache, plan, 0, &res, &reason);
        if (ret_extracted)
                *ret_extracted = res.packages;
        if (res.packages > 0)
                task_log(t, 'I', "Extracted %" PRIu64 " packages (%.1f MB) in %.3f s", res.packages,
                         (double) res.bytes / 1e6, (double) res.usec / 1e6);
        for (size_t i = 0; i < plan->n; i++) {
                const ExtractJob *j = &plan->jobs[i];
                _cleanup_free_ char *list = NULL;
                size_t m = strv_length(j->paths);
                char *saved;

                if (!j->extracted || !j->paths)
                        continue;
                /* The first 8 named. */
                saved = m > 8 ? j->paths[8] : NULL;
                if (m > 8)
                        j->paths[8] = NULL;
                list = strv_join(j->paths, ", ");
                if (m > 8)
                        j->paths[8] = saved;
                task_log(t, 'I',
                         "Extracted %zu files of %s (%.1f MB), not the whole package: it is larger than "
                         "CachePartialExtractSize; its other files are extracted when a task needs them: "
                         "%s%s",
                         m, j->nevra, (double) j->bytes / 1e6, strna(list), m > 8 ? ", …" : "");
        }
        if (r < 0)
                return task_failf(ret_failure, r, "%s", reason ?: strerror(-r));
        return 0;
}

/* The packages of a foreign core's root: the crash's packages as they are (they go into the sysroot;
 * the debugger of their release could not run here), the foreign debugger's closure in the host
 * architecture's release beside them. */
static int task_prepare_foreign(TaskRun *t, int64_t **ret_debugger, size_t *ret_n_debugger,
                                char ***ret_unresolved, char **ret_failure)
{
        _cleanup_free_ char *distribution = NULL, *version = NULL, *arch = NULL;
        const char *debugger = t->plugin->gdb_foreign_package;
        int r;

        pthread_mutex_lock(&t->p->cache_lock);
        r = cache_resolve_with_debugger(t->p->cache->index, t->debugger_release, debugger, NULL, 0,
                                        ret_debugger, ret_n_debugger, ret_unresolved);
        pthread_mutex_unlock(&t->p->cache_lock);
        if (r == -ENOENT) {
                (void) release_split(t->debugger_release, &distribution, &version, &arch);
                return task_failf(ret_failure, r,
                                  "The debugger package %s for %s cores is not in %s: check the plugin's "
                                  "gdb_foreign_package, or run retrace-server-reposync %s %s %s",
                                  debugger, t->core ? t->core->arch : "foreign", t->debugger_release,
                                  strna(distribution), strna(version), strna(arch));
        }
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot resolve the debugger %s in %s: %s", debugger,
                                  t->debugger_release, strerror(-r));
        return 0;
}

static int task_prepare(TaskRun *t, char **ret_failure)
{
        _cleanup_free_ int64_t *all = NULL;
        _cleanup_strv_free_ char **unresolved = NULL;
        _cleanup_free_ char *reason = NULL;
        _cleanup_close_ int use_fd = -EBADF;
        AssembleResult a = {};
        size_t n_all = 0;
        uint64_t extracted = 0, extracted_sysroot = 0, misses;
        int64_t start = now_monotonic_usec();
        const char *debugger = t->vmcore ? t->plugin->crash_package : t->plugin->gdb_package;
        int r;

        /* Held shared until the task ends, so that gc cannot remove the root under gdb; a lock of this
         * task's own (flock belongs to the open file, which other workers must not share). Taken before
         * the mutex: a running gc may make us wait, and nobody else should wait for that. */
        r = cache_lock_shared(t->p->cache, job_keep_waiting, t->job, &t->cache_lock_fd);
        if (r == -ECANCELED)
                return r;
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot lock the package cache: %s", strerror(-r));
        /* Until the root is pinned, so that eviction takes nothing between extraction and pinning. */
        r = cache_use_lock(t->p->cache, job_keep_waiting, t->job, &use_fd);
        if (r == -ECANCELED)
                return r;
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot lock the package cache: %s", strerror(-r));
        if (t->foreign) {
                _cleanup_free_ int64_t *crash = NULL;
                _cleanup_strv_free_ char **crash_unresolved = NULL;
                size_t n_crash = 0;

                r = task_prepare_foreign(t, &all, &n_all, &unresolved, ret_failure);
                if (r < 0)
                        return r;
                /* The crash's packages with what they require in their release: a core of qemu-user
                 * names no glibc, the programs' requirements do. */
                pthread_mutex_lock(&t->p->cache_lock);
                r = cache_resolve_closure(t->p->cache->index, t->release, t->ids, t->n_ids, t->ids, t->n_ids,
                                          &crash, &n_crash, &crash_unresolved);
                pthread_mutex_unlock(&t->p->cache_lock);
                if (r < 0)
                        return task_failf(ret_failure, r,
                                          "Cannot resolve the dependencies of the crash's "
                                          "packages in %s: %s",
                                          t->release, strerror(-r));
                STRV_FOREACH (u, crash_unresolved)
                        task_log(t, 'W', "Unresolved dependency in %s: %s", t->release, *u);
                free(t->ids);
                t->ids = TAKE_PTR(crash);
                t->n_ids = t->ids_allocated = n_crash;
        } else {
                pthread_mutex_lock(&t->p->cache_lock);
                r = cache_resolve_with_debugger(t->p->cache->index, t->release, debugger, t->ids, t->n_ids,
                                                &all, &n_all, &unresolved);
                pthread_mutex_unlock(&t->p->cache_lock);
        }
        if (r >= 0) {
                r = task_extract_packages(t, all, n_all, &extracted, ret_failure);
                if (r >= 0 && t->foreign)
                        r = task_extract_packages(t, t->ids, t->n_ids, &extracted_sysroot, ret_failure);
                if (r < 0)
                        return r;
                pthread_mutex_lock(&t->p->cache_lock);
                if (t->foreign)
                        r = cache_assemble_sysroot(t->p->cache,
                                                   &(AssembleSet){ .ids = all,
                                                                   .n = n_all,
                                                                   .sysroot_ids = t->ids,
                                                                   .n_sysroot = t->n_ids,
                                                                   .sysroot_dir = FOREIGN_SYSROOT },
                                                   &a, &reason);
                else
                        r = cache_assemble(t->p->cache, all, n_all, &a, &reason);
                pthread_mutex_unlock(&t->p->cache_lock);
        }
        if (r == -ENOENT && !reason)
                return task_failf(ret_failure, r,
                                  "The debugger package %s is not in %s: run retrace-server-reposync %s",
                                  debugger, t->release, t->release);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot assemble the root for %s: %s", t->release,
                                  reason ?: strerror(-r));
        r = cache_root_pin(t->p->cache, basename(a.path), &t->root_pin_fd);
        if (r < 0) {
                assemble_result_done(&a);
                return task_failf(ret_failure, r, "Cannot pin the root %s: %s", a.path, strerror(-r));
        }
        /* Packages extracted for this task (now or by its lookups) are misses, the rest hits. */
        misses = MIN(extracted + t->lookup_extracted, (uint64_t) n_all);
        pthread_mutex_lock(&t->p->cache_lock);
        r = cache_record_use(t->p->cache->index, all, n_all, misses);
        if (r >= 0 && t->foreign) /* the crash's own packages in the sysroot */
                r = cache_record_use(t->p->cache->index, t->ids, t->n_ids,
                                     MIN(extracted_sysroot, (uint64_t) t->n_ids));
        pthread_mutex_unlock(&t->p->cache_lock);
        if (r < 0)
                task_log(t, 'W', "Cannot record the use of the packages in the index: %s", strerror(-r));
        use_fd = safe_close(use_fd); /* pinned: eviction may go on */
        task_log(t, 'I',
                 "Cache: %" PRIu64 " of %zu packages were extracted already, %" PRIu64
                 " extracted for this task",
                 (uint64_t) n_all - misses, n_all, misses);
        STRV_FOREACH (u, unresolved)
                task_log(t, 'W', "Unresolved dependency: %s", *u);
        if (t->foreign)
                task_log(t, 'I',
                         "Root with %zu packages of %s in /" FOREIGN_SYSROOT " and the debugger's %zu "
                         "packages of %s %s in %.3f s",
                         t->n_ids, t->release, n_all, t->debugger_release, a.reused ? "reused" : "assembled",
                         (double) (now_monotonic_usec() - start) / 1e6);
        else
                task_log(t, 'I', "Root with %zu packages %s in %.3f s", n_all,
                         a.reused ? "reused" : "assembled", (double) (now_monotonic_usec() - start) / 1e6);
        if (a.left_out > 0)
                task_log(t, 'I', "Root without %" PRIu64 " files of partially extracted debuginfo packages",
                         a.left_out);
        __atomic_add_fetch(a.reused ? &t->p->roots_reused : &t->p->roots_assembled, 1, __ATOMIC_RELAXED);
        t->root = TAKE_PTR(a.path);
        assemble_result_done(&a);
        t->root_ids = TAKE_PTR(all);
        t->n_root_ids = n_all;
        if (!t->vmcore)
                (void) task_build_gdb_indexes(t);
        return 0;
}

/* ---------------------------------------------------------------- run */

static int spawn_sandbox(char *const *argv, int in_fd, int out_fd, int err_fd, int status_fd, pid_t *ret)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none;
        int r;

        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        sigemptyset(&none);
        if (in_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
        else
                posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
        posix_spawn_file_actions_adddup2(&fa, status_fd, 3);
        /* Its own process group, so that cancelling kills the sandbox and everything it started. */
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
        r = posix_spawn(ret, argv[0], &fa, &attr, (char *const *) argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        return -r;
}

/* A result the sandbox writes is written under NAME.part and renamed when the sandbox has ended
 * (publish_result()): a reader of the task directory (another daemon sharing SaveDir, the HTTP API)
 * never sees half a file under its name. */
static int open_result(TaskRun *t, const char *name)
{
        char part[256];

        (void) snprintf(part, sizeof(part), "%s.part", name);
        return openat(t->results_fd, part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
}

static void publish_result(TaskRun *t, const char *name)
{
        char part[256];

        (void) snprintf(part, sizeof(part), "%s.part", name);
        (void) renameat(t->results_fd, part, t->results_fd, name);
}

int task_write_result(TaskRun *t, const char *name, const char *text)
{
        return file_write_atomic_at(t->results_fd, name, text, strlen(text), 0600);
}

int task_debugger_argv(TaskRun *t, const char *crash_dir, const char *vmlinux, const char *log_dir,
                       uint64_t timeout_sec, char *const *cmd, char ***ret)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *index_dir = NULL;
        char timeout[32], limit[32], fsize[48];
        int r;

        (void) snprintf(timeout, sizeof(timeout), "%" PRIu64, timeout_sec);
        (void) snprintf(limit, sizeof(limit), "%" PRIu64, cfg->max_output_size);
        (void) snprintf(fsize, sizeof(fsize), "fsize=%" PRIu64, cfg->max_output_size);
        {
                const char *head[] = { cfg->sandbox_path, "--root",  t->root,
                                       "--ro-bind",       crash_dir, CRASH_MOUNT };
                const char *bind[] = { "--ro-bind", vmlinux, VMLINUX_MOUNT };
                const char *tail[] = { "--tmpfs",        "/tmp", "--chdir",       "/tmp",      "--setenv",
                                       "HOME",           "/tmp", "--setenv",      "LANG",      "C",
                                       "--setenv",       "PATH", "/usr/bin:/bin", "--timeout", timeout,
                                       "--output-limit", limit,  "--status-fd",   "3",         "--" };

                r = strv_extend_many(&argv, head, ELEMENTSOF(head));
                if (r >= 0 && vmlinux)
                        r = strv_extend_many(&argv, bind, ELEMENTSOF(bind));
                /* What the debugger writes there is its output: the same bound as on stdout. */
                if (r >= 0 && log_dir)
                        r = strv_extend_many(&argv,
                                             (const char *const[]){ "--bind", log_dir, DEBUGGER_LOG_MOUNT,
                                                                    "--rlimit", fsize },
                                             5);
                if (r >= 0 && task_gdb_index_dir(t, &index_dir) >= 0)
                        r = strv_extend_many(
                                &argv, (const char *const[]){ "--ro-bind", index_dir, GDB_INDEX_MOUNT }, 3);
                if (r >= 0)
                        r = strv_extend_many(&argv, tail, ELEMENTSOF(tail));
        }
        STRV_FOREACH (c, cmd)
                if (r >= 0)
                        r = strv_extend(&argv, *c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

int task_sandbox_run(TaskRun *t, char *const *argv, int in_fd, const char *out_name, const char *what,
                     uint64_t timeout_sec, int *ret_status, char **ret_failure)
{
        _cleanup_close_ int out_fd = -EBADF, err_fd = -EBADF, status_fd = -EBADF;
        _cleanup_free_ char *err = NULL, *lock = NULL;
        _cleanup_strv_free_ char **full = NULL;
        bool timed_out;
        pid_t pid;
        int r, status;

        /* Every sandbox of a task: dies with this daemon (--parent-pid arms its parent-death signal
         * against this very process) and holds the task's lock while any of its processes lives, so
         * that after a crash of the daemon a rerun waits for the older sandbox instead of writing
         * into the same files beside it. */
        {
                char self[32];

                (void) snprintf(self, sizeof(self), "%d", (int) getpid());
                r = task_dir_lock_path(t->p->config->save_dir, t->id, &lock);
                if (r >= 0)
                        r = strv_extend(&full, argv[0]);
                if (r >= 0)
                        r = strv_extend_many(
                                &full, (const char *const[]){ "--parent-pid", self, "--lock", lock }, 4);
                STRV_FOREACH (a, argv + 1)
                        if (r >= 0)
                                r = strv_extend(&full, *a);
                if (r < 0)
                        return r;
        }
        out_fd = open_result(t, out_name);
        err_fd = open_result(t, "sandbox-errors");
        status_fd = open_result(t, "sandbox-status.json");
        if (out_fd < 0 || err_fd < 0 || status_fd < 0)
                return task_failf(ret_failure, -errno, "Cannot write the task's results: %s",
                                  strerror(errno));
        r = spawn_sandbox(full, in_fd, out_fd, err_fd, status_fd, &pid);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot start %s: %s", argv[0], strerror(-r));
        task_job_set_child(t->job, pid);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        status = -1;
                        break;
                }
        task_job_set_child(t->job, 0);
        publish_result(t, out_name);
        publish_result(t, "sandbox-errors");
        publish_result(t, "sandbox-status.json");
        if (task_job_cancelled(t->job))
                return -ECANCELED;

        timed_out = WIFEXITED(status) && WEXITSTATUS(status) == SANDBOX_EXIT_TIMEOUT;
        {
                /* The sandbox's own report is the authority on a time-out: a command may itself exit
                 * with SANDBOX_EXIT_TIMEOUT's number. */
                _cleanup_free_ char *report = NULL;
                SandboxResult result;
                size_t len;

                if (file_read_at(t->results_fd, "sandbox-status.json", 64 * 1024, &report, &len) >= 0 &&
                    sandbox_result_from_json(report, len, &result) >= 0)
                        timed_out = result.timed_out;
        }
        if (timed_out)
                return task_failf(ret_failure, -ETIME,
                                  "%s did not finish within TaskTimeout (%" PRIu64 " s) and was killed",
                                  what, t->p->config->task_timeout);
        if (WIFEXITED(status) && WEXITSTATUS(status) == SANDBOX_EXIT_SETUP) {
                (void) file_read_at(t->results_fd, "sandbox-errors", 64 * 1024, &err, NULL);
                return task_failf(ret_failure, -EPERM, "The sandbox could not be set up: %s",
                                  strna(err ? string_strip(err) : NULL));
        }
        *ret_status = status;
        return 0;
}

/* ---------------------------------------------------------------- eviction */

void pipeline_evict(Pipeline *p)
{
        _cleanup_(cache_index_closep) CacheIndex *idx = NULL;
        _cleanup_free_ char *path = NULL;
        CacheEvictResult res = {};
        int r;

        /* An index connection of our own: eviction may take a while, the other workers and the
         * HTTP threads go on using the shared one meanwhile. */
        path = path_join(p->cache->dir, "index.sqlite");
        r = path ? cache_index_open(path, &idx) : -ENOMEM;
        if (r >= 0)
                r = cache_evict(p->cache, idx, p->config->cache_max_size, false, &res);
        if (r < 0) {
                log_warning_errno(r, "Cannot evict from the package cache %s: %m", p->cache->dir);
                return;
        }
        if (res.busy)
                return;
        __atomic_store_n(&p->cache_bytes, res.use_after, __ATOMIC_RELAXED);
        __atomic_store_n(&p->cache_bytes_measured, true, __ATOMIC_RELAXED);
        if (res.packages > 0 || res.roots > 0)
                log_info("Evicted %" PRIu64 " packages (%.1f MB of objects and gdb indexes), %" PRIu64
                         " roots and %" PRIu64 " gdb indexes from the package cache; it holds %.1f MB of "
                         "CacheMaxSize %.1f MB",
                         res.packages, (double) res.bytes / 1e6, res.roots, res.gdb_indexes,
                         (double) res.use_after / 1e6, (double) p->config->cache_max_size / 1e6);
}

void pipeline_render_cache_metrics(Pipeline *p, FILE *f)
{
        uint64_t hits = 0, misses = 0, evicted = 0, evicted_bytes = 0;
        int r;

        /* Counters only (cheap); the use is the last eviction pass's measurement. */
        pthread_mutex_lock(&p->cache_lock);
        r = cache_index_counter_get(p->cache->index, "hits", &hits);
        if (r >= 0)
                r = cache_index_counter_get(p->cache->index, "misses", &misses);
        if (r >= 0)
                r = cache_index_counter_get(p->cache->index, "evicted-packages", &evicted);
        if (r >= 0)
                r = cache_index_counter_get(p->cache->index, "evicted-bytes", &evicted_bytes);
        pthread_mutex_unlock(&p->cache_lock);
        if (r < 0)
                return;
        fprintf(f,
                "# HELP retrace_package_cache_packages_total Packages task roots needed: already extracted "
                "(hit) or extracted on demand (miss).\n"
                "# TYPE retrace_package_cache_packages_total counter\n"
                "retrace_package_cache_packages_total{result=\"hit\"} %" PRIu64 "\n"
                "retrace_package_cache_packages_total{result=\"miss\"} %" PRIu64 "\n"
                "# HELP retrace_package_cache_evicted_packages_total Packages evicted to stay under "
                "CacheMaxSize.\n"
                "# TYPE retrace_package_cache_evicted_packages_total counter\n"
                "retrace_package_cache_evicted_packages_total %" PRIu64 "\n"
                "# HELP retrace_package_cache_evicted_bytes_total Bytes of objects evicted.\n"
                "# TYPE retrace_package_cache_evicted_bytes_total counter\n"
                "retrace_package_cache_evicted_bytes_total %" PRIu64 "\n"
                "# HELP retrace_package_cache_limit_bytes CacheMaxSize (0: no limit).\n"
                "# TYPE retrace_package_cache_limit_bytes gauge\n"
                "retrace_package_cache_limit_bytes %" PRIu64 "\n",
                hits, misses, evicted, evicted_bytes, p->config->cache_max_size);
        if (__atomic_load_n(&p->cache_bytes_measured, __ATOMIC_RELAXED))
                fprintf(f,
                        "# HELP retrace_package_cache_bytes Objects and roots in the package cache (at the "
                        "last eviction pass).\n"
                        "# TYPE retrace_package_cache_bytes gauge\n"
                        "retrace_package_cache_bytes %" PRIu64 "\n",
                        __atomic_load_n(&p->cache_bytes, __ATOMIC_RELAXED));
}

/* ---------------------------------------------------------------- the whole task */

static int task_open(TaskRun *t)
{
        int r;

        t->save_dir_fd = open(t->p->config->save_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->save_dir_fd < 0)
                return -errno;
        r = task_dir_open_part(t->save_dir_fd, t->id, TASK_PART_CRASH, false, &t->crash_fd);
        if (r >= 0)
                r = task_dir_open_part(t->save_dir_fd, t->id, TASK_PART_RESULTS, true, &t->results_fd);
        if (r < 0)
                return r;
        /* A task resumed after a restart starts its log again: its earlier run did not finish. */
        t->log_fd = openat(t->results_fd, "log",
                           O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        return t->log_fd < 0 ? -errno : 0;
}

/* ---------------------------------------------------------------- a task's end in the store */

bool pipeline_task_unsaved(Pipeline *p, uint64_t id)
{
        bool found = false;

        pthread_mutex_lock(&p->unsaved_lock);
        for (size_t i = 0; i < p->n_unsaved && !found; i++)
                found = p->unsaved[i].id == id;
        pthread_mutex_unlock(&p->unsaved_lock);
        return found;
}

static void pipeline_add_unsaved(Pipeline *p, uint64_t id)
{
        UnsavedTask *v;

        pthread_mutex_lock(&p->unsaved_lock);
        v = realloc(p->unsaved, (p->n_unsaved + 1) * sizeof(UnsavedTask));
        if (v) {
                p->unsaved = v;
                v[p->n_unsaved++] =
                        (UnsavedTask){ .id = id,
                                       .next_usec = now_monotonic_usec() + UNSAVED_FIRST_DELAY_USEC,
                                       .delay_usec = UNSAVED_FIRST_DELAY_USEC };
        }
        pthread_mutex_unlock(&p->unsaved_lock);
        if (!v)
                log_error("Task %" PRIu64 ": out of memory remembering its unsaved end; it runs again", id);
}

void pipeline_retry_unsaved(Pipeline *p)
{
        for (;;) {
                int64_t now = now_monotonic_usec();
                uint64_t id = 0;
                size_t i;
                int r;

                /* One due task at a time, the store written outside the lock. */
                pthread_mutex_lock(&p->unsaved_lock);
                for (i = 0; i < p->n_unsaved; i++)
                        if (p->unsaved[i].next_usec <= now) {
                                id = p->unsaved[i].id;
                                /* Not due again within this pass, whatever the outcome. */
                                p->unsaved[i].next_usec = INT64_MAX;
                                break;
                        }
                pthread_mutex_unlock(&p->unsaved_lock);
                if (id == 0)
                        break;

                r = task_store_finish(p->store, id, false, "Retrace job failed");
                if (r == -ENOENT) /* deleted meanwhile: nothing left to save */
                        r = 0;
                pthread_mutex_lock(&p->unsaved_lock);
                for (i = 0; i < p->n_unsaved && p->unsaved[i].id != id; i++)
                        ;
                if (i < p->n_unsaved) {
                        if (r >= 0)
                                p->unsaved[i] = p->unsaved[--p->n_unsaved];
                        else {
                                UnsavedTask *u = &p->unsaved[i];

                                u->delay_usec = MIN(u->delay_usec * 2, UNSAVED_MAX_DELAY_USEC);
                                u->next_usec = now_monotonic_usec() + u->delay_usec;
                        }
                }
                pthread_mutex_unlock(&p->unsaved_lock);
                if (r >= 0)
                        log_info("Task %" PRIu64 ": its end is saved at last, as FINISHED_FAILURE", id);
                else
                        log_warning_errno(r,
                                          "Task %" PRIu64 ": the task store still cannot be written (%m); "
                                          "trying again later",
                                          id);
        }
}

/* Writes the task's end. A store that cannot be written (full disk, locked database) gets one more
 * try after a pause; then the task is left to pipeline_retry_unsaved(), which ends it as
 * FINISHED_FAILURE once the store can be written, with a growing delay: it never runs again in a
 * loop of failures. */
/* Returns false when the end was not this run's to save: a shared store whose lease this daemon
 * lost, or no store at all (the task runs again after its lease). */
static bool task_finish(TaskRun *t, bool success, const char *text)
{
        int r;

        r = task_store_finish(t->p->store, t->id, success, text);
        if (r == -ENOTCONN && task_store_is_shared(t->p->store)) {
                /* Its lease expires and it runs again: never failed for an outage of the store. */
                log_warning("Task %" PRIu64
                            ": its end cannot be saved, the task store cannot be reached; it "
                            "runs again after its lease",
                            t->id);
                return false;
        }
        if (r < 0 && r != -ENOENT && !task_job_cancelled(t->job)) {
                (void) usleep(500 * 1000);
                r = task_store_finish(t->p->store, t->id, success, text);
        }
        if (r == -ENOENT && task_store_is_shared(t->p->store)) {
                log_warning("Task %" PRIu64 ": its lease was lost before its end was saved (deleted, or "
                            "requeued after the lease expired); this run's end does not count",
                            t->id);
                return false;
        }
        if (r >= 0 || r == -ENOENT) /* saved, or the task was deleted meanwhile */
                return true;
        task_log(t, 'E',
                 "The task store cannot be written (%s): the task ends as failed once it can be "
                 "(free space in SaveDir)",
                 strerror(-r));
        log_error_errno(r,
                        "Task %" PRIu64 ": cannot save its end in the task store: %m. It will be "
                        "FINISHED_FAILURE once the store can be written; free space in SaveDir",
                        t->id);
        pipeline_add_unsaved(t->p, t->id);
        return true;
}

/* A failed task keeps its log and results; its crash files go at once unless KeepFailedCrashFiles. */
static void task_drop_crash_files(TaskRun *t)
{
        int r;

        if (t->p->config->keep_failed_crash_files)
                return;
        /* The pipeline holds open directories of the task; closing them first is not needed on Linux. */
        r = task_dir_drop_crash_files(t->p->config->save_dir, t->id);
        if (r < 0)
                task_log(t, 'W', "Cannot remove the crash files of the failed task: %s", strerror(-r));
        else
                task_log(t, 'I', "Crash files removed (the task failed; KeepFailedCrashFiles = no)");
}

/* The site's hooks of a stage (daemon-hooks.h); fails with *ret_failure when a required one failed. */
static int task_run_hooks(TaskRun *t, HookStage stage, TaskStatus status, char **ret_failure)
{
        _cleanup_free_ char *dir = NULL;

        if (isempty(t->p->config->hook_dir))
                return 0;
        if (task_dir_path(t->p->config->save_dir, t->id, &dir) < 0)
                return task_failf(ret_failure, -ENOMEM, "Out of memory running the %s hooks",
                                  hook_stage_to_string(stage));
        return hooks_run(t->p->config, stage,
                         &(HookTask){ .id = t->id,
                                      .type = t->type,
                                      .dir = dir,
                                      .status = task_status_to_string(status),
                                      .log_fd = t->log_fd },
                         ret_failure);
}

/* DedupVmcores: a finished vmcore task's dump is linked to an identical one of an earlier task (after
 * the end is saved: hashing a large dump must not delay the result). In the daemon's log only. */
static void task_dedup_vmcore(TaskRun *t)
{
        uint64_t saved = 0;
        int r;

        r = dedup_task_crash_files(t->p->config->save_dir, t->id, &saved);
        if (r < 0)
                log_warning_errno(r, "Task %" PRIu64 ": cannot look for an identical vmcore: %m", t->id);
        else if (saved > 0)
                log_info("Task %" PRIu64
                         ": its vmcore is identical to an earlier task's and is now stored once "
                         "(%" PRIu64 " MiB saved)",
                         t->id, saved >> 20);
}

void pipeline_run(void *userdata, TaskJob *job)
{
        static const char *const stages[] = {
                "Analyzing crash data",
                "Preparing environment for backtrace generation",
                "Generating backtrace",
        };
        static const TaskStep coredump_steps[] = { coredump_analyze, task_prepare, coredump_run_gdb };
        static const TaskStep vmcore_steps[] = { vmcore_analyze, task_prepare, vmcore_run_crash };
        /* The old server's hook stages around ours: its debuginfo download is our analysis (which finds
         * the packages), its environment our root, its retrace our debugger run. */
        static const HookStage pre_hooks[] = { HOOK_PRE_PREPARE_DEBUGINFO, HOOK_PRE_PREPARE_ENVIRONMENT,
                                               HOOK_PRE_RETRACE };
        static const HookStage post_hooks[] = { HOOK_POST_PREPARE_DEBUGINFO, HOOK_POST_PREPARE_ENVIRONMENT,
                                                HOOK_POST_RETRACE };
        const TaskStep *steps = coredump_steps;
        _cleanup_(task_freep) Task *task = NULL;
        Pipeline *p = userdata;
        TaskRun t = { .p = p,
                      .job = job,
                      .id = task_job_id(job),
                      .save_dir_fd = -EBADF,
                      .crash_fd = -EBADF,
                      .results_fd = -EBADF,
                      .log_fd = -EBADF,
                      .cache_lock_fd = -EBADF,
                      .root_pin_fd = -EBADF,
                      .start_usec = now_monotonic_usec() };
        _cleanup_free_ char *failure = NULL;
        const char *missing = NULL;
        bool store_failed = false, hook_failed, fetch_failed = false;
        int r;

        r = task_open(&t);
        if (r < 0) {
                log_error_errno(r, "Task %" PRIu64 ": cannot open its directory: %m", t.id);
                task_finish(&t, false, "Retrace job failed");
                goto finish;
        }
        if (task_store_get(p->store, t.id, &task) >= 0)
                t.type = task->type;
        if (task && task_type_is_vmcore(task->type)) {
                t.vmcore = true;
                steps = vmcore_steps;
        }
        t.type = task ? task->type : TASK_TYPE_RETRACE;
        r = task_run_hooks(&t, HOOK_PRE_START, TASK_STATUS_PENDING, &failure);
        if (r >= 0)
                r = task_run_hooks(&t, HOOK_START, TASK_STATUS_PENDING, &failure);
        hook_failed = r < 0;
        {
                WaitingTask *w = NULL;

                if (task_store_get_waiting(p->store, t.id, pipeline_waiting_since(p), &w) >= 0) {
                        _cleanup_free_ char *list = strv_join(w[0].modules, ", ");

                        task_log(&t, 'I',
                                 "Running again: a sync brought debuginfo the earlier run lacked (%s)",
                                 strna(list));
                }
                waiting_tasks_free(w, w ? 1 : 0);
        }
        /* A task from a URL or DropDir fetches its crash data first (daemon-remote.h). */
        if (!hook_failed && task) {
                r = remote_task_fetch(&t, task->type, &failure);
                if (r == -ECANCELED || task_job_cancelled(job))
                        goto finish;
                fetch_failed = r < 0;
        }
        if (!hook_failed && !fetch_failed && task && task->type == TASK_TYPE_RETRACE &&
            p->config->reuse_identical_uploads) {
                r = task_reuse_or_claim(&t, task->type);
                if (r != 0) {
                        if (r > 0) {
                                log_info("Task %" PRIu64 " finished successfully (identical upload)", t.id);
                                (void) task_run_hooks(&t, HOOK_SUCCESS, TASK_STATUS_FINISHED_SUCCESS, NULL);
                        }
                        goto finish;
                }
        }
        if (!hook_failed && !fetch_failed && task)
                missing = crash_files_find_missing(task->type, t.crash_fd);
        if (missing) {
                /* A failed task run again (task manager) after its crash files were dropped. */
                r = task_failf(&failure, -ENOENT,
                               "The crash file '%s' is missing: a failed task's crash files are removed "
                               "unless KeepFailedCrashFiles = yes; upload the crash again",
                               missing);
        }
        for (size_t i = 0; !missing && !hook_failed && !fetch_failed && i < ELEMENTSOF(stages); i++) {
                int64_t begin;

                if (task_job_cancelled(job))
                        goto finish;
                r = task_stage(&t, stages[i]);
                if (r == -ESTALE || (r == -ENOTCONN && task_store_is_shared(p->store))) {
                        /* A shared store gave the task to another daemon (this one's lease expired), or
                         * cannot be reached for longer than the workers wait: the task stays PENDING and
                         * runs again once its lease expires; its files and its end are not this run's. */
                        log_warning(
                                "Task %" PRIu64 ": %s; not run further here", t.id,
                                r == -ESTALE
                                        ? "no longer this daemon's (lease lost)"
                                        : "the task store cannot be reached; it runs again after its lease");
                        goto finish;
                }
                if (r < 0) {
                        /* A store that cannot be written cannot report the task either. */
                        store_failed = true;
                        (void) task_failf(&failure, r, "The task store cannot be written: %s", strerror(-r));
                        break;
                }
                /* Hooks run outside the stage's time (the statistics measure the retrace). */
                r = task_run_hooks(&t, pre_hooks[i], TASK_STATUS_PENDING, &failure);
                if (r < 0)
                        break;
                begin = now_monotonic_usec();
                r = steps[i](&t, &failure);
                t.stage_usec[i] = now_monotonic_usec() - begin;
                if (r == -ECANCELED || task_job_cancelled(job))
                        goto finish;
                task_log(&t, 'I', "%s took %.3f s", stages[i], (double) t.stage_usec[i] / 1e6);
                if (r >= 0)
                        r = task_run_hooks(&t, post_hooks[i], TASK_STATUS_PENDING, &failure);
                if (r < 0)
                        break;
        }

        if (!t.vmcore && !store_failed)
                task_record_waiting(&t, r >= 0);
        if (!store_failed)
                (void) task_stage(&t, "Saving crash statistics");
        if (!store_failed)
                (void) task_store_add_stats(p->store,
                                            &(TaskStats){
                                                    .id = t.id,
                                                    .package = t.vmcore ? t.kernel_nevra : t.package,
                                                    .release = t.release,
                                                    .arch = t.core          ? t.core->arch
                                                            : t.vmcore_info ? t.vmcore_info->arch
                                                                            : NULL,
                                                    .core_size = t.core_size,
                                                    .analyze_usec = t.stage_usec[0],
                                                    .prepare_usec = t.stage_usec[1],
                                                    .run_usec = t.stage_usec[2],
                                                    .total_usec = now_monotonic_usec() - t.start_usec,
                                                    .success = r >= 0,
                                                    .missing_build_ids = t.missing,
                                                    .duphash = r >= 0 ? t.duphash : NULL,
                                            });
        if (!store_failed)
                (void) task_stage(&t, "Finishing task");
        if (r < 0)
                task_log(&t, 'E', "%s", failure ?: "The retrace failed");
        task_log(&t, 'I', "Retrace took %" PRIi64 " seconds",
                 (now_monotonic_usec() - t.start_usec + 500000) / 1000000);
        if (task_job_cancelled(job) && task_store_is_shared(p->store))
                goto finish; /* its lease lost, or shutting down: not ended here, another daemon runs it */
        if (r < 0)
                task_drop_crash_files(&t);
        if (!task_finish(&t, r >= 0, r >= 0 ? "Retrace job finished successfully" : "Retrace job failed"))
                goto finish; /* another daemon holds the task now (shared store): it ends it */
        log_info("Task %" PRIu64 " %s", t.id, r >= 0 ? "finished successfully" : "failed");
        if (t.vmcore && p->config->dedup_vmcores && (r >= 0 || p->config->keep_failed_crash_files) &&
            !task_job_cancelled(job))
                task_dedup_vmcore(&t);
        /* After the end is saved: the hooks see the final status (and may fetch the results). */
        (void) task_run_hooks(&t, r >= 0 ? HOOK_SUCCESS : HOOK_FAIL,
                              r >= 0 ? TASK_STATUS_FINISHED_SUCCESS : TASK_STATUS_FINISHED_FAILURE, NULL);
finish:
        task_run_done(&t);
        pipeline_evict(p);
}
