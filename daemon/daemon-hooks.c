/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Site hooks: the executables of HookDir/<stage>/ run in name order, each in its own process group under
 * HookTimeout, output into the task's log. Hooks are the site's own code and trusted like the configuration:
 * they run as the daemon's user, outside the sandbox; they never see a task's password (the store keeps only
 * its hash). */
#include "daemon-hooks.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-taskdir.h"

extern char **environ;

#define HOOK_MAX_FILES 256 /* hooks run per stage; more are ignored with a warning */

static const char *const hook_stage_table[_HOOK_STAGE_MAX] = {
        [HOOK_PRE_START] = "pre_start",
        [HOOK_START] = "start",
        [HOOK_PRE_PREPARE_DEBUGINFO] = "pre_prepare_debuginfo",
        [HOOK_POST_PREPARE_DEBUGINFO] = "post_prepare_debuginfo",
        [HOOK_PRE_PREPARE_ENVIRONMENT] = "pre_prepare_environment",
        [HOOK_POST_PREPARE_ENVIRONMENT] = "post_prepare_environment",
        [HOOK_PRE_RETRACE] = "pre_retrace",
        [HOOK_POST_RETRACE] = "post_retrace",
        [HOOK_SUCCESS] = "success",
        [HOOK_FAIL] = "fail",
        [HOOK_PRE_REMOVE_TASK] = "pre_remove_task",
        [HOOK_POST_REMOVE_TASK] = "post_remove_task",
        [HOOK_PRE_CLEAN_TASK] = "pre_clean_task",
        [HOOK_POST_CLEAN_TASK] = "post_clean_task",
};

DEFINE_STRING_TABLE_TO_STRING(hook_stage, HookStage, _HOOK_STAGE_MAX)
DEFINE_STRING_TABLE_FROM_STRING(hook_stage, HookStage, _HOOK_STAGE_MAX, _HOOK_STAGE_INVALID)

int hooks_parse_required(const char *value, unsigned *ret_mask, char **ret_error)
{
        _cleanup_strv_free_ char **names = NULL;
        unsigned mask = 0;
        int r;

        r = strv_split(value ?: "", ", \t", &names);
        if (r < 0)
                return r;
        for (char **n = names; n && *n; n++) {
                HookStage s;

                if (isempty(*n))
                        continue;
                s = hook_stage_from_string(*n);
                if (s < 0 || s > HOOK_POST_RETRACE) {
                        if (asprintf(ret_error,
                                     "HookRequired: '%s' is not a stage a hook can fail a task in; use "
                                     "pre_start, start, pre_prepare_debuginfo, post_prepare_debuginfo, "
                                     "pre_prepare_environment, post_prepare_environment, pre_retrace or "
                                     "post_retrace",
                                     *n) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
                mask |= 1U << s;
        }
        *ret_mask = mask;
        return 0;
}

int hooks_check_config(const RetraceConfig *c, char **ret_error)
{
        unsigned mask;
        struct stat st;
        int r;

        r = hooks_parse_required(c->hook_required, &mask, ret_error);
        if (r < 0)
                return r;
        if (isempty(c->hook_dir))
                return 0;
        if (stat(c->hook_dir, &st) < 0)
                log_warning("HookDir %s: %m; no hooks run until it exists", c->hook_dir);
        else if (!S_ISDIR(st.st_mode))
                log_warning("HookDir %s is not a directory; no hooks run", c->hook_dir);
        else
                log_info("Hooks from %s (HookTimeout %" PRIu64 " s%s%s)", c->hook_dir, c->hook_timeout,
                         mask ? ", required: " : "", mask ? c->hook_required : "");
        return 0;
}

/* One line for the task's log in the pipeline's format ("[YYYY-MM-DD HH:MM:SS] [I] …"), or for the
 * daemon's log when the task has none. */
_printf_(3, 4) static void hook_log(const HookTask *t, char level, const char *format, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int n;

        va_start(ap, format);
        n = vasprintf(&msg, format, ap);
        va_end(ap);
        if (n < 0)
                return;
        if (t->log_fd < 0) {
                if (level == 'E' || level == 'W')
                        log_warning("Task %" PRIu64 ": %s", t->id, msg);
                else
                        log_info("Task %" PRIu64 ": %s", t->id, msg);
                return;
        }
        task_log_append(t->log_fd, level, msg);
}

/* RETRACE_TASK_TYPE: the old server's task type names, in lower case. */
static const char *hook_type_name(TaskType t)
{
        static const char *const names[_TASK_TYPE_MAX] = {
                [TASK_TYPE_RETRACE] = "retrace",
                [TASK_TYPE_DEBUG] = "debug",
                [TASK_TYPE_VMCORE] = "vmcore",
                [TASK_TYPE_RETRACE_INTERACTIVE] = "retrace-interactive",
                [TASK_TYPE_VMCORE_INTERACTIVE] = "vmcore-interactive",
        };
        return t >= 0 && t < _TASK_TYPE_MAX && names[t] ? names[t] : "unknown";
}

/* The daemon's environment without the variables hooks are given, then those. */
static int hook_environment(HookStage stage, const HookTask *t, char ***ret)
{
        _cleanup_strv_free_ char **env = NULL;

        /* Not the service manager's channels to the daemon: a hook must not speak for it. */
        for (char **e = environ; e && *e; e++)
                if (!string_startswith(*e, "RETRACE_TASK_") && !string_startswith(*e, "RETRACE_HOOK=") &&
                    !string_startswith(*e, "NOTIFY_SOCKET=") && !string_startswith(*e, "LISTEN_") &&
                    !string_startswith(*e, "WATCHDOG_"))
                        if (strv_extend(&env, *e) < 0)
                                return -ENOMEM;
        if (strv_extendf(&env, "RETRACE_HOOK=%s", hook_stage_to_string(stage)) < 0 ||
            strv_extendf(&env, "RETRACE_TASK_ID=%" PRIu64, t->id) < 0 ||
            strv_extendf(&env, "RETRACE_TASK_TYPE=%s", hook_type_name(t->type)) < 0 ||
            strv_extendf(&env, "RETRACE_TASK_DIR=%s", strempty(t->dir)) < 0 ||
            strv_extendf(&env, "RETRACE_TASK_STATUS=%s", strempty(t->status)) < 0)
                return -ENOMEM;
        if (t->cleanup && strv_extendf(&env, "RETRACE_TASK_CLEANUP=%s", t->cleanup) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The hooks of a stage: regular executable files of HookDir/<stage> (symbolic links followed), in byte
 * order of their names. Dot files are skipped silently (editors' and package managers' leftovers); any
 * other entry that is not a regular executable file is skipped with a warning. */
static int hook_list(const RetraceConfig *c, HookStage stage, const HookTask *t, char **ret_dir,
                     char ***ret_names)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        size_t n;

        dir = path_join(c->hook_dir, hook_stage_to_string(stage));
        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode) ||
                    faccessat(dirfd(d), de->d_name, X_OK, AT_EACCESS) < 0) {
                        hook_log(t, 'W', "Hook %s/%s ignored: not a regular executable file (chmod +x it)",
                                 hook_stage_to_string(stage), de->d_name);
                        continue;
                }
                if (strv_length(names) >= HOOK_MAX_FILES) {
                        hook_log(t, 'W', "Hook %s/%s ignored: a stage runs at most %d hooks",
                                 hook_stage_to_string(stage), de->d_name, HOOK_MAX_FILES);
                        continue;
                }
                if (strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
        }
        n = strv_length(names);
        if (n > 1)
                qsort(names, n, sizeof(char *), compare_names);
        *ret_dir = TAKE_PTR(dir);
        *ret_names = TAKE_PTR(names);
        return (int) n;
}

/* Appends a hook's output to the task's log, a line each, prefixed by the hook's name. */
static void hook_log_output(const HookTask *t, const char *name, char *buf, size_t len, uint64_t dropped)
{
        char *line = buf, *end = buf + len;

        while (line < end) {
                char *nl = memchr(line, '\n', (size_t) (end - line));
                size_t n = nl ? (size_t) (nl - line) : (size_t) (end - line);

                hook_log(t, 'I', "%s: %.*s", name, (int) n, line);
                line += n + 1;
        }
        if (dropped > 0)
                hook_log(t, 'W', "%s: %" PRIu64 " more bytes of output not kept (at most %d per hook)", name,
                         dropped, HOOK_MAX_OUTPUT);
}

_printf_(3, 4) static int task_hook_failf(char **ret_failure, int error, const char *format, ...)
{
        va_list ap;

        if (!ret_failure)
                return error;
        free(*ret_failure);
        va_start(ap, format);
        if (vasprintf(ret_failure, format, ap) < 0)
                *ret_failure = NULL;
        va_end(ap);
        return error;
}

static int pidfd_open_pid(pid_t pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/* Runs one hook and waits for it (at most timeout_sec); *ret_failure says how it failed. */
static int hook_exec(const char *path, const char *name, char **env, const HookTask *t, uint64_t timeout_sec,
                     char **ret_failure)
{
        _cleanup_close_ int out_r = -EBADF, out_w = -EBADF, pidfd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        char *argv[] = { (char *) path, NULL };
        int64_t deadline = now_monotonic_usec() + (int64_t) MIN(timeout_sec, (uint64_t) INT32_MAX) * 1000000;
        uint64_t dropped = 0;
        size_t len = 0;
        bool exited = false, timed_out = false;
        int fds[2], status = 0, r;
        pid_t pid;

        buf = malloc(HOOK_MAX_OUTPUT);
        if (!buf)
                return -ENOMEM;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        out_r = fds[0];
        out_w = fds[1];
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, out_w, 1);
        posix_spawn_file_actions_adddup2(&fa, out_w, 2);
        /* Its own process group, so that a timeout kills whatever the hook started too. */
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr,
                                 POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        {
                sigset_t none, all;

                sigemptyset(&none);
                sigfillset(&all);
                posix_spawnattr_setsigmask(&attr, &none);
                posix_spawnattr_setsigdefault(&attr, &all);
        }
        r = posix_spawn(&pid, path, &fa, &attr, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return task_hook_failf(ret_failure, -r, "cannot be started: %s", strerror(r));
        out_w = safe_close(out_w);
        pidfd = pidfd_open_pid(pid);

        /* Output until the hook exits (not until the pipe closes: a process it left behind may keep it
         * open) or the time runs out. */
        while (!exited) {
                struct pollfd p[2] = { { .fd = out_r, .events = POLLIN },
                                       { .fd = pidfd, .events = POLLIN } };
                int64_t left = deadline - now_monotonic_usec();
                ssize_t n;
                char chunk[4096];

                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                /* Without a pidfd (kernels before 5.3) the exit is polled for every 100 ms. */
                if (poll(p, 2, (int) MIN(left / 1000 + 1, pidfd >= 0 ? (int64_t) 1000 : (int64_t) 100)) <
                            0 &&
                    errno != EINTR)
                        break;
                if (pidfd < 0 && waitpid(pid, &status, WNOHANG) == pid) {
                        exited = true;
                        pid = 0;
                }
                if (p[1].revents)
                        exited = true;
                if (out_r < 0 || !(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                n = read(out_r, chunk, sizeof(chunk));
                if (n <= 0) {
                        if (n < 0 && errno == EINTR)
                                continue;
                        out_r = safe_close(out_r); /* closed: wait for the exit alone */
                        continue;
                }
                if (len < HOOK_MAX_OUTPUT) {
                        size_t k = MIN((size_t) n, (size_t) HOOK_MAX_OUTPUT - len);

                        memcpy(buf + len, chunk, k);
                        len += k;
                        dropped += (size_t) n - k;
                } else
                        dropped += (size_t) n;
        }
        if (timed_out && pid > 0)
                (void) kill(-pid, SIGKILL);
        if (pid > 0)
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
        /* What the hook wrote before it exited and is still in the pipe. */
        if (out_r >= 0 && !timed_out) {
                int fl = fcntl(out_r, F_GETFL);
                ssize_t n;
                char chunk[4096];

                if (fl >= 0)
                        (void) fcntl(out_r, F_SETFL, fl | O_NONBLOCK);
                while ((n = read(out_r, chunk, sizeof(chunk))) > 0) {
                        size_t k = MIN((size_t) n, (size_t) HOOK_MAX_OUTPUT - len);

                        memcpy(buf + len, chunk, k);
                        len += k;
                        dropped += (size_t) n - k;
                }
        }
        hook_log_output(t, name, buf, len, dropped);
        if (timed_out)
                return task_hook_failf(
                        ret_failure, -ETIME,
                        "ran out of HookTimeout (%" PRIu64 " s); its process group was killed", timeout_sec);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                return task_hook_failf(ret_failure, -EPROTO, "exited with status %d", WEXITSTATUS(status));
        return task_hook_failf(ret_failure, -EPROTO, "was killed by signal %s",
                               sigabbrev_np(WTERMSIG(status)) ?: "?");
}

int hooks_run(const RetraceConfig *c, HookStage stage, const HookTask *task, char **ret_failure)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_strv_free_ char **names = NULL, **env = NULL;
        _cleanup_free_ char *error = NULL;
        const char *stage_name = hook_stage_to_string(stage);
        unsigned required = 0;
        int r;

        if (isempty(c->hook_dir))
                return 0;
        (void) hooks_parse_required(c->hook_required, &required, &error); /* checked at startup */
        r = hook_list(c, stage, task, &dir, &names);
        if (r < 0) {
                hook_log(task, 'W', "Hooks of %s not run: cannot read %s/%s: %s", stage_name, c->hook_dir,
                         stage_name, strerror(-r));
                return 0;
        }
        if (r == 0)
                return 0;
        r = hook_environment(stage, task, &env);
        if (r < 0)
                return r;
        for (char **n = names; *n; n++) {
                _cleanup_free_ char *path = path_join(dir, *n), *name = NULL, *why = NULL;
                bool req = required & (1U << stage);
                int64_t begin = now_monotonic_usec();

                if (!path || asprintf(&name, "hook %s/%s", stage_name, *n) < 0)
                        return -ENOMEM;
                hook_log(task, 'I', "Running %s", name);
                r = hook_exec(path, name, env, task, c->hook_timeout, &why);
                if (r >= 0) {
                        hook_log(task, 'I', "%s finished in %.3f s", name,
                                 (double) (now_monotonic_usec() - begin) / 1e6);
                        continue;
                }
                if (!req) {
                        hook_log(task, 'W', "%s failed: %s (not required: the task goes on)", name,
                                 strna(why));
                        continue;
                }
                hook_log(task, 'E', "%s failed: %s", name, strna(why));
                return task_hook_failf(ret_failure, -EPROTO,
                                       "The required %s failed: %s (HookRequired = %s; fix the hook or take "
                                       "%s out of HookRequired)",
                                       name, strna(why), c->hook_required, stage_name);
        }
        return 0;
}

int hook_task_from_store(const RetraceConfig *c, TaskStore *s, uint64_t id, HookTask *ret)
{
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_free_ char *dir = NULL;
        int r;

        r = task_store_get(s, id, &t);
        if (r < 0)
                return r;
        r = task_dir_path(c->save_dir, id, &dir);
        if (r < 0)
                return r;
        *ret = (HookTask){
                .id = id,
                .type = t->type,
                .status = task_status_to_string(t->status),
                .log_fd = -EBADF,
        };
        ret->dir = ret->dir_owned = TAKE_PTR(dir);
        return 0;
}

void hook_task_done(HookTask *t)
{
        t->dir = NULL;
        t->dir_owned = mfree(t->dir_owned);
}
