/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A coredump task: the core's modules and build-ids, the release, the exact packages from the cache
 * index; then gdb in the sandbox, the backtrace and the exploitability assessment. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache-resolve.h"
#include "common-file.h"
#include "common-macro.h"
#include "common-string.h"
#include "daemon-crashdata.h"
#include "daemon-exploitable.h"
#include "daemon-gdb.h"
#include "daemon-pipeline-task.h"
#include "daemon-taskdir.h"

/* Reads an optional crash file within its limit; missing is fine. */
static int read_crash_file(TaskRun *t, const char *name, char **ret)
{
        const CrashFile *f = crash_file_lookup(name);
        char *text = NULL;
        int r;

        r = file_read_at(t->crash_fd, name, f && f->max_size ? f->max_size : 1 << 20, &text, NULL);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        *ret = string_strip(text);
        return 0;
}

/* The packages that provide each module of the core (binary and debuginfo of the same build). */
static int find_packages_by_build_id(TaskRun *t)
{
        CacheIndex *idx = t->p->cache->index;
        int r;

        for (size_t i = 0; i < t->core->n_modules; i++) {
                const CoreModule *m = &t->core->modules[i];
                BuildIdHit *hits = NULL;
                size_t n = 0;
                int64_t binary = -1, debug = -1;
                const PackageInfo *debug_info = NULL;

                if (!m->build_id || string_startswith(m->name, "linux-vdso") ||
                    string_startswith(m->name, "linux-gate"))
                        continue;
                r = cache_index_lookup_build_id(idx, m->build_id, t->release, &hits, &n);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < n; k++) {
                        if (hits[k].kind == BUILD_ID_BINARY && binary < 0)
                                binary = hits[k].package.id;
                        if (hits[k].kind == BUILD_ID_DEBUG && debug < 0) {
                                debug = hits[k].package.id;
                                debug_info = &hits[k].package;
                        }
                }
                if (binary < 0 && debug_info) {
                        PackageInfo bin = {};

                        if (cache_index_binary_for_debuginfo(idx, debug_info, t->release, &bin) >= 0)
                                binary = bin.id;
                        package_info_done(&bin);
                }
                build_id_hit_array_free(hits, n);
                if (binary >= 0 && (r = task_add_package(t, binary)) < 0)
                        return r;
                if (debug >= 0 && (r = task_add_package(t, debug)) < 0)
                        return r;
                if (binary < 0 && debug < 0) {
                        _cleanup_free_ char *s = NULL;

                        if (asprintf(&s, "%s (%s)", m->build_id, m->name) < 0)
                                return -ENOMEM;
                        r = strv_extend(&t->missing, s);
                        if (r < 0)
                                return r;
                        task_log(t, 'W', "Build-id %s of %s is not in any package of %s", m->build_id,
                                 m->name, t->release);
                } else if (debug < 0)
                        task_log(t, 'W',
                                 "No debuginfo package of %s has build-id %s of %s: its frames will lack "
                                 "names and lines",
                                 t->release, m->build_id, m->name);
        }
        return 0;
}

/* The packages of the task's root: exactly those of the 'packages' file, else those of each module's
 * build-id; plus the crash's own package. All package resolution of a coredump task is here. */
static int coredump_resolve_packages(TaskRun *t, char **ret_failure)
{
        int r;

        pthread_mutex_lock(&t->p->cache_lock);
        if (t->packages_list) {
                _cleanup_strv_free_ char **specs = NULL;

                r = strv_split(t->packages_list, WHITESPACE, &specs);
                STRV_FOREACH (spec, specs) {
                        int64_t id;

                        if (r < 0)
                                break;
                        r = cache_find_package(t->p->cache->index, t->release, *spec, &id);
                        if (r == -ENOENT) {
                                pthread_mutex_unlock(&t->p->cache_lock);
                                return task_failf(
                                        ret_failure, r,
                                        "Package %s from the 'packages' file is not known in %s: run "
                                        "retrace-server-reposync for that release",
                                        *spec, t->release);
                        }
                        if (r >= 0)
                                r = task_add_package(t, id);
                }
        } else
                r = find_packages_by_build_id(t);
        if (r >= 0 && t->package) {
                int64_t id;

                if (cache_find_package(t->p->cache->index, t->release, t->package, &id) >= 0)
                        r = task_add_package(t, id);
                else
                        task_log(t, 'W', "Package %s is not known in %s", t->package, t->release);
        }
        pthread_mutex_unlock(&t->p->cache_lock);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot look packages up in the cache: %s", strerror(-r));
        return 0;
}

int coredump_analyze(TaskRun *t, char **ret_failure)
{
        _cleanup_close_ int core_fd = -EBADF;
        struct stat st;
        char *release_line = NULL;
        int r;

        r = read_crash_file(t, "executable", &t->executable);
        if (r >= 0)
                r = read_crash_file(t, "package", &t->package);
        if (r >= 0)
                r = read_crash_file(t, "os_release", &t->os_release);
        if (r >= 0 && !t->os_release)
                r = read_crash_file(t, "release", &t->os_release);
        if (r >= 0)
                r = read_crash_file(t, "os_info", &t->os_info);
        if (r >= 0)
                r = read_crash_file(t, "packages", &t->packages_list);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot read the crash data: %s", strerror(-r));
        if (isempty(t->executable) || t->executable[0] != '/')
                return task_failf(ret_failure, -EINVAL,
                                  "The file 'executable' must hold the absolute path of the program");

        core_fd = openat(t->crash_fd, "coredump", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (core_fd < 0 || fstat(core_fd, &st) < 0)
                return task_failf(ret_failure, -errno, "Cannot open the coredump: %s", strerror(errno));
        t->core_size = (uint64_t) st.st_size;
        r = core_info_read(core_fd, &t->core);
        if (r < 0)
                return task_failf(ret_failure, r, "The file 'coredump' is not an ELF core file");
        task_log(t, 'I', "Core: %s, %zu modules, signal %d, %" PRIu64 " bytes", t->core->arch,
                 t->core->n_modules, t->core->signal, t->core_size);

        r = pipeline_detect_release(t->p, t->os_release, t->os_info, t->package, t->core->arch, &t->plugin,
                                    &t->release);
        if (r < 0) {
                _cleanup_strv_free_ char **releases = NULL;
                _cleanup_free_ char *list = NULL;

                (void) pipeline_supported_releases(t->p, &releases);
                list = releases ? strv_join(releases, ", ") : NULL;
                release_line = t->os_release ?: t->package;
                return task_failf(
                        ret_failure, -ENOENT,
                        "Unknown release '%s': no distribution plugin recognises it. Supported releases: %s",
                        strna(release_line), isempty(list) ? "none (run retrace-server-reposync)" : list);
        }
        task_log(t, 'I', "Release: %s (%s)", t->release,
                 t->plugin->displayrelease ?: t->plugin->distribution);

        r = coredump_resolve_packages(t, ret_failure);
        if (r < 0)
                return r;
        if (t->n_ids == 0)
                return task_failf(
                        ret_failure, -ENOENT,
                        "No package of %s provides %s or any library of this crash, and package %s is "
                        "unknown there: run retrace-server-reposync %s, or check the release",
                        t->release, t->executable, strna(t->package), t->release);
        if (t->missing) {
                _cleanup_free_ char *list = strv_join(t->missing, ", ");
                task_log(t, 'W', "Build-ids not found in any package: %s", strna(list));
        }
        return 0;
}

int coredump_run_gdb(TaskRun *t, char **ret_failure)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_strv_free_ char **gdb = NULL, **argv = NULL;
        _cleanup_free_ char *crash_dir = NULL, *out = NULL, *bt = NULL, *ex = NULL;
        _cleanup_(gdb_result_freep) GdbResult *res = NULL;
        ExploitInput in;
        size_t out_len;
        int r, status;

        r = gdb_build_argv(t->plugin->gdb_executable, t->executable, CRASH_MOUNT "/coredump", &gdb);
        if (r < 0)
                return r;
        r = task_dir_part_path(cfg->save_dir, t->id, TASK_PART_CRASH, &crash_dir);
        if (r < 0)
                return r;
        r = task_debugger_argv(t, crash_dir, NULL, cfg->task_timeout, gdb, &argv);
        if (r < 0)
                return r;

        r = task_sandbox_run(t, argv, -EBADF, "gdb-output", "gdb", cfg->task_timeout, &status, ret_failure);
        if (r < 0)
                return r;

        r = file_read_at(t->results_fd, "gdb-output", cfg->max_output_size + (1 << 20), &out, &out_len);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot read gdb's output: %s", strerror(-r));
        r = gdb_result_parse(out, out_len, &res);
        if (r < 0)
                return r;
        if (!res->crash_thread || !strstr(res->crash_thread, "#0")) {
                /* gdb's own words say what went wrong. */
                task_log(t, 'E', "gdb output:\n%s", res->preamble ?: out);
                return task_failf(ret_failure, -EBADMSG, "gdb printed no backtrace (exit status %d)",
                                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                task_log(t, 'W', "gdb exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        r = gdb_result_format_backtrace(res, &bt);
        if (r >= 0)
                r = task_write_result(t, "backtrace", bt);
        gdb_result_exploit_input(res, &in);
        if (in.signal == 0)
                in.signal = t->core->signal;
        if (r >= 0)
                r = exploit_format(&in, &ex);
        if (r >= 0)
                r = task_write_result(t, "exploitable", ex);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot write the backtrace: %s", strerror(-r));
        return 0;
}
