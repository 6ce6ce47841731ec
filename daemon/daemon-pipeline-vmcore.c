/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A vmcore task: the dump's format, kernel release and vmlinux build-id (a flattened dump converted
 * with makedumpfile -R first), the kernel debuginfo package from the cache; then crash in the sandbox,
 * again in lesser modes when a mode gives nothing usable, and the backtrace. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache-kernel.h"
#include "cache-release.h"
#include "common-elf.h"
#include "common-file.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-archive.h"
#include "daemon-crash.h"
#include "daemon-duphash.h"
#include "daemon-pipeline-task.h"
#include "daemon-taskdir.h"

#define CRASH_EXECUTABLE "/usr/bin/crash"
/* The host's makedumpfile, for flattened dumps: Debian installs it in /usr/bin, Fedora in /usr/sbin. */
static const char *const makedumpfile_paths[] = { "/usr/sbin/makedumpfile", "/usr/bin/makedumpfile" };
#define CRASH_LOG_TAIL  200          /* kernel log lines kept in the result */
#define BANNER_SCAN_MAX (512u << 20) /* how far into an ELF dump to look for "Linux version" */

static const char *const dump_names[] = { "vmcore", "vmcore.vmss", "vmcore.vmsn", "vmcore.vmem" };

/* makedumpfile -R, in the sandbox in a root that holds only makedumpfile and the libraries it loads (the
 * host's tool, not the distribution's; never the host's whole file system, which holds every task's
 * crash and the server's configuration): the flattened upload on stdin, the reassembled dump into
 * SaveDir/<id>/converted.
 * The flattened file is removed afterwards, so that the task keeps one copy of the dump. While it runs
 * the second copy is reserved in the uploads' disk accountant (MinStorageLeft holds), and the output is
 * bounded by MaxUnpackedSize (RLIMIT_FSIZE). */
static int vmcore_convert_flattened(TaskRun *t, char **ret_failure)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_free_ char *conv = NULL, *timeout = NULL, *err = NULL, *fsize = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int in_fd = -EBADF, conv_fd = -EBADF;
        const char *makedumpfile = NULL;
        uint64_t reserved, free_bytes = 0;
        struct stat st;
        int r, status;

        for (size_t i = 0; i < ELEMENTSOF(makedumpfile_paths) && !makedumpfile; i++)
                if (access(makedumpfile_paths[i], X_OK) >= 0)
                        makedumpfile = makedumpfile_paths[i];
        if (!makedumpfile)
                return task_failf(ret_failure, -ENOENT,
                                  "The dump is in makedumpfile's flattened format, and makedumpfile is not "
                                  "installed on the server to convert it: install makedumpfile");
        if (task_dir_part_path(cfg->save_dir, t->id, TASK_PART_CONVERTED, &conv) < 0 ||
            asprintf(&timeout, "%" PRIu64, cfg->task_timeout) < 0 ||
            asprintf(&fsize, "fsize=%" PRIu64, cfg->max_unpacked_size) < 0)
                return -ENOMEM;
        r = task_dir_open_part(t->save_dir_fd, t->id, TASK_PART_CONVERTED, true, &conv_fd);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot create %s: %s", conv, strerror(-r));
        in_fd = openat(t->crash_fd, t->dump_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in_fd < 0 || fstat(in_fd, &st) < 0)
                return task_failf(ret_failure, -errno, "Cannot open the dump: %m");
        {
                const char *a[] = { cfg->sandbox_path,
                                    "--empty-root",
                                    "--ro-bind-program",
                                    makedumpfile,
                                    "--bind",
                                    conv,
                                    "/out",
                                    "--tmpfs",
                                    "/tmp",
                                    "--timeout",
                                    timeout,
                                    "--rlimit",
                                    fsize,
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
        /* the reassembled dump holds the flattened one's data once more */
        reserved = (uint64_t) st.st_size;
        r = unpack_budget_reserve(&unpack_budget_shared, t->save_dir_fd, cfg->min_storage_left, reserved,
                                  &free_bytes);
        if (r < 0)
                return task_failf(ret_failure, r,
                                  "Not enough free space in SaveDir to convert the flattened dump: it needs "
                                  "%" PRIu64 " bytes, %" PRIu64 " are free and MinStorageLeft keeps %" PRIu64
                                  " (free space, or lower MinStorageLeft, and restart the task)",
                                  reserved, free_bytes, cfg->min_storage_left);
        task_log(t, 'I', "Converting the flattened dump with makedumpfile -R");
        r = task_sandbox_run(t, argv, in_fd, "makedumpfile-output", "makedumpfile -R", cfg->task_timeout,
                             &status, ret_failure);
        unpack_budget_release(&unpack_budget_shared, reserved);
        if (r < 0)
                return r;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGXFSZ) /* the sandbox's exit for a signal */
                return task_failf(ret_failure, -EFBIG,
                                  "The reassembled dump would be larger than MaxUnpackedSize (%" PRIu64
                                  " bytes): raise MaxUnpackedSize to retrace it",
                                  cfg->max_unpacked_size);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                (void) file_read_at(t->results_fd, "makedumpfile-output", 4096, &err, NULL);
                return task_failf(ret_failure, -EBADMSG,
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
                return task_failf(ret_failure, -errno, "Cannot open the dump %s: %m", t->dump_name);
        t->core_size = (uint64_t) st.st_size;
        want = st.st_size < (off_t) VMCORE_HEAD_MAX ? (size_t) st.st_size : VMCORE_HEAD_MAX;
        head = malloc(want ?: 1);
        if (!head)
                return -ENOMEM;
        n = pread(fd, head, want, 0);
        if (n < 0)
                return task_failf(ret_failure, -errno, "Cannot read the dump: %m");
        t->vmcore_info = vmcore_info_free(t->vmcore_info);
        r = vmcore_info_parse(head, (size_t) n, &t->vmcore_info);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return task_failf(ret_failure, -EBADMSG,
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

/* Finds the dump among the upload's files and reads what it says about itself; a flattened dump is
 * converted first. */
static int vmcore_open_dump(TaskRun *t, char **ret_failure)
{
        int r;

        for (size_t i = 0; i < ELEMENTSOF(dump_names) && !t->dump_name; i++)
                if (faccessat(t->crash_fd, dump_names[i], F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                        t->dump_name = strdup(dump_names[i]);
        if (!t->dump_name)
                return task_failf(ret_failure, -ENOENT, "The upload holds no 'vmcore'");
        r = task_dir_part_path(t->p->config->save_dir, t->id, TASK_PART_CRASH, &t->dump_dir);
        if (r < 0)
                return r;
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
        return 0;
}

/* The kernel debuginfo package from the cache (rpmcache's lookups): its id, releases and NEVRA, the
 * object holding vmlinux and, with VmcoreModuleDebuginfo, the modules' debug files (*ret_modules_r
 * says whether there are any). The package's file list is read once for both. */
static int vmcore_find_debuginfo(TaskRun *t, int64_t *ret_id, char ***ret_releases, const char **ret_how,
                                 int *ret_modules_r, char **ret_failure)
{
        const VmcoreInfo *v = t->vmcore_info;
        CacheIndex *idx = t->p->cache->index;
        PackageInfo pkg = {};
        PackageFile *files = NULL;
        size_t n_files = 0;
        int64_t id = -1;
        int r;

        pthread_mutex_lock(&t->p->cache_lock);
        r = cache_find_kernel_debuginfo(idx, v->build_id, v->osrelease, &id, &t->vmlinux, ret_how);
        if (r >= 0)
                r = cache_index_package_releases(idx, id, ret_releases);
        if (r >= 0)
                r = cache_index_get_package(idx, id, &pkg);
        if (r >= 0)
                r = cache_index_get_files(idx, id, &files, &n_files);
        if (r >= 0) {
                r = cache_package_file_object(t->p->cache, &pkg, files, n_files, t->vmlinux,
                                              &t->vmlinux_object);
                if (r >= 0 && t->p->config->vmcore_module_debuginfo)
                        *ret_modules_r =
                                cache_kernel_module_files(files, n_files, v->osrelease, &t->module_files);
                package_file_array_free(files, n_files);
                if (r < 0 && r != -ENOMEM) {
                        pthread_mutex_unlock(&t->p->cache_lock);
                        package_info_done(&pkg);
                        return task_failf(ret_failure, r,
                                          "The cache has no content for %s in the kernel debuginfo "
                                          "package (%s): run retrace-server-cache verify",
                                          t->vmlinux, strerror(-r));
                }
        }
        pthread_mutex_unlock(&t->p->cache_lock);
        if (r == -ENOENT)
                return task_failf(
                        ret_failure, -ENOENT,
                        "No kernel debuginfo package in the cache has vmlinux of kernel release %s "
                        "(build-id %s): sync the distribution's debuginfo repository with "
                        "retrace-server-reposync",
                        v->osrelease ?: "unknown", v->build_id ?: "unknown");
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot look the kernel up in the cache: %s",
                                  strerror(-r));
        t->kernel_nevra = package_info_nevra(&pkg);
        package_info_done(&pkg);
        if (!t->kernel_nevra)
                return -ENOMEM;
        /* vmlinux is bound from the store: the kernel debuginfo package must be extracted (a big one
         * only vmlinux, and with VmcoreModuleDebuginfo the modules' debug files). */
        r = task_want_file(t, id, t->vmlinux);
        STRV_FOREACH (m, t->module_files)
                if (r >= 0)
                        r = task_want_file(t, id, *m);
        if (r < 0)
                return r;
        r = task_extract_packages(t, &id, 1, NULL, ret_failure);
        if (r < 0)
                return r;
        *ret_id = id;
        return 0;
}

int vmcore_analyze(TaskRun *t, char **ret_failure)
{
        _cleanup_free_ char *dist = NULL, *version = NULL, *arch = NULL;
        _cleanup_strv_free_ char **releases = NULL;
        const VmcoreInfo *v;
        const char *how = NULL;
        int64_t id = -1;
        int r, modules_r = -ENOENT;

        r = vmcore_open_dump(t, ret_failure);
        if (r < 0)
                return r;
        v = t->vmcore_info;
        task_log(t, 'I', "Vmcore: %s, %" PRIu64 " bytes, kernel release %s, vmlinux build-id %s, %s",
                 vmcore_format_to_string(v->format), t->core_size, v->osrelease ?: "unknown",
                 v->build_id ?: "unknown", v->arch ?: "unknown architecture");
        if (v->arch && arch_is_foreign(host_arch_name(), v->arch))
                /* crash reads only the dumps of the machine it was built for (its target= build option);
                 * no plugin key names a crash built for another target, so such a dump is refused. */
                return task_failf(ret_failure, -EOPNOTSUPP,
                                  "A %s vmcore cannot be retraced on this %s server: it needs a crash built "
                                  "for the %s target (crash_package runs only for %s), and none is "
                                  "configured. Retrace it on a %s server",
                                  v->arch, host_arch_name(), v->arch, host_arch_name(), v->arch);
        if (!v->osrelease && !v->build_id)
                return task_failf(
                        ret_failure, -ENOENT,
                        "The dump names neither its kernel release nor its vmlinux build-id (no "
                        "vmcoreinfo note, no \"Linux version\" banner found): it may be truncated");
        r = vmcore_find_debuginfo(t, &id, &releases, &how, &modules_r, ret_failure);
        if (r < 0)
                return r;
        t->release = strdup(releases[0]);
        if (!t->release)
                return -ENOMEM;
        r = release_split(t->release, &dist, &version, &arch);
        if (r < 0)
                return task_failf(ret_failure, r, "Release %s has a malformed name", t->release);
        t->plugin = pipeline_plugin_for_distribution(t->p, dist);
        if (!t->plugin)
                return task_failf(ret_failure, -ENOENT, "No plugin describes distribution %s of release %s",
                                  dist, t->release);
        if (!t->plugin->crash_package)
                return task_failf(
                        ret_failure, -ENOENT,
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
        return task_add_package(t, id);
}

/* One run of crash in the sandbox over the dump, in mode, loading module_loads first; *ret_res is
 * the parsed output. Fails (with *ret_failure) only when crash cannot be run or ran out of time. */
static int crash_run_once(TaskRun *t, CrashMode mode, char *const *module_loads, int64_t start,
                          CrashResult **ret_res, int *ret_status, char **ret_failure)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_strv_free_ char **argv = NULL, **cmd = NULL;
        _cleanup_free_ char *script = NULL, *dump = NULL, *out = NULL;
        _cleanup_close_ int in_fd = -EBADF;
        int64_t left = (int64_t) cfg->task_timeout * 1000000 - (now_monotonic_usec() - start);
        size_t out_len;
        int r, status;

        if (left < 1000000)
                return task_failf(ret_failure, -ETIME,
                                  "crash did not finish within TaskTimeout (%" PRIu64 " s) and was killed",
                                  cfg->task_timeout);
        if (asprintf(&dump, CRASH_MOUNT "/%s", t->dump_name) < 0)
                return -ENOMEM;
        r = crash_build_script(mode, module_loads, &script);
        if (r >= 0)
                r = task_write_result(t, "crash-commands", script);
        if (r >= 0)
                r = crash_build_argv(CRASH_EXECUTABLE, VMLINUX_MOUNT, dump, mode, &cmd);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot prepare crash: %s", strerror(-r));
        in_fd = openat(t->results_fd, "crash-commands", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in_fd < 0)
                return task_failf(ret_failure, -errno, "Cannot read crash's commands: %m");
        /* The dump's directory read-only: a dump of any size is never copied. */
        r = task_debugger_argv(t, t->dump_dir, t->vmlinux_object, NULL, (uint64_t) (left / 1000000), cmd,
                               &argv);
        if (r < 0)
                return r;
        task_log(t, 'I', "Running crash (%s)%s", crash_mode_to_string(mode),
                 module_loads ? " with the modules' debug files" : "");
        r = task_sandbox_run(t, argv, in_fd, "crash-output", "crash", cfg->task_timeout, &status,
                             ret_failure);
        if (r < 0)
                return r;
        r = file_read_at(t->results_fd, "crash-output", cfg->max_output_size + (1 << 20), &out, &out_len);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot read crash's output: %s", strerror(-r));
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

/* The crash bucket of a vmcore: the panic string and the top frames of the panicking task. */
static int vmcore_bucket(TaskRun *t, const CrashResult *res)
{
        _cleanup_free_ char *text = NULL;
        char hash[41];
        int r;

        r = duphash_vmcore_text(res->panic, res->panic_task, &text);
        if (r == -ENODATA) {
                task_log(t, 'W', "No crash bucket: crash gave neither a panic message nor a stack");
                return 0;
        }
        if (r >= 0)
                r = duphash_sha1(text, hash);
        if (r < 0)
                return r;
        free(t->duphash);
        t->duphash = strdup(hash);
        if (!t->duphash)
                return -ENOMEM;
        for (char *p = text; *p; p++)
                if (*p == '\n')
                        *p = '|';
        task_log(t, 'I', "Crash bucket %s (duplicate hash of: %s)", hash, text);
        return 0;
}

/* crash again by hand (daemon-interact.h): the same mode, vmlinux and dump, the modules' debug files
 * loaded first; no pager (crash's "set scroll off"). */
static void vmcore_save_interactive(TaskRun *t, CrashMode mode, const CrashResult *res)
{
        _cleanup_strv_free_ char **cmd = NULL, **loads = NULL;
        _cleanup_free_ char *dump = NULL, *init = NULL;
        int r;

        if (t->module_files && mode != CRASH_MODE_MINIMAL && res->mod)
                (void) crash_module_loads(res->mod, t->module_files, &loads);
        if (asprintf(&dump, CRASH_MOUNT "/%s", t->dump_name) < 0)
                return;
        r = crash_build_argv(CRASH_EXECUTABLE, VMLINUX_MOUNT, dump, mode, &cmd);
        if (r >= 0)
                r = strv_extend_many(&cmd, (const char *const[]){ "-i", INTERACTIVE_INIT_MOUNT }, 2);
        if (r >= 0)
                r = crash_build_interactive_init(loads, &init);
        if (r < 0) {
                task_log(t, 'W', "Cannot keep the environment for interactive sessions: %s", strerror(-r));
                return;
        }
        task_save_interactive(t, "crash", cmd, t->dump_dir, t->vmlinux_object, init);
}

int vmcore_run_crash(TaskRun *t, char **ret_failure)
{
        int64_t start = now_monotonic_usec();
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
                        r = task_write_result(t, "backtrace", bt);
                if (r < 0)
                        return task_failf(ret_failure, r, "Cannot write the backtrace: %s", strerror(-r));
                r = vmcore_bucket(t, res);
                if (r < 0)
                        return task_failf(ret_failure, r, "Cannot compute the crash bucket: %s",
                                          strerror(-r));
                vmcore_save_interactive(t, mode, res);
                return 0;
        }
        return task_failf(
                ret_failure, -EBADMSG,
                "crash could not analyze the dump in any mode (full, --zero_excluded, --minimal): %.300s",
                strna(last_error));
}
