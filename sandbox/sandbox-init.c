/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-init.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-string.h"
#include "sandbox-caps.h"
#include "sandbox-landlock.h"
#include "sandbox-limits.h"
#include "sandbox-mount.h"
#include "sandbox-seccomp.h"
#include "sandbox-status.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
#define HOSTNAME     "retrace"

static void report(int fd, SandboxReportKind kind, int error, int wait_status, const char *message)
{
        SandboxReport rep = {
                .kind = kind,
                .error = error,
                .wait_status = wait_status,
        };

        if (message)
                (void) string_copy(rep.message, sizeof(rep.message), message);
        (void) fd_write_all(fd, &rep, sizeof(rep));
}

/* Dies with the helper. The kernel forgets the parent-death signal when credentials change, so this
 * is called again after the uid switch; the helper keeps its end of the sync pipe open while it
 * lives, so a hang-up there means it died before the signal was armed. */
static int parent_death_arm(int sync_fd)
{
        struct pollfd p = { .fd = sync_fd, .events = POLLIN };

        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                return -errno;
        if (poll(&p, 1, 0) < 0)
                return -errno;
        if (p.revents & (POLLHUP | POLLERR))
                _exit(SANDBOX_EXIT_SETUP);
        return 0;
}

static int init_setup(const SandboxConfig *c, const SandboxIds *ids, int sync_fd, SandboxError *e)
{
        _cleanup_(sandbox_mount_sources_freep) SandboxMountSources *sources = NULL;
        int r;

        if (sethostname(HOSTNAME, STRLEN(HOSTNAME)) < 0)
                return sandbox_error_set(e, errno, "cannot set the hostname in the new uts namespace");
        r = sandbox_mount_sources_open(c, &sources, e);
        if (r < 0)
                return r;
        /* Switch ids now: files the tree needs must be created by an id mapped in here. The ns's root
         * (id 0 inside) is not mapped, so the kernel keeps our capabilities over this change. */
        if (setresgid(ids->inside_gid, ids->inside_gid, ids->inside_gid) < 0)
                return sandbox_error_set(e, errno, "cannot change to gid %u", (unsigned) ids->inside_gid);
        if (setresuid(ids->inside_uid, ids->inside_uid, ids->inside_uid) < 0)
                return sandbox_error_set(e, errno, "cannot change to uid %u", (unsigned) ids->inside_uid);
        r = parent_death_arm(sync_fd);
        if (r < 0)
                return sandbox_error_set(e, r, "cannot tie the sandbox to the helper's life");
        r = sandbox_mount_build(c, sources, ids, isatty(STDIN_FILENO), e);
        if (r < 0)
                return r;
        r = sandbox_caps_drop_bounding();
        if (r < 0)
                return sandbox_error_set(e, r, "cannot drop the capability bounding set");
        r = sandbox_caps_drop_all();
        if (r < 0)
                return sandbox_error_set(e, r, "cannot drop capabilities or set no_new_privs");
        /* Nothing inside may ptrace or read the memory of init, even with --allow-ptrace. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return sandbox_error_set(e, errno, "cannot mark init non-dumpable");
        return 0;
}

/* Finds argv0 in PATH of the sandbox's environment, like execvp() but before the filter is loaded
 * and without falling back to the helper's own environment. */
static int find_command(const SandboxConfig *c, char *buf, size_t size)
{
        const char *path = DEFAULT_PATH;
        int r = -ENOENT;

        if (strchr(c->argv[0], '/'))
                return string_copy(buf, size, c->argv[0]);
        STRV_FOREACH (e, c->env)
                if (string_startswith(*e, "PATH="))
                        path = *e + STRLEN("PATH=");
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                int k = snprintf(buf, size, "%.*s/%s", (int) n, n > 0 ? p : ".", c->argv[0]);

                if (k > 0 && (size_t) k < size) {
                        if (access(buf, X_OK) >= 0)
                                return 0;
                        if (errno == EACCES)
                                r = -EACCES;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return r;
}

_noreturn_ static void exec_command(const SandboxConfig *c, const SandboxInitFds *fds)
{
        const int keep[] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, fds->report, fds->filter };
        _cleanup_free_ char *filter = NULL;
        size_t filter_size = 0;
        static char *const empty_env[] = { NULL };
        char path[PATH_MAX];
        SandboxError e = {};
        sigset_t all;
        int r;

        /* The helper ignores SIGPIPE; the command starts with every signal at its default. */
        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        (void) sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        if (setsid() < 0) {
                r = sandbox_error_set(&e, errno, "cannot start a new session");
                goto fail;
        }
        if (c->tty) {
                /* The terminal is the command's all three and its controlling terminal (job control,
                 * ^C): stdin came in as it is; the captured output pipes stay unused. */
                if (ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0) {
                        r = sandbox_error_set(&e, errno, "cannot make stdin the controlling terminal");
                        goto fail;
                }
                if (dup2(STDIN_FILENO, STDOUT_FILENO) < 0 || dup2(STDIN_FILENO, STDERR_FILENO) < 0) {
                        r = sandbox_error_set(&e, errno, "cannot connect the command to the terminal");
                        goto fail;
                }
        } else if (dup2(fds->out, STDOUT_FILENO) < 0 || dup2(fds->err, STDERR_FILENO) < 0) {
                r = sandbox_error_set(&e, errno, "cannot connect the command's output");
                goto fail;
        }
        r = fd_close_all_but(keep, ELEMENTSOF(keep));
        if (r < 0) {
                (void) sandbox_error_set(&e, r, "cannot close inherited file descriptors");
                goto fail;
        }
        r = find_command(c, path, sizeof(path));
        if (r < 0) {
                report(fds->report, SANDBOX_REPORT_EXEC_FAILED, -r, 0, c->argv[0]);
                _exit(r == -ENOENT ? SANDBOX_EXIT_NOT_FOUND : SANDBOX_EXIT_CANNOT_EXEC);
        }
        if (c->no_exec) {
                r = sandbox_landlock_exec_only(path);
                if (r < 0) {
                        (void) sandbox_error_set(&e, r,
                                                 r == -EOPNOTSUPP
                                                         ? "--no-exec needs Landlock (Linux 5.13 or later "
                                                           "with landlock among the kernel's lsm= modules)"
                                                         : "cannot restrict execution with Landlock");
                        goto fail;
                }
        }
        r = fd_read_full(fds->filter, 1024 * 1024, &filter, &filter_size);
        if (r >= 0)
                r = sandbox_seccomp_load(filter, filter_size);
        if (r < 0) {
                (void) sandbox_error_set(&e, r, "cannot install the seccomp filter");
                goto fail;
        }
        (void) safe_close(fds->filter);
        /* Limits last: building the filter allocates, and a small --rlimit as= must not break it. */
        r = sandbox_limits_apply(c, &e);
        if (r < 0)
                goto fail;
        execve(path, c->argv, c->env ? c->env : empty_env);
        r = errno;
        report(fds->report, SANDBOX_REPORT_EXEC_FAILED, r, 0, path);
        _exit(r == ENOENT ? SANDBOX_EXIT_NOT_FOUND : SANDBOX_EXIT_CANNOT_EXEC);

fail:
        report(fds->report, SANDBOX_REPORT_SETUP_FAILED, e.error, 0, e.message);
        _exit(SANDBOX_EXIT_SETUP);
}

/* One poll: peaks, and the whole tree killed when a ceiling is passed. */
static void usage_check(int proc_fd, const SandboxInitFds *fds, bool *killed)
{
        SandboxUsage *u = fds->usage;
        uint64_t rss, tasks;

        if (proc_fd < 0 || sandbox_usage_scan(proc_fd, &rss, &tasks) < 0)
                return;
        u->peak_memory = MAX(u->peak_memory, rss);
        u->peak_tasks = MAX(u->peak_tasks, tasks);
        if (*killed)
                return;
        /* RLIMIT_NPROC (set to the ceiling where it counts per user namespace) refuses forks at the
         * ceiling; where it does not, a count above it ends everything. */
        if (fds->pids_max != UINT64_MAX && tasks >= fds->pids_max)
                u->pids_limit_hit = 1;
        if (fds->memory_max != UINT64_MAX && rss > fds->memory_max)
                u->memory_limit_hit = 1;
        if (u->memory_limit_hit || (fds->pids_max != UINT64_MAX && tasks > fds->pids_max)) {
                /* From a pid namespace's init, -1 is everything in the namespace but init. */
                (void) kill(-1, SIGKILL);
                *killed = true;
        }
}

_noreturn_ void sandbox_init_run(const SandboxConfig *c, const SandboxIds *ids, const SandboxInitFds *fds)
{
        const int keep[] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, fds->sync, fds->report,
                             fds->out,     fds->err,      fds->filter,   fds->lock };
        const struct timespec poll_interval = {
                .tv_nsec = (long) (SANDBOX_USAGE_POLL_USEC * 1000ULL),
        };
        _cleanup_close_ int proc_fd = -EBADF;
        SandboxError e = {};
        bool killed = false;
        sigset_t chld;
        pid_t command;
        char go;
        int r;

        /* Die with the helper. If it is already gone, the read below sees EOF. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                _exit(SANDBOX_EXIT_SETUP);
        /* Every fd of the caller that is not ours goes, before anything else happens in here. */
        if (fd_close_all_but(keep, ELEMENTSOF(keep)) < 0)
                _exit(SANDBOX_EXIT_SETUP);
        if (read(fds->sync, &go, 1) != 1)
                _exit(SANDBOX_EXIT_SETUP);
        (void) prctl(PR_SET_NAME, "retrace-init", 0, 0, 0);

        r = init_setup(c, ids, fds->sync, &e);
        (void) safe_close(fds->sync);
        if (r < 0) {
                report(fds->report, SANDBOX_REPORT_SETUP_FAILED, e.error, 0, e.message);
                _exit(SANDBOX_EXIT_SETUP);
        }

        /* The sandbox's own /proc: every process in it is inside. */
        proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* SIGCHLD is waited for with a timeout; blocked before the command exists, so none is lost.
         * The command unblocks every signal before its execve. */
        (void) sigemptyset(&chld);
        (void) sigaddset(&chld, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &chld, NULL);

        command = fork();
        if (command < 0) {
                (void) sandbox_error_set(&e, errno, "cannot start the command");
                report(fds->report, SANDBOX_REPORT_SETUP_FAILED, e.error, 0, e.message);
                _exit(SANDBOX_EXIT_SETUP);
        }
        if (command == 0)
                exec_command(c, fds);

        (void) safe_close(fds->out);
        (void) safe_close(fds->err);
        (void) safe_close(fds->filter);
        (void) close_range(STDIN_FILENO, STDERR_FILENO, 0);

        /* Reap everything; orphans are reparented to us. Signals sent from inside to pid 1 without a
         * handler are ignored by the kernel, so nothing inside can end init early. Between deaths,
         * measure. */
        for (;;) {
                int status;
                pid_t p;

                while ((p = waitpid(-1, &status, WNOHANG)) > 0)
                        if (p == command) {
                                usage_check(proc_fd, fds, &killed);
                                report(fds->report, SANDBOX_REPORT_STATUS, 0, status, NULL);
                                /* Exiting kills every process left in the pid namespace. */
                                _exit(0);
                        }
                if (p < 0 && errno != EINTR)
                        _exit(SANDBOX_EXIT_SETUP); /* ECHILD: cannot happen while command lives */
                usage_check(proc_fd, fds, &killed);
                (void) sigtimedwait(&chld, NULL, &poll_interval);
        }
}
