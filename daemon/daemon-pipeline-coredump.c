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

#include "cache-debuginfod.h"
#include "cache-lookup.h"
#include "cache-release.h"
#include "cache-resolve.h"
#include "common-elf.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "daemon-crashdata.h"
#include "daemon-duphash.h"
#include "daemon-exploitable.h"
#include "daemon-gdb.h"
#include "daemon-interact.h"
#include "daemon-gdb-frames.h"
#include "daemon-pipeline-task.h"
#include "daemon-python.h"
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

/* Maps every module of the core to its packages (rpmcache's resolver) and logs, per module, the
 * rule that did it or what was tried; the packages found go into the root. */
static int resolve_modules(TaskRun *t, char *const *crash_packages)
{
        _cleanup_free_ char *distribution = NULL, *version = NULL, *arch = NULL;
        Cache *c = t->p->cache;
        LookupExtracted x;
        int r;

        cache_lookup_take_extracted(&x); /* this worker's, from now on */
        strv_free(x.partial);
        r = task_resolution_run(c, t->release, t->core, t->executable, crash_packages, &t->resolution);
        /* Confirming a build-id reads the packaged file: packages never extracted were, now (with the
         * cache mutex released meanwhile, so other tasks go on). */
        cache_lookup_take_extracted(&x);
        t->lookup_extracted += x.packages;
        if (x.packages > 0)
                task_log(t, 'I', "Extracted %" PRIu64 " packages (%.1f MB) in %.3f s to confirm build-ids",
                         x.packages, (double) x.bytes / 1e6, (double) x.usec / 1e6);
        STRV_FOREACH (l, x.partial)
                task_log(t, 'I',
                         "Extracted %s; not the whole package: it is larger than CachePartialExtractSize, "
                         "its "
                         "other files are extracted when a task needs them",
                         *l);
        strv_free(x.partial);
        if (r < 0)
                return r;
        (void) release_split(t->release, &distribution, &version, &arch);
        for (size_t i = 0; i < t->resolution.n_modules; i++) {
                const ModuleResolution *m = &t->resolution.modules[i];
                const ModulePackages *pk = &m->packages;
                _cleanup_free_ char *line = module_resolution_describe(m);

                task_log(t, pk->binary.found && pk->debuginfo.found ? 'I' : 'W', "%s", strna(line));
                if (pk->binary.found && (r = task_add_package(t, pk->binary.package.id)) < 0)
                        return r;
                if (pk->debuginfo.found && (r = task_add_package(t, pk->debuginfo.package.id)) < 0)
                        return r;
                if (pk->dwz.found && (r = task_add_package(t, pk->dwz.package.id)) < 0)
                        return r;
                /* The files needed of them, should they be big enough for partial extraction. */
                if (pk->debuginfo.found &&
                    (r = task_want_file(t, pk->debuginfo.package.id, pk->debuginfo.path)) < 0)
                        return r;
                if (pk->dwz.found && (r = task_want_file(t, pk->dwz.package.id, pk->dwz.path)) < 0)
                        return r;
                if (!pk->binary.found) {
                        _cleanup_free_ char *s = NULL;

                        if (asprintf(&s, "%s (%s)", m->build_id ?: "no build-id", m->path) < 0)
                                return -ENOMEM;
                        r = strv_extend(&t->missing, s);
                        if (r < 0)
                                return r;
                }
        }
        if (t->resolution.missing || t->resolution.without_debuginfo)
                task_log(
                        t, 'W',
                        "Resolution: %u of %zu modules in packages of %s, %u missing, %u without debuginfo: "
                        "their frames will lack names or lines. If the release has them, run "
                        "retrace-server-reposync %s %s %s (with the plugin's debuginfo repositories "
                        "enabled)",
                        t->resolution.found, t->resolution.n_modules, t->release, t->resolution.missing,
                        t->resolution.without_debuginfo, strna(distribution), strna(version), strna(arch));
        else
                task_log(t, 'I', "Resolution: all %zu modules in packages of %s, all with debuginfo",
                         t->resolution.n_modules, t->release);
        return 0;
}

/* The packages of the task's root: those the crash names (problem directory's 'package' and
 * 'packages', in the core's architecture), and each module's binary, debuginfo and dwz packages. All
 * package resolution of a coredump task is here. */
static int coredump_resolve_packages(TaskRun *t, char **ret_failure)
{
        _cleanup_strv_free_ char **crash_packages = NULL;
        int r;

        r = strv_split(strempty(t->packages_list), WHITESPACE, &crash_packages);
        if (r >= 0 && t->package)
                r = strv_extend(&crash_packages, t->package);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot read the crash's package list: %s", strerror(-r));
        pthread_mutex_lock(&t->p->cache_lock);
        /* The packages the crash names go into the root as well: they are what the process ran
         * with, even where no module of the core points at them. */
        STRV_FOREACH (spec, crash_packages) {
                int64_t id;

                r = cache_lookup_crash_package(t->p->cache, t->release, *spec, t->core->arch, &id);
                if (r == -ENOENT || r == -EINVAL) {
                        task_log(t, 'W', "Package %s named by the crash is not known in %s for %s", *spec,
                                 t->release, t->core->arch);
                        r = 0;
                        continue;
                }
                if (r >= 0)
                        r = task_add_package(t, id);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = resolve_modules(t, crash_packages);
        pthread_mutex_unlock(&t->p->cache_lock);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot look packages up in the cache: %s", strerror(-r));
        return 0;
}

/* A 32-bit process on a 64-bit system (multilib): its packages are in the 64-bit release's
 * repositories (i686 packages in x86_64 ones). When the release of the core's own architecture was
 * never synced and the 64-bit one was, the task uses that one; the resolver still picks packages of
 * the core's architecture. */
static int multilib_release(TaskRun *t)
{
        static const struct {
                const char *arch, *host;
        } multilib[] = { { "i386", "x86_64" }, { "ppc", "ppc64" }, { "s390", "s390x" } };
        _cleanup_strv_free_ char **synced = NULL;
        _cleanup_free_ char *distribution = NULL, *version = NULL, *arch = NULL, *host_release = NULL;
        int r;

        r = pipeline_supported_releases(t->p, &synced);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (strv_contains(synced, t->release) ||
            release_split(t->release, &distribution, &version, &arch) < 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(multilib); i++) {
                if (!streq(arch, multilib[i].arch))
                        continue;
                r = release_join(distribution, version, multilib[i].host, &host_release);
                if (r < 0)
                        return r;
                if (!strv_contains(synced, host_release))
                        return 0;
                task_log(t, 'I', "A %s process: %s is not synced, its multilib packages come from %s", arch,
                         t->release, host_release);
                free(t->release);
                t->release = TAKE_PTR(host_release);
                return 0;
        }
        return 0;
}

/* The quality summary: frames of the crashing thread with and without names and lines, and the
 * modules that made it worse, into the log and results/resolution.json. */
static int task_report_quality(TaskRun *t, const char *crash_thread)
{
        _cleanup_free_ char *json = NULL, *list = NULL;
        const FrameQuality *q = &t->resolution.quality;
        int r;

        r = task_resolution_quality(&t->resolution, t->core, crash_thread);
        if (r < 0)
                return r;
        task_log(t, t->resolution.degraded ? 'W' : 'I',
                 "Quality: crashing thread has %u frames, %u with function and line, %u with a function "
                 "name only, %u without symbols; modules found %u, missing %u, without debuginfo %u",
                 q->frames, q->with_lines, q->named - q->with_lines, q->unnamed, t->resolution.found,
                 t->resolution.missing, t->resolution.without_debuginfo);
        if (t->resolution.degraded) {
                _cleanup_free_ char *distribution = NULL, *version = NULL, *arch = NULL;

                list = strv_join(t->resolution.degraded, ", ");
                (void) release_split(t->release, &distribution, &version, &arch);
                task_log(
                        t, 'W',
                        "Degraded backtrace: the crashing thread has frames without lines in %s, which lack "
                        "debuginfo or a package in the cache. To fix it, sync the release with its "
                        "debuginfo "
                        "repositories: retrace-server-reposync %s %s %s",
                        strna(list), strna(distribution), strna(version), strna(arch));
        }
        r = task_resolution_to_json(&t->resolution, &json);
        if (r >= 0)
                r = task_write_result(t, "resolution.json", json);
        return r;
}

/* A core of another architecture than the host's: its debugger is the plugin's gdb_foreign_package of
 * the host architecture's release of the same version, which must be synced. */
static int coredump_foreign_debugger(TaskRun *t, char **ret_failure)
{
        _cleanup_free_ char *distribution = NULL, *version = NULL, *arch = NULL;
        _cleanup_strv_free_ char **synced = NULL;
        const char *host = host_arch_name();
        int r;

        if (!arch_is_foreign(host, t->core->arch))
                return 0;
        r = release_split(t->release, &distribution, &version, &arch);
        if (r >= 0)
                r = release_join(distribution, version, host, &t->debugger_release);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot read the release %s: %s", t->release,
                                  strerror(-r));
        t->foreign = true;
        r = pipeline_supported_releases(t->p, &synced);
        if (r < 0 && r != -ENOENT)
                return task_failf(ret_failure, r, "Cannot list the synced releases: %s", strerror(-r));
        if (!strv_contains(synced, t->debugger_release))
                return task_failf(
                        ret_failure, -ENOENT,
                        "A %s core is read on this %s server by the debugger %s of %s, which is not "
                        "synced: run retrace-server-reposync %s %s %s",
                        t->core->arch, host, t->plugin->gdb_foreign_package, t->debugger_release,
                        distribution, version, host);
        task_log(t, 'I',
                 "A %s core on a %s server: the debugger is %s (%s) of %s, the crash's packages go into "
                 "its sysroot /" FOREIGN_SYSROOT,
                 t->core->arch, host, t->plugin->gdb_foreign_package, t->plugin->gdb_foreign_executable,
                 t->debugger_release);
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
        {
                const char *why = NULL;

                if (crash_executable_check(t->executable, strlen(t->executable), &why) < 0)
                        return task_failf(ret_failure, -EINVAL, "The file 'executable' %s", why);
        }

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
        r = multilib_release(t);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot list the synced releases: %s", strerror(-r));
        {
                _cleanup_free_ char *mapped = NULL, *why = NULL;

                r = pipeline_map_release(t->p, t->release, &mapped, &why);
                if (r == -ENOENT)
                        return task_failf(ret_failure, r, "%s", strna(why));
                if (r < 0)
                        return task_failf(ret_failure, r, "Cannot list the synced releases: %s",
                                          strerror(-r));
        }
        task_log(t, 'I', "Release: %s (%s)", t->release,
                 t->plugin->displayrelease ?: t->plugin->distribution);
        r = coredump_foreign_debugger(t, ret_failure);
        if (r < 0)
                return r;

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

/* ABRT's component: the source package of the executable's binary package, else the name of the
 * package the crash names. */
static int coredump_component(TaskRun *t, char **ret)
{
        const char *sourcerpm = NULL;

        for (size_t i = 0; i < t->resolution.n_modules; i++) {
                const ModuleResolution *m = &t->resolution.modules[i];

                if (m->packages.binary.found && m->path && streq(m->path, t->executable)) {
                        sourcerpm = m->packages.binary.package.sourcerpm;
                        break;
                }
        }
        return duphash_component(sourcerpm, t->package, ret);
}

/* The crash bucket of the crashing thread, logged with the text it hashes. */
static int coredump_bucket(TaskRun *t, const GdbResult *res, char **ret_component)
{
        _cleanup_(gdb_threads_done) GdbThreads threads = {};
        _cleanup_free_ char *component = NULL, *text = NULL;
        const GdbThread *crashing;
        char hash[41];
        int r;

        r = coredump_component(t, &component);
        if (r == -ENOMEM)
                return r;
        r = gdb_crashing_thread(res, &threads, &crashing);
        if (r == -ENODATA) {
                task_log(t, 'W', "No crash bucket: gdb printed no thread");
                return 0;
        }
        if (r >= 0)
                r = duphash_gdb_thread(strempty(component), crashing, &text, hash);
        if (r < 0)
                return r;
        free(t->duphash);
        t->duphash = strdup(hash);
        if (!t->duphash)
                return -ENOMEM;
        {
                _cleanup_free_ char *shown = strdup(text);

                /* one log line: the newlines of the text shown as "|" */
                for (char *p = shown; p && *p; p++)
                        if (*p == '\n')
                                *p = '|';
                task_log(t, 'I', "Crash bucket %s (duplicate hash of: %s)", hash, strna(shown));
        }
        *ret_component = TAKE_PTR(component);
        return 0;
}

/* Source context: the sources of the crashing thread's frames, read once per file from the release's
 * -debugsource packages through the cache's debuginfod lookup. */
#define SOURCE_CONTEXT_LINES    3          /* lines before and after a frame's line */
#define SOURCE_CONTEXT_MAX_FILE (8u << 20) /* larger source files are not read */
#define SOURCE_CONTEXT_MAX_LINE 1024       /* bytes of one line kept */
#define SOURCE_CONTEXT_FILES    16         /* files kept in memory at once */

typedef struct SourceFile {
        char *key; /* "build-id path" */
        char *text;
        size_t len;
} SourceFile;

typedef struct SourceReader {
        TaskRun *t;
        SourceFile files[SOURCE_CONTEXT_FILES];
        size_t next;
        unsigned found, missing;
        uint64_t extracted_packages, extracted_bytes, extracted_usec;
} SourceReader;

static void source_reader_done(SourceReader *s)
{
        for (size_t i = 0; i < SOURCE_CONTEXT_FILES; i++) {
                free(s->files[i].key);
                free(s->files[i].text);
        }
}

static int source_read(SourceReader *s, const char *build_id, const char *path, char **ret, size_t *ret_len)
{
        _cleanup_(debuginfod_file_done) DebuginfodFile f = { .fd = -EBADF };
        _cleanup_free_ char *canonical = NULL, *text = NULL;
        size_t done = 0;
        int r;

        r = debuginfod_source_path(path, &canonical);
        if (r < 0)
                return r;
        r = pipeline_debuginfod_find(s->t->p, DEBUGINFOD_SOURCE, build_id, canonical, &f);
        if (r < 0)
                return r;
        s->extracted_packages += f.extracted_packages;
        s->extracted_bytes += f.extracted_bytes;
        s->extracted_usec += f.extracted_usec;
        if (f.size > SOURCE_CONTEXT_MAX_FILE)
                return -EFBIG;
        text = malloc(f.size + 1);
        if (!text)
                return -ENOMEM;
        while (done < f.size) {
                ssize_t k = pread(f.fd, text + done, f.size - done, (off_t) (f.offset + done));

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        text[done] = 0;
        *ret = TAKE_PTR(text);
        *ret_len = done;
        return 0;
}

/* Lines first..last (1-based, clamped to the file) of text. */
static int source_lines(const char *text, size_t len, unsigned line, SourceContext *ret)
{
        _cleanup_strv_free_ char **lines = NULL;
        unsigned first = line > SOURCE_CONTEXT_LINES ? line - SOURCE_CONTEXT_LINES : 1, n = 1;
        const char *p = text, *end = text + len;
        int r;

        for (; p < end && n <= line + SOURCE_CONTEXT_LINES; n++) {
                const char *eol = memchr(p, '\n', (size_t) (end - p));
                size_t l = (size_t) ((eol ?: end) - p);

                if (n >= first) {
                        _cleanup_free_ char *s = strndup(p, MIN(l, (size_t) SOURCE_CONTEXT_MAX_LINE));

                        if (!s)
                                return -ENOMEM;
                        if (*s && s[strlen(s) - 1] == '\r')
                                s[strlen(s) - 1] = 0;
                        r = strv_extend(&lines, s);
                        if (r < 0)
                                return r;
                }
                p = eol ? eol + 1 : end;
        }
        if (n <= line)
                return -ENOENT; /* the file is shorter than the frame's line: not the right source */
        *ret = (SourceContext){ .first_line = first, .lines = TAKE_PTR(lines) };
        return 0;
}

static int source_context_find(void *userdata, const char *build_id, const char *path, unsigned line,
                               SourceContext *ret)
{
        SourceReader *s = userdata;
        _cleanup_free_ char *key = NULL;
        SourceFile *f = NULL;
        int r;

        if (asprintf(&key, "%s %s", build_id, path) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < SOURCE_CONTEXT_FILES && !f; i++)
                if (s->files[i].key && streq(s->files[i].key, key))
                        f = &s->files[i];
        if (!f) {
                f = &s->files[s->next];
                s->next = (s->next + 1) % SOURCE_CONTEXT_FILES;
                free(f->key);
                f->text = mfree(f->text);
                f->key = TAKE_PTR(key);
                r = source_read(s, build_id, path, &f->text, &f->len);
                if (r < 0 && r != -ENOENT)
                        task_log(s->t, 'W', "Cannot read the source %s of build-id %s: %s", path, build_id,
                                 strerror(-r));
        }
        r = f->text ? source_lines(f->text, f->len, line, ret) : -ENOENT;
        if (r >= 0)
                s->found++;
        else
                s->missing++;
        return r;
}

/* 'executable' must resolve inside the assembled root (crash_executable_resolve()); absent from it
 * without symlinks on its way is only a warning: gdb then reads the core alone. */
static int check_executable_in_root(TaskRun *t, char **ret_failure)
{
        _cleanup_close_ int root_fd = -EBADF;
        const char *why = NULL;
        int r;

        root_fd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return task_failf(ret_failure, -errno, "Cannot open the root %s: %s", t->root,
                                  strerror(errno));
        r = crash_executable_resolve(root_fd, t->executable, &why);
        if (r == -ENOENT) {
                task_log(t, 'W', "%s is not in the assembled root: gdb reads the core without it",
                         t->executable);
                return 0;
        }
        if (r < 0)
                return task_failf(ret_failure, r, "The executable %s %s", t->executable,
                                  why ?: strerror(-r));
        return 0;
}

/* gdb's log (GdbOptions.log_file): results/gdb-log/gdb.log, written by gdb in the sandbox. */
#define GDB_LOG_DIR  "gdb-log"
#define GDB_LOG_NAME "gdb.log"

/* An empty results/gdb-log that the sandbox's user may write (nobody when the daemon is root; only
 * the daemon reaches it, results/ is its own). */
static int gdb_log_dir_make(TaskRun *t, char **ret_path)
{
        _cleanup_free_ char *results = NULL, *path = NULL;
        int r;

        r = task_dir_part_path(t->p->config->save_dir, t->id, TASK_PART_RESULTS, &results);
        if (r < 0)
                return r;
        path = path_join(results, GDB_LOG_DIR);
        if (!path)
                return -ENOMEM;
        (void) path_rm_rf(path); /* an earlier run's */
        if (mkdirat(t->results_fd, GDB_LOG_DIR, 0700) < 0 ||
            fchmodat(t->results_fd, GDB_LOG_DIR, 0777, 0) < 0)
                return -errno;
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* The log gdb wrote, opened without following links or blocking on a FIFO (the sandbox's user owns
 * what is in the directory); -ENODATA when gdb wrote none (a gdb older than 12: stdout has it). */
static int gdb_log_read(TaskRun *t, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
        struct stat st;

        dir_fd = openat(t->results_fd, GDB_LOG_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        fd = openat(dir_fd, GDB_LOG_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ENODATA : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size == 0)
                return -ENODATA;
        return fd_read_full(fd, max, ret, ret_len);
}

/* gdb's output: what it printed on stdout (all of it, or the preamble when it wrote a log), then its
 * log; kept together as results/gdb-output. */
static int gdb_output_read(TaskRun *t, const char *log_dir, char **ret, size_t *ret_len)
{
        const RetraceConfig *cfg = t->p->config;
        const size_t max = cfg->max_output_size + (1 << 20);
        _cleanup_free_ char *out = NULL, *log = NULL;
        size_t out_len = 0, log_len = 0;
        char *all;
        int r;

        r = file_read_at(t->results_fd, "gdb-output", max, &out, &out_len);
        if (r < 0 || !log_dir) {
                if (log_dir)
                        (void) path_rm_rf(log_dir);
                if (r >= 0) {
                        *ret = TAKE_PTR(out);
                        *ret_len = out_len;
                }
                return r;
        }
        r = gdb_log_read(t, max, &log, &log_len);
        (void) path_rm_rf(log_dir);
        if (r < 0) {
                if (r != -ENODATA)
                        task_log(t, 'W', "Cannot read gdb's log: %s", strerror(-r));
                *ret = TAKE_PTR(out);
                *ret_len = out_len;
                return 0;
        }
        if (log_len >= cfg->max_output_size)
                task_log(t, 'W', "gdb's output reached MaxOutputSize (%" PRIu64 " bytes): the rest is cut",
                         cfg->max_output_size);
        all = malloc(out_len + log_len + 1);
        if (!all)
                return -ENOMEM;
        memcpy(all, out, out_len);
        memcpy(all + out_len, log, log_len);
        all[out_len + log_len] = '\0';
        (void) file_write_atomic_at(t->results_fd, "gdb-output", all, out_len + log_len, 0600);
        *ret = all;
        *ret_len = out_len + log_len;
        return 0;
}

int coredump_run_gdb(TaskRun *t, char **ret_failure)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_strv_free_ char **gdb = NULL, **argv = NULL;
        _cleanup_free_ char *crash_dir = NULL, *out = NULL, *bt = NULL, *ex = NULL;
        _cleanup_(gdb_result_freep) GdbResult *res = NULL;
        _cleanup_free_ char *python_helper = NULL, *log_dir = NULL;
        GdbOptions gopts;
        ExploitInput in;
        size_t out_len;
        int r, status;

        r = check_executable_in_root(t, ret_failure);
        if (r < 0)
                return r;
        if (python_is_interpreter(t->executable)) {
                r = python_find_gdb_helper(t->root, &python_helper);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        task_log(t, 'W',
                                 "%s is a Python interpreter, but the root has no gdb helper of the python "
                                 "debuginfo package: the backtrace lacks the Python stack",
                                 t->executable);
                else
                        task_log(t, 'I', "Python stack from %s", python_helper);
        }
        gopts = (GdbOptions){ .max_frames = (unsigned) MIN(cfg->max_backtrace_frames, 1000000u),
                              .python_helper = python_helper,
                              .index_cache = cfg->cache_gdb_index ? GDB_INDEX_MOUNT : NULL,
                              .sysroot = t->foreign ? "/" FOREIGN_SYSROOT : NULL };
        r = gdb_log_dir_make(t, &log_dir);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                task_log(t, 'W', "Cannot make the directory for gdb's log (gdb writes to stdout): %s",
                         strerror(-r));
        else
                gopts.log_file = DEBUGGER_LOG_MOUNT "/" GDB_LOG_NAME;
        if (t->foreign) {
                /* The foreign program is only read, never run: gdb takes it from the sysroot. */
                _cleanup_free_ char *exe = NULL;

                if (asprintf(&exe, "/" FOREIGN_SYSROOT "%s", t->executable) < 0)
                        return -ENOMEM;
                r = gdb_build_argv_full(t->plugin->gdb_foreign_executable, exe, CRASH_MOUNT "/coredump",
                                        &gopts, &gdb);
        } else
                r = gdb_build_argv_full(t->plugin->gdb_executable, t->executable, CRASH_MOUNT "/coredump",
                                        &gopts, &gdb);
        if (r < 0)
                return r;
        r = task_dir_part_path(cfg->save_dir, t->id, TASK_PART_CRASH, &crash_dir);
        if (r < 0)
                return r;
        r = task_debugger_argv(t, crash_dir, NULL, log_dir, cfg->task_timeout, gdb, &argv);
        if (r < 0)
                return r;

        r = task_sandbox_run(t, argv, -EBADF, "gdb-output", "gdb", cfg->task_timeout, &status, ret_failure);
        if (r < 0)
                return r;
        if (gopts.index_cache)
                task_log_gdb_index_use(t);

        r = gdb_output_read(t, log_dir, &out, &out_len);
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
        r = task_report_quality(t, res->crash_thread);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot write the resolution summary: %s", strerror(-r));
        res->max_frames = gopts.max_frames;
        {
                _cleanup_free_ char *resolution = NULL, *json = NULL, *component = NULL;
                _cleanup_(source_reader_done) SourceReader sources = { .t = t };
                BacktraceExtras extras = { .source_context = source_context_find, .userdata = &sources };

                r = coredump_bucket(t, res, &component);
                if (r < 0)
                        return task_failf(ret_failure, r, "Cannot compute the crash bucket: %s",
                                          strerror(-r));
                extras.duphash = t->duphash;
                extras.duphash_component = component;
                (void) file_read_at(t->results_fd, "resolution.json", 16 << 20, &resolution, NULL);
                r = gdb_backtrace_json_full(res, t->core, res->signal ?: t->core->signal, gopts.max_frames,
                                            resolution, &extras, &json);
                /* -debugsource packages a sync only indexed are extracted for their sources */
                if (sources.extracted_packages > 0)
                        task_log(t, 'I',
                                 "Extracted %" PRIu64 " packages (%.1f MB) in %.3f s for the source context",
                                 sources.extracted_packages, (double) sources.extracted_bytes / 1e6,
                                 (double) sources.extracted_usec / 1e6);
                if (sources.found + sources.missing > 0)
                        task_log(t, sources.missing ? 'W' : 'I',
                                 "Source context: %u frames of the crashing thread with source lines, %u "
                                 "whose source is not in the release's packages",
                                 sources.found, sources.missing);
                if (r >= 0)
                        r = task_write_result(t, "backtrace.json", json);
                if (r < 0)
                        return task_failf(ret_failure, r, "Cannot write backtrace.json: %s", strerror(-r));
        }
        r = gdb_result_format_backtrace(res, &bt);
        if (r >= 0 && gdb_backtrace_limit(&bt, cfg->max_backtrace_size) > 0)
                task_log(t, 'W', "The backtrace is longer than MaxBacktraceSize (%" PRIu64 " bytes): cut",
                         cfg->max_backtrace_size);
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
        {
                /* The same gdb, root and files again, by hand (daemon-interact.h). */
                _cleanup_strv_free_ char **interactive = NULL;
                _cleanup_free_ char *exe = NULL;

                /* No python helper (python is refused), no index cache (not bound in sessions). */
                gopts.python_helper = NULL;
                gopts.index_cache = NULL;
                if (t->foreign && asprintf(&exe, "/" FOREIGN_SYSROOT "%s", t->executable) < 0)
                        return -ENOMEM;
                r = gdb_build_interactive_argv(t->foreign ? t->plugin->gdb_foreign_executable
                                                          : t->plugin->gdb_executable,
                                               exe ?: t->executable, CRASH_MOUNT "/coredump", &gopts,
                                               INTERACTIVE_INIT_MOUNT, &interactive);
                if (r < 0)
                        return r;
                task_save_interactive(t, "gdb", interactive, crash_dir, NULL, gdb_interactive_init);
        }
        return 0;
}
