/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One coredump task from upload to backtrace: find the release and the exact packages from the
 * core's build-ids, assemble a root from the cache, run gdb inside retrace-sandbox, collect. */
#include "daemon-pipeline.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache-assemble.h"
#include "cache-release.h"
#include "cache-resolve.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-log.h"
#include "common-macro.h"
#include "cache-objects.h"
#include "common-path.h"
#include "common-string.h"
#include "daemon-core.h"
#include "daemon-crash.h"
#include "daemon-crashdata.h"
#include "daemon-exploitable.h"
#include "daemon-python.h"
#include "daemon-gdb.h"
#include "daemon-resolution.h"
#include "daemon-vmcore.h"

extern char **environ;

#define CRASH_MOUNT      "/crash" /* where the task's crash files appear inside the sandbox */
#define CRASH_EXECUTABLE "/usr/bin/crash"
#define VMLINUX_MOUNT    "/vmlinux" /* the kernel's debug file, bound from the cache's object store */
/* The host's makedumpfile, for flattened dumps: Debian installs it in /usr/bin, Fedora in /usr/sbin. */
static const char *const makedumpfile_paths[] = { "/usr/sbin/makedumpfile", "/usr/bin/makedumpfile" };
#define CRASH_LOG_TAIL  200          /* kernel log lines kept in the result */
#define BANNER_SCAN_MAX (512u << 20) /* how far into an ELF dump to look for "Linux version" */

typedef struct TaskRun {
        Pipeline *p;
        TaskJob *job;
        uint64_t id;
        int dir_fd;     /* SaveDir/<id> */
        int crash_fd;   /* SaveDir/<id>/crash */
        int results_fd; /* SaveDir/<id>/results */
        int log_fd;
        int64_t start_usec;
        int64_t stage_usec[4];

        char *executable, *package, *os_release, *os_info, *packages_list;
        CoreInfo *core;
        uint64_t core_size;
        const Plugin *plugin;
        char *release;
        int64_t *ids;
        size_t n_ids, ids_allocated;
        char **missing; /* "build-id (module)" */
        TaskResolution resolution;
        char *root;
        int cache_lock_fd;

        /* vmcore tasks */
        bool vmcore;
        char *dump_name; /* "vmcore" (or with a VMware suffix) */
        char *dump_dir;  /* host directory holding dump_name: crash/ or converted/ */
        VmcoreInfo *vmcore_info;
        char *vmlinux;        /* its path in the kernel debuginfo package */
        char *vmlinux_object; /* the cache object with its content, bound read-only at VMLINUX_MOUNT */
        char **module_files;  /* with VmcoreModuleDebuginfo: the modules' debug files in the root */
        char *kernel_nevra;   /* a shared flock on CacheDir/lock while the task uses a root */
} TaskRun;

static int64_t now_usec(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The task log, in the old server's format: "[YYYY-MM-DD HH:MM:SS] [I|W|E|D] message". */
_printf_(3, 4) static void task_log(TaskRun *t, char level, const char *format, ...)
{
        _cleanup_free_ char *msg = NULL, *line = NULL;
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        va_list ap;
        int n;

        va_start(ap, format);
        n = vasprintf(&msg, format, ap);
        va_end(ap);
        if (n < 0)
                return;
        (void) strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
        n = asprintf(&line, "[%s] [%c] %s\n", stamp, level, msg);
        if (n < 0)
                return;
        if (t->log_fd >= 0)
                (void) fd_write_all(t->log_fd, line, (size_t) n);
}

/* Sets the one-line reason a task failed (for its log) and returns error. */
_printf_(3, 4) static int failf(char **ret_failure, int error, const char *format, ...)
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
        safe_close(t->cache_lock_fd);
        safe_close(t->dir_fd);
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
        free(t->ids);
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
}

int pipeline_supported_releases(Pipeline *p, char ***ret)
{
        int r;

        pthread_mutex_lock(&p->cache_lock);
        r = cache_index_list_releases(p->cache->index, ret);
        pthread_mutex_unlock(&p->cache_lock);
        return r;
}

/* The value of KEY in os-release text, unquoted; NULL when absent. */
static char *os_info_get(const char *text, const char *key)
{
        size_t kl = strlen(key);

        for (const char *line = text; line && *line;
             line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                size_t n = strcspn(line, "\n");
                const char *v;

                if (n <= kl || strncmp(line, key, kl) != 0 || line[kl] != '=')
                        continue;
                v = line + kl + 1;
                n -= kl + 1;
                if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                        v++;
                        n -= 2;
                }
                return strndup(v, n);
        }
        return NULL;
}

/* "CentOS Stream" → "centos-stream". */
static void slugify(char *s)
{
        for (; *s; s++)
                *s = *s == ' ' ? '-' : (char) tolower((unsigned char) *s);
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
                _cleanup_free_ char *id = os_info_get(os_info, "ID"), *name = os_info_get(os_info, "NAME"),
                                    *version_id = os_info_get(os_info, "VERSION_ID");
                if (name)
                        slugify(name);
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

/* ---------------------------------------------------------------- analyze */

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

static int add_id(TaskRun *t, int64_t id)
{
        for (size_t i = 0; i < t->n_ids; i++)
                if (t->ids[i] == id)
                        return 0;
        if (ARRAY_RESERVE(t->ids, t->ids_allocated, t->n_ids + 1) < 0)
                return -ENOMEM;
        t->ids[t->n_ids++] = id;
        return 0;
}

/* Maps every module of the core to its packages (rpmcache's resolver) and logs, per module, the
 * rule that did it or what was tried; the packages found go into the root. */
static int resolve_modules(TaskRun *t, char *const *crash_packages)
{
        _cleanup_free_ char *distribution = NULL, *version = NULL, *arch = NULL;
        int r;

        r = task_resolution_run(t->p->cache, t->release, t->core, t->executable, crash_packages, &t->resolution);
        if (r < 0)
                return r;
        (void) release_split(t->release, &distribution, &version, &arch);
        for (size_t i = 0; i < t->resolution.n_modules; i++) {
                const ModuleResolution *m = &t->resolution.modules[i];
                const ModulePackages *pk = &m->packages;
                _cleanup_free_ char *line = module_resolution_describe(m);

                task_log(t, pk->binary.found && pk->debuginfo.found ? 'I' : 'W', "%s", strna(line));
                if (pk->binary.found && (r = add_id(t, pk->binary.package.id)) < 0)
                        return r;
                if (pk->debuginfo.found && (r = add_id(t, pk->debuginfo.package.id)) < 0)
                        return r;
                if (pk->dwz.found && (r = add_id(t, pk->dwz.package.id)) < 0)
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
                task_log(t, 'W',
                         "Resolution: %u of %zu modules in packages of %s, %u missing, %u without debuginfo: "
                         "their frames will lack names or lines. If the release has them, run "
                         "retrace-server-reposync %s %s %s (with the plugin's debuginfo repositories enabled)",
                         t->resolution.found, t->resolution.n_modules, t->release, t->resolution.missing,
                         t->resolution.without_debuginfo, strna(distribution), strna(version), strna(arch));
        else
                task_log(t, 'I', "Resolution: all %zu modules in packages of %s, all with debuginfo",
                         t->resolution.n_modules, t->release);
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
        if (strv_contains(synced, t->release) || release_split(t->release, &distribution, &version, &arch) < 0)
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

static int task_analyze(TaskRun *t, char **ret_failure)
{
        _cleanup_strv_free_ char **crash_packages = NULL;
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
                return failf(ret_failure, r, "Cannot read the crash data: %s", strerror(-r));
        if (isempty(t->executable) || t->executable[0] != '/')
                return failf(ret_failure, -EINVAL,
                             "The file 'executable' must hold the absolute path of the program");

        core_fd = openat(t->crash_fd, "coredump", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (core_fd < 0 || fstat(core_fd, &st) < 0)
                return failf(ret_failure, -errno, "Cannot open the coredump: %s", strerror(errno));
        t->core_size = (uint64_t) st.st_size;
        r = core_info_read(core_fd, &t->core);
        if (r < 0)
                return failf(ret_failure, r, "The file 'coredump' is not an ELF core file");
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
                return failf(
                        ret_failure, -ENOENT,
                        "Unknown release '%s': no distribution plugin recognises it. Supported releases: %s",
                        strna(release_line), isempty(list) ? "none (run retrace-server-reposync)" : list);
        }
        r = multilib_release(t);
        if (r < 0)
                return failf(ret_failure, r, "Cannot list the synced releases: %s", strerror(-r));
        task_log(t, 'I', "Release: %s (%s)", t->release,
                 t->plugin->displayrelease ?: t->plugin->distribution);

        r = strv_split(strempty(t->packages_list), WHITESPACE, &crash_packages);
        if (r >= 0 && t->package)
                r = strv_extend(&crash_packages, t->package);
        if (r < 0)
                return failf(ret_failure, r, "Cannot read the crash's package list: %s", strerror(-r));
        pthread_mutex_lock(&t->p->cache_lock);
        /* The packages the crash names go into the root as well: they are what the process ran
         * with, even where no module of the core points at them. */
        STRV_FOREACH (spec, crash_packages) {
                int64_t id;

                r = cache_find_package(t->p->cache->index, t->release, *spec, &id);
                if (r == -ENOENT || r == -EINVAL) {
                        task_log(t, 'W', "Package %s named by the crash is not known in %s", *spec, t->release);
                        r = 0;
                        continue;
                }
                if (r >= 0)
                        r = add_id(t, id);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = resolve_modules(t, crash_packages);
        pthread_mutex_unlock(&t->p->cache_lock);
        if (r < 0)
                return failf(ret_failure, r, "Cannot look packages up in the cache: %s", strerror(-r));
        if (t->n_ids == 0)
                return failf(ret_failure, -ENOENT,
                             "No package of %s provides %s or any library of this crash, and package %s is "
                             "unknown there: run retrace-server-reposync %s, or check the release",
                             t->release, t->executable, strna(t->package), t->release);
        if (t->missing) {
                _cleanup_free_ char *list = strv_join(t->missing, ", ");
                task_log(t, 'W', "Build-ids not found in any package: %s", strna(list));
        }
        return 0;
}

/* ---------------------------------------------------------------- prepare */

static bool job_keep_waiting(void *userdata)
{
        return !task_job_cancelled(userdata);
}

static int task_prepare(TaskRun *t, char **ret_failure)
{
        _cleanup_free_ int64_t *all = NULL;
        _cleanup_strv_free_ char **unresolved = NULL;
        _cleanup_free_ char *reason = NULL;
        AssembleResult a = {};
        size_t n_all = 0;
        int64_t start = now_usec();
        const char *debugger = t->vmcore ? t->plugin->crash_package : t->plugin->gdb_package;
        int r;

        /* Held shared until the task ends, so that gc cannot remove the root under gdb; a lock of this
         * task's own (flock belongs to the open file, which other workers must not share). Taken before
         * the mutex: a running gc may make us wait, and nobody else should wait for that. */
        r = cache_lock_shared(t->p->cache, job_keep_waiting, t->job, &t->cache_lock_fd);
        if (r == -ECANCELED)
                return r;
        if (r < 0)
                return failf(ret_failure, r, "Cannot lock the package cache: %s", strerror(-r));
        pthread_mutex_lock(&t->p->cache_lock);
        r = cache_resolve_with_debugger(t->p->cache->index, t->release, debugger, t->ids, t->n_ids, &all,
                                        &n_all, &unresolved);
        if (r >= 0)
                r = cache_assemble(t->p->cache, all, n_all, &a, &reason);
        pthread_mutex_unlock(&t->p->cache_lock);
        if (r == -ENOENT && !reason)
                return failf(ret_failure, r,
                             "The debugger package %s is not in %s: run retrace-server-reposync %s",
                             debugger, t->release, t->release);
        if (r < 0)
                return failf(ret_failure, r, "Cannot assemble the root for %s: %s", t->release,
                             reason ?: strerror(-r));
        STRV_FOREACH (u, unresolved)
                task_log(t, 'W', "Unresolved dependency: %s", *u);
        task_log(t, 'I', "Root with %zu packages %s in %.3f s", n_all, a.reused ? "reused" : "assembled",
                 (double) (now_usec() - start) / 1e6);
        __atomic_add_fetch(a.reused ? &t->p->roots_reused : &t->p->roots_assembled, 1, __ATOMIC_RELAXED);
        t->root = TAKE_PTR(a.path);
        assemble_result_done(&a);
        return 0;
}

/* ---------------------------------------------------------------- run */

static int spawn_sandbox(TaskRun *t, char **argv, int in_fd, int out_fd, int err_fd, int status_fd,
                         pid_t *ret)
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
        r = posix_spawn(ret, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        return -r;
}

static int open_result(TaskRun *t, const char *name)
{
        return openat(t->results_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
}

static int write_result(TaskRun *t, const char *name, const char *text)
{
        return file_write_atomic_at(t->results_fd, name, text, strlen(text), 0640);
}

static int strv_extend_many(char ***l, const char *const *items, size_t n)
{
        int r;

        for (size_t i = 0; i < n; i++)
                if ((r = strv_extend(l, items[i])) < 0)
                        return r;
        return 0;
}

/* retrace-sandbox's command line for a debugger: the task's root, crash_dir read-only at CRASH_MOUNT
 * (and a vmlinux, when given, at VMLINUX_MOUNT), a private /tmp, a fixed environment, the time and
 * output limits, the status on fd 3, then cmd. */
static int debugger_argv(TaskRun *t, const char *crash_dir, const char *vmlinux, uint64_t timeout_sec,
                         char *const *cmd, char ***ret)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_strv_free_ char **argv = NULL;
        char timeout[32], limit[32];
        int r;

        (void) snprintf(timeout, sizeof(timeout), "%" PRIu64, timeout_sec);
        (void) snprintf(limit, sizeof(limit), "%" PRIu64, cfg->max_output_size);
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
                task_log(t, 'W',
                         "Degraded backtrace: the crashing thread has frames without lines in %s, which lack "
                         "debuginfo or a package in the cache. To fix it, sync the release with its debuginfo "
                         "repositories: retrace-server-reposync %s %s %s",
                         strna(list), strna(distribution), strna(version), strna(arch));
        }
        r = task_resolution_to_json(&t->resolution, &json);
        if (r >= 0)
                r = write_result(t, "resolution.json", json);
        return r;
}

static int task_run_gdb(TaskRun *t, char **ret_failure)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_strv_free_ char **gdb = NULL, **argv = NULL;
        _cleanup_free_ char *crash_dir = NULL, *out = NULL, *err = NULL, *bt = NULL, *ex = NULL;
        _cleanup_close_ int out_fd = -EBADF, err_fd = -EBADF, status_fd = -EBADF;
        _cleanup_(gdb_result_freep) GdbResult *res = NULL;
        _cleanup_free_ char *python_helper = NULL;
        GdbOptions gopts;
        ExploitInput in;
        size_t out_len;
        pid_t pid;
        int r, status;

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
                              .python_helper = python_helper };
        r = gdb_build_argv_full(t->plugin->gdb_executable, t->executable, CRASH_MOUNT "/coredump", &gopts,
                                &gdb);
        if (r < 0)
                return r;
        if (asprintf(&crash_dir, "%s/%" PRIu64 "/crash", cfg->save_dir, t->id) < 0)
                return -ENOMEM;
        r = debugger_argv(t, crash_dir, NULL, cfg->task_timeout, gdb, &argv);
        if (r < 0)
                return r;

        out_fd = open_result(t, "gdb-output");
        err_fd = open_result(t, "sandbox-errors");
        status_fd = open_result(t, "sandbox-status.json");
        if (out_fd < 0 || err_fd < 0 || status_fd < 0)
                return failf(ret_failure, -errno, "Cannot write the task's results: %s", strerror(errno));
        r = spawn_sandbox(t, argv, -EBADF, out_fd, err_fd, status_fd, &pid);
        if (r < 0)
                return failf(ret_failure, r, "Cannot start %s: %s", cfg->sandbox_path, strerror(-r));
        task_job_set_child(t->job, pid);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        status = -1;
                        break;
                }
        task_job_set_child(t->job, 0);
        if (task_job_cancelled(t->job))
                return -ECANCELED;

        (void) file_read_at(t->results_fd, "sandbox-errors", 64 * 1024, &err, NULL);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 124)
                return failf(ret_failure, -ETIME,
                             "gdb did not finish within TaskTimeout (%" PRIu64 " s) and was killed",
                             cfg->task_timeout);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
                return failf(ret_failure, -EPERM, "The sandbox could not be set up: %s",
                             strna(err ? string_strip(err) : NULL));

        r = file_read_at(t->results_fd, "gdb-output", cfg->max_output_size + (1 << 20), &out, &out_len);
        if (r < 0)
                return failf(ret_failure, r, "Cannot read gdb's output: %s", strerror(-r));
        r = gdb_result_parse(out, out_len, &res);
        if (r < 0)
                return r;
        if (!res->crash_thread || !strstr(res->crash_thread, "#0")) {
                /* gdb's own words say what went wrong. */
                task_log(t, 'E', "gdb output:\n%s", res->preamble ?: out);
                return failf(ret_failure, -EBADMSG, "gdb printed no backtrace (exit status %d)",
                             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                task_log(t, 'W', "gdb exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        r = task_report_quality(t, res->crash_thread);
        if (r < 0)
                return failf(ret_failure, r, "Cannot write the resolution summary: %s", strerror(-r));
        r = gdb_result_format_backtrace(res, &bt);
        if (r >= 0 && gdb_backtrace_limit(&bt, cfg->max_backtrace_size) > 0)
                task_log(t, 'W', "The backtrace is longer than MaxBacktraceSize (%" PRIu64 " bytes): cut",
                         cfg->max_backtrace_size);
        if (r >= 0)
                r = write_result(t, "backtrace", bt);
        gdb_result_exploit_input(res, &in);
        if (in.signal == 0)
                in.signal = t->core->signal;
        if (r >= 0)
                r = exploit_format(&in, &ex);
        if (r >= 0)
                r = write_result(t, "exploitable", ex);
        if (r < 0)
                return failf(ret_failure, r, "Cannot write the backtrace: %s", strerror(-r));
        return 0;
}

/* ---------------------------------------------------------------- vmcore tasks */

static const char *const dump_names[] = { "vmcore", "vmcore.vmss", "vmcore.vmsn", "vmcore.vmem" };

/* Runs argv in the sandbox and waits: stdin from in_fd, stdout+stderr into results/out_name. Returns
 * the wait status in *ret_status; -ECANCELED when the task was cancelled meanwhile. */
static int run_sandboxed(TaskRun *t, char **argv, int in_fd, const char *out_name, int *ret_status)
{
        _cleanup_close_ int out_fd = -EBADF, err_fd = -EBADF, status_fd = -EBADF;
        pid_t pid;
        int r, status;

        out_fd = open_result(t, out_name);
        err_fd = open_result(t, "sandbox-errors");
        status_fd = open_result(t, "sandbox-status.json");
        if (out_fd < 0 || err_fd < 0 || status_fd < 0)
                return -errno;
        r = spawn_sandbox(t, argv, in_fd, out_fd, err_fd, status_fd, &pid);
        if (r < 0)
                return r;
        task_job_set_child(t->job, pid);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        status = -1;
                        break;
                }
        task_job_set_child(t->job, 0);
        if (task_job_cancelled(t->job))
                return -ECANCELED;
        *ret_status = status;
        return 0;
}

/* makedumpfile -R, in the sandbox over the host's read-only root (makedumpfile is the host's tool, not
 * the distribution's): the flattened upload on stdin, the reassembled dump into SaveDir/<id>/converted.
 * The flattened file is removed afterwards, so that the task keeps one copy of the dump. */
static int vmcore_convert_flattened(TaskRun *t, char **ret_failure)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_free_ char *conv = NULL, *timeout = NULL, *err = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int in_fd = -EBADF;
        const char *makedumpfile = NULL;
        int r, status;

        for (size_t i = 0; i < ELEMENTSOF(makedumpfile_paths) && !makedumpfile; i++)
                if (access(makedumpfile_paths[i], X_OK) >= 0)
                        makedumpfile = makedumpfile_paths[i];
        if (!makedumpfile)
                return failf(ret_failure, -ENOENT,
                             "The dump is in makedumpfile's flattened format, and makedumpfile is not "
                             "installed on the server to convert it: install makedumpfile");
        if (asprintf(&conv, "%s/%" PRIu64 "/converted", cfg->save_dir, t->id) < 0 ||
            asprintf(&timeout, "%" PRIu64, cfg->task_timeout) < 0)
                return -ENOMEM;
        if (mkdir(conv, 0750) < 0 && errno != EEXIST)
                return failf(ret_failure, -errno, "Cannot create %s: %m", conv);
        /* Writable for the sandbox's unprivileged id when the daemon runs as root; the task directory
         * around it is the daemon's own, closed to others. */
        if (chmod(conv, 0777) < 0)
                return failf(ret_failure, -errno, "Cannot make %s writable: %m", conv);
        in_fd = openat(t->crash_fd, t->dump_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in_fd < 0)
                return failf(ret_failure, -errno, "Cannot open the dump: %m");
        {
                const char *a[] = { cfg->sandbox_path,
                                    "--root",
                                    "/",
                                    "--bind",
                                    conv,
                                    "/out",
                                    "--tmpfs",
                                    "/tmp",
                                    "--timeout",
                                    timeout,
                                    "--status-fd",
                                    "3",
                                    "--",
                                    makedumpfile,
                                    "-R",
                                    "/out/vmcore" };
                r = strv_extend_many(&argv, a, ELEMENTSOF(a));
                if (r < 0)
                        return r;
        }
        task_log(t, 'I', "Converting the flattened dump with makedumpfile -R");
        r = run_sandboxed(t, argv, in_fd, "makedumpfile-output", &status);
        if (r == -ECANCELED)
                return r;
        if (r < 0)
                return failf(ret_failure, r, "Cannot run makedumpfile -R: %s", strerror(-r));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                (void) file_read_at(t->results_fd, "makedumpfile-output", 4096, &err, NULL);
                return failf(ret_failure, -EBADMSG,
                             "makedumpfile -R could not convert the flattened dump: %s",
                             err ? string_strip(err) : "no output");
        }
        (void) unlinkat(t->crash_fd, t->dump_name, 0);
        free(t->dump_name);
        t->dump_name = strdup("vmcore");
        free(t->dump_dir);
        t->dump_dir = TAKE_PTR(conv);
        return t->dump_name ? 0 : -ENOMEM;
}

/* Reads what the dump says about itself: format, release, build-id, architecture. */
static int vmcore_read_info(TaskRun *t, char **ret_failure)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *head = NULL;
        _cleanup_free_ char *path = NULL;
        struct stat st;
        size_t want;
        ssize_t n;
        int r;

        path = path_join(t->dump_dir, t->dump_name);
        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) < 0)
                return failf(ret_failure, -errno, "Cannot open the dump %s: %m", t->dump_name);
        t->core_size = (uint64_t) st.st_size;
        want = st.st_size < (off_t) VMCORE_HEAD_MAX ? (size_t) st.st_size : VMCORE_HEAD_MAX;
        head = malloc(want ?: 1);
        if (!head)
                return -ENOMEM;
        n = pread(fd, head, want, 0);
        if (n < 0)
                return failf(ret_failure, -errno, "Cannot read the dump: %m");
        t->vmcore_info = vmcore_info_free(t->vmcore_info);
        r = vmcore_info_parse(head, (size_t) n, &t->vmcore_info);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return failf(ret_failure, -EBADMSG,
                             "The file '%s' (%" PRIu64
                             " bytes) is not a kernel dump this server reads (ELF, "
                             "kdump-compressed or makedumpfile flattened), or it is truncated",
                             t->dump_name, t->core_size);
        /* No vmcoreinfo note (a dump without QEMU's vmcoreinfo device, an old kernel): the banner. */
        if (!t->vmcore_info->osrelease && t->vmcore_info->format == VMCORE_FORMAT_ELF && st.st_size > 0) {
                size_t len = st.st_size < (off_t) BANNER_SCAN_MAX ? (size_t) st.st_size : BANNER_SCAN_MAX;
                void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);

                if (m != MAP_FAILED) {
                        if (vmcore_find_banner(m, len, &t->vmcore_info->osrelease) >= 0)
                                task_log(t, 'I', "Release read from the \"Linux version\" banner in memory");
                        (void) munmap(m, len);
                }
        }
        return 0;
}

static const struct {
        const char *prefix, *suffix;
} vmlinux_paths[] = {
        { "/usr/lib/debug/lib/modules/", "/vmlinux" },     /* Fedora, RHEL, CentOS, openSUSE */
        { "/usr/lib/debug/usr/lib/modules/", "/vmlinux" }, /* merged /usr layouts */
        { "/usr/lib/debug/boot/vmlinux-", "" },            /* Debian, Ubuntu */
        { "/usr/lib/debug/vmlinux-", "" },
};

/* The kernel debuginfo package: by the vmlinux build-id, else by the path of vmlinux for the release.
 * Any release the cache holds is searched (a vmcore upload names none). */
static int vmcore_find_kernel(TaskRun *t, int64_t *ret_id, char **ret_path, char **ret_how)
{
        CacheIndex *idx = t->p->cache->index;
        const VmcoreInfo *v = t->vmcore_info;
        BuildIdHit *hits = NULL;
        size_t n = 0;
        int r;

        if (v->build_id) {
                r = cache_index_lookup_build_id(idx, v->build_id, NULL, &hits, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (hits[i].kind == BUILD_ID_DEBUG) {
                                *ret_id = hits[i].package.id;
                                *ret_path = strdup(hits[i].path);
                                *ret_how = strdup("build-id");
                                build_id_hit_array_free(hits, n);
                                return *ret_path && *ret_how ? 0 : -ENOMEM;
                        }
                build_id_hit_array_free(hits, n);
        }
        for (size_t k = 0; v->osrelease && k < ELEMENTSOF(vmlinux_paths); k++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s%s%s", vmlinux_paths[k].prefix, v->osrelease,
                             vmlinux_paths[k].suffix) < 0)
                        return -ENOMEM;
                hits = NULL;
                n = 0;
                r = cache_index_lookup_path(idx, path, NULL, &hits, &n);
                if (r < 0)
                        return r;
                if (n > 0) {
                        *ret_id = hits[n - 1].package.id; /* the newest import */
                        *ret_path = TAKE_PTR(path);
                        *ret_how = strdup("release");
                        build_id_hit_array_free(hits, n);
                        return *ret_how ? 0 : -ENOMEM;
                }
                build_id_hit_array_free(hits, n);
        }
        return -ENOENT;
}

/* The cache object holding vmlinux among the files of the kernel debuginfo package pkg, following
 * the package's own symlinks (a .build-id link points to vmlinux), so that only that file, not the
 * whole package, goes into the sandbox. */
static int vmlinux_object_path(TaskRun *t, const PackageInfo *pkg, const PackageFile *files, size_t n,
                               char **ret)
{
        _cleanup_free_ char *path = strdup(t->vmlinux), *name = NULL;
        int r = -ENOENT;

        if (!path)
                return -ENOMEM;
        for (int hops = 0; hops < 16 && r == -ENOENT; hops++) {
                const PackageFile *f = NULL;

                for (size_t i = 0; i < n && !f; i++)
                        if (streq(files[i].path, path))
                                f = &files[i];
                if (!f)
                        break;
                if (S_ISLNK(f->mode) && f->link) {
                        char *next = path_resolve_link(path, f->link);

                        if (!next) {
                                r = -ENOMEM;
                                break;
                        }
                        free(path);
                        path = next;
                        continue;
                }
                if (!S_ISREG(f->mode) || !f->digest) {
                        r = -EBADF;
                        break;
                }
                r = cache_object_name(pkg->digest_algo, f->digest, f->mode, &name);
        }
        if (r < 0)
                return r;
        if (asprintf(ret, "%s/objects/%s", t->p->cache->dir, name) < 0)
                return -ENOMEM;
        return 0;
}

/* The debug files of the kernel's modules among the kernel debuginfo package's files (below
 * /usr/lib/debug/lib/modules/R/ or /usr/lib/debug/usr/lib/modules/R/). */
static int module_files_find(TaskRun *t, const PackageFile *files, size_t n, char ***ret)
{
        static const char *const layouts[] = { "/usr/lib/debug/lib/modules/",
                                               "/usr/lib/debug/usr/lib/modules/" };
        _cleanup_strv_free_ char **found = NULL;
        int r = 0;

        if (!t->vmcore_info->osrelease)
                return -ENOENT;
        for (size_t k = 0; k < ELEMENTSOF(layouts) && r >= 0; k++) {
                _cleanup_free_ char *dir = NULL;

                if (asprintf(&dir, "%s%s/", layouts[k], t->vmcore_info->osrelease) < 0) {
                        r = -ENOMEM;
                        break;
                }
                for (size_t i = 0; i < n && r >= 0; i++)
                        if (S_ISREG(files[i].mode) && string_startswith(files[i].path, dir) &&
                            crash_is_module_file(files[i].path))
                                r = strv_extend(&found, files[i].path);
        }
        if (r < 0)
                return r;
        if (!found)
                return -ENOENT;
        *ret = TAKE_PTR(found);
        return 0;
}

static const Plugin *plugin_for_distribution(Pipeline *p, const char *distribution)
{
        for (size_t i = 0; i < p->n_plugins; i++)
                if (streq(p->plugins[i]->distribution, distribution))
                        return p->plugins[i];
        return NULL;
}

static int task_analyze_vmcore(TaskRun *t, char **ret_failure)
{
        _cleanup_free_ char *how = NULL, *dist = NULL, *version = NULL, *arch = NULL;
        _cleanup_strv_free_ char **releases = NULL;
        const VmcoreInfo *v;
        PackageInfo pkg = {};
        PackageFile *files = NULL;
        size_t n_files = 0;
        int64_t id = -1;
        int r, modules_r = -ENOENT;

        for (size_t i = 0; i < ELEMENTSOF(dump_names) && !t->dump_name; i++)
                if (faccessat(t->crash_fd, dump_names[i], F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                        t->dump_name = strdup(dump_names[i]);
        if (!t->dump_name)
                return failf(ret_failure, -ENOENT, "The upload holds no 'vmcore'");
        if (asprintf(&t->dump_dir, "%s/%" PRIu64 "/crash", t->p->config->save_dir, t->id) < 0)
                return -ENOMEM;
        r = vmcore_read_info(t, ret_failure);
        if (r < 0)
                return r;
        if (t->vmcore_info->format == VMCORE_FORMAT_FLATTENED) {
                r = vmcore_convert_flattened(t, ret_failure);
                if (r >= 0)
                        r = vmcore_read_info(t, ret_failure);
                if (r < 0)
                        return r;
        }
        v = t->vmcore_info;
        task_log(t, 'I', "Vmcore: %s, %" PRIu64 " bytes, kernel release %s, vmlinux build-id %s, %s",
                 vmcore_format_to_string(v->format), t->core_size, v->osrelease ?: "unknown",
                 v->build_id ?: "unknown", v->arch ?: "unknown architecture");
        if (!v->osrelease && !v->build_id)
                return failf(ret_failure, -ENOENT,
                             "The dump names neither its kernel release nor its vmlinux build-id (no "
                             "vmcoreinfo note, no \"Linux version\" banner found): it may be truncated");

        pthread_mutex_lock(&t->p->cache_lock);
        r = vmcore_find_kernel(t, &id, &t->vmlinux, &how);
        if (r >= 0)
                r = cache_index_package_releases(t->p->cache->index, id, &releases);
        if (r >= 0)
                r = cache_index_get_package(t->p->cache->index, id, &pkg);
        if (r >= 0)
                r = cache_index_get_files(t->p->cache->index, id, &files, &n_files);
        if (r >= 0) {
                r = vmlinux_object_path(t, &pkg, files, n_files, &t->vmlinux_object);
                if (r >= 0 && t->p->config->vmcore_module_debuginfo)
                        modules_r = module_files_find(t, files, n_files, &t->module_files);
                package_file_array_free(files, n_files);
                if (r < 0 && r != -ENOMEM) {
                        pthread_mutex_unlock(&t->p->cache_lock);
                        package_info_done(&pkg);
                        return failf(ret_failure, r,
                                     "The cache has no content for %s in the kernel debuginfo "
                                     "package (%s): run retrace-server-cache verify",
                                     t->vmlinux, strerror(-r));
                }
        }
        pthread_mutex_unlock(&t->p->cache_lock);
        if (r == -ENOENT)
                return failf(ret_failure, -ENOENT,
                             "No kernel debuginfo package in the cache has vmlinux of kernel release %s "
                             "(build-id %s): sync the distribution's debuginfo repository with "
                             "retrace-server-reposync",
                             v->osrelease ?: "unknown", v->build_id ?: "unknown");
        if (r < 0)
                return failf(ret_failure, r, "Cannot look the kernel up in the cache: %s", strerror(-r));
        t->kernel_nevra = package_info_nevra(&pkg);
        package_info_done(&pkg);
        t->release = strdup(releases[0]);
        if (!t->release || !t->kernel_nevra)
                return -ENOMEM;
        r = release_split(t->release, &dist, &version, &arch);
        if (r < 0)
                return failf(ret_failure, r, "Release %s has a malformed name", t->release);
        t->plugin = plugin_for_distribution(t->p, dist);
        if (!t->plugin)
                return failf(ret_failure, -ENOENT, "No plugin describes distribution %s of release %s", dist,
                             t->release);
        if (!t->plugin->crash_package)
                return failf(ret_failure, -ENOENT,
                             "The plugin of %s names no crash_package: vmcores of it cannot be retraced",
                             t->plugin->distribution);
        task_log(t, 'I', "Kernel debuginfo: %s in %s (found by %s), vmlinux %s", t->kernel_nevra, t->release,
                 how, t->vmlinux);
        if (v->arch && !string_endswith(t->release, v->arch))
                task_log(t, 'W', "The dump is for %s, the debuginfo package's release is %s", v->arch,
                         t->release);
        if (!t->p->config->vmcore_module_debuginfo)
                return 0;
        /* Modules' debug files are asked for: the whole debuginfo package goes into the root (a
         * hardlink tree, reused by every task of that kernel); crash loads those of the modules in the
         * dump (task_run_crash). */
        if (modules_r == -ENOMEM)
                return modules_r;
        if (modules_r < 0) {
                task_log(t, 'W', "VmcoreModuleDebuginfo: %s has no debug files of modules for %s",
                         t->kernel_nevra, strna(v->osrelease));
                return 0;
        }
        task_log(t, 'I', "Modules' debug files: %zu in %s", strv_length(t->module_files), t->kernel_nevra);
        return add_id(t, id);
}

/* One run of crash in the sandbox over the dump, in mode, loading module_loads first; *ret_res is
 * the parsed output. Fails (with *ret_failure) only when crash cannot be run or ran out of time. */
static int crash_run_once(TaskRun *t, CrashMode mode, char *const *module_loads, int64_t start,
                          CrashResult **ret_res, int *ret_status, char **ret_failure)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_strv_free_ char **argv = NULL, **cmd = NULL;
        _cleanup_free_ char *script = NULL, *dump = NULL, *out = NULL, *err = NULL;
        _cleanup_close_ int in_fd = -EBADF;
        int64_t left = (int64_t) cfg->task_timeout * 1000000 - (now_usec() - start);
        size_t out_len;
        int r, status;

        if (left < 1000000)
                return failf(ret_failure, -ETIME,
                             "crash did not finish within TaskTimeout (%" PRIu64 " s) and was killed",
                             cfg->task_timeout);
        if (asprintf(&dump, CRASH_MOUNT "/%s", t->dump_name) < 0)
                return -ENOMEM;
        r = crash_build_script(mode, module_loads, &script);
        if (r >= 0)
                r = write_result(t, "crash-commands", script);
        if (r >= 0)
                r = crash_build_argv(CRASH_EXECUTABLE, VMLINUX_MOUNT, dump, mode, &cmd);
        if (r < 0)
                return failf(ret_failure, r, "Cannot prepare crash: %s", strerror(-r));
        in_fd = openat(t->results_fd, "crash-commands", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in_fd < 0)
                return failf(ret_failure, -errno, "Cannot read crash's commands: %m");
        /* The dump's directory read-only: a dump of any size is never copied. */
        r = debugger_argv(t, t->dump_dir, t->vmlinux_object, (uint64_t) (left / 1000000), cmd, &argv);
        if (r < 0)
                return r;
        task_log(t, 'I', "Running crash (%s)%s", crash_mode_to_string(mode),
                 module_loads ? " with the modules' debug files" : "");
        r = run_sandboxed(t, argv, in_fd, "crash-output", &status);
        if (r == -ECANCELED)
                return r;
        if (r < 0)
                return failf(ret_failure, r, "Cannot start %s: %s", cfg->sandbox_path, strerror(-r));
        (void) file_read_at(t->results_fd, "sandbox-errors", 64 * 1024, &err, NULL);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 124)
                return failf(ret_failure, -ETIME,
                             "crash did not finish within TaskTimeout (%" PRIu64 " s) and was killed",
                             cfg->task_timeout);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
                return failf(ret_failure, -EPERM, "The sandbox could not be set up: %s",
                             strna(err ? string_strip(err) : NULL));
        r = file_read_at(t->results_fd, "crash-output", cfg->max_output_size + (1 << 20), &out, &out_len);
        if (r < 0)
                return failf(ret_failure, r, "Cannot read crash's output: %s", strerror(-r));
        r = crash_result_parse(out, out_len, CRASH_LOG_TAIL, ret_res);
        if (r < 0)
                return r;
        *ret_status = status;
        return 0;
}

/* With VmcoreModuleDebuginfo: crash again, loading the debug files of the modules the first run
 * listed, so that their frames and `mod` show them. Keeps *res when that gives nothing better. */
static int crash_with_modules(TaskRun *t, CrashMode mode, int64_t start, CrashResult **res,
                              char **ret_failure)
{
        _cleanup_strv_free_ char **loads = NULL;
        _cleanup_(crash_result_freep) CrashResult *again = NULL;
        int r, status;

        if (!t->module_files || mode == CRASH_MODE_MINIMAL || !(*res)->mod)
                return 0;
        r = crash_module_loads((*res)->mod, t->module_files, &loads);
        if (r < 0)
                return r;
        if (!loads) {
                task_log(t, 'W', "No debug file in %s matches a module of the dump", t->kernel_nevra);
                return 0;
        }
        r = crash_run_once(t, mode, loads, start, &again, &status, ret_failure);
        if (r < 0)
                return r;
        if (!crash_result_usable(again, mode)) {
                task_log(t, 'W', "crash failed with the modules' debug files: the result is without them");
                return 0;
        }
        task_log(t, 'I', "crash loaded the debug files of %zu module(s)", strv_length(loads));
        crash_result_free(*res);
        *res = TAKE_PTR(again);
        return 0;
}

static int task_run_crash(TaskRun *t, char **ret_failure)
{
        int64_t start = now_usec();
        _cleanup_free_ char *last_error = NULL;

        for (CrashMode mode = 0; mode < _CRASH_MODE_MAX; mode++) {
                _cleanup_(crash_result_freep) CrashResult *res = NULL;
                _cleanup_free_ char *bt = NULL;
                int r, status;

                r = crash_run_once(t, mode, NULL, start, &res, &status, ret_failure);
                if (r < 0)
                        return r;
                if (!crash_result_usable(res, mode)) {
                        free(last_error);
                        last_error = strdup(res->preamble ? string_strip(res->preamble) : "no output");
                        task_log(t, 'W', "crash could not analyze the dump in mode %s (exit status %d):\n%s",
                                 crash_mode_to_string(mode), WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                                 strna(last_error));
                        continue;
                }
                task_log(t, 'I', "crash analyzed the dump in mode %s", crash_mode_to_string(mode));
                r = crash_with_modules(t, mode, start, &res, ret_failure);
                if (r < 0)
                        return r;
                if (res->pid_hash_warning)
                        task_log(
                                t, 'W',
                                "crash could not find the active task in the PID hash: its task list (ps, "
                                "bt "
                                "-a) may be incomplete; crash 8.0.4 or later reads this kernel's task list");
                r = crash_result_format(res, mode, &bt);
                if (r >= 0)
                        r = write_result(t, "backtrace", bt);
                if (r < 0)
                        return failf(ret_failure, r, "Cannot write the backtrace: %s", strerror(-r));
                return 0;
        }
        return failf(
                ret_failure, -EBADMSG,
                "crash could not analyze the dump in any mode (full, --zero_excluded, --minimal): %.300s",
                strna(last_error));
}

/* ---------------------------------------------------------------- the whole task */

static int task_open(TaskRun *t)
{
        char name[32];

        (void) snprintf(name, sizeof(name), "%" PRIu64, t->id);
        t->dir_fd = openat(AT_FDCWD, t->p->config->save_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->dir_fd >= 0) {
                int fd = openat(t->dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                safe_close(t->dir_fd);
                t->dir_fd = fd;
        }
        if (t->dir_fd < 0)
                return -errno;
        t->crash_fd = openat(t->dir_fd, "crash", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (t->crash_fd < 0)
                return -errno;
        if (mkdirat(t->dir_fd, "results", 0750) < 0 && errno != EEXIST)
                return -errno;
        t->results_fd = openat(t->dir_fd, "results", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (t->results_fd < 0)
                return -errno;
        /* A task resumed after a restart starts its log again: its earlier run did not finish. */
        t->log_fd = openat(t->results_fd, "log",
                           O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
        return t->log_fd < 0 ? -errno : 0;
}

void pipeline_run(void *userdata, TaskJob *job)
{
        static const char *const stages[] = {
                "Analyzing crash data",
                "Preparing environment for backtrace generation",
                "Generating backtrace",
        };
        int (*const coredump_steps[])(TaskRun *, char **) = { task_analyze, task_prepare, task_run_gdb };
        int (*const vmcore_steps[])(TaskRun *, char **) = { task_analyze_vmcore, task_prepare,
                                                            task_run_crash };
        int (*const *steps)(TaskRun *, char **) = coredump_steps;
        _cleanup_(task_freep) Task *task = NULL;
        Pipeline *p = userdata;
        TaskRun t = { .p = p,
                      .job = job,
                      .id = task_job_id(job),
                      .dir_fd = -EBADF,
                      .crash_fd = -EBADF,
                      .results_fd = -EBADF,
                      .log_fd = -EBADF,
                      .cache_lock_fd = -EBADF,
                      .start_usec = now_usec() };
        _cleanup_free_ char *failure = NULL;
        int r;

        r = task_open(&t);
        if (r < 0) {
                log_error_errno(r, "Task %" PRIu64 ": cannot open its directory: %m", t.id);
                (void) task_store_finish(p->store, t.id, false, "Retrace job failed");
                goto finish;
        }
        if (task_store_get(p->store, t.id, &task) >= 0 && task_type_is_vmcore(task->type)) {
                t.vmcore = true;
                steps = vmcore_steps;
        }
        for (size_t i = 0; i < ELEMENTSOF(stages); i++) {
                int64_t begin = now_usec();

                if (task_job_cancelled(job))
                        goto finish;
                (void) task_stage(&t, stages[i]);
                r = steps[i](&t, &failure);
                t.stage_usec[i] = now_usec() - begin;
                if (r == -ECANCELED || task_job_cancelled(job))
                        goto finish;
                task_log(&t, 'I', "%s took %.3f s", stages[i], (double) t.stage_usec[i] / 1e6);
                if (r < 0)
                        break;
        }

        (void) task_stage(&t, "Saving crash statistics");
        (void) task_store_add_stats(p->store, &(TaskStats){
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
                                                      .total_usec = now_usec() - t.start_usec,
                                                      .success = r >= 0,
                                                      .missing_build_ids = t.missing,
                                              });
        (void) task_stage(&t, "Finishing task");
        if (r < 0)
                task_log(&t, 'E', "%s", failure ?: "The retrace failed");
        task_log(&t, 'I', "Retrace took %" PRIi64 " seconds",
                 (now_usec() - t.start_usec + 500000) / 1000000);
        (void) task_store_finish(p->store, t.id, r >= 0,
                                 r >= 0 ? "Retrace job finished successfully" : "Retrace job failed");
        log_info("Task %" PRIu64 " %s", t.id, r >= 0 ? "finished successfully" : "failed");
finish:
        task_run_done(&t);
}
