/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-string.h"
#include "common-time.h"
#include "sandbox-cgroup.h"
#include "sandbox-init.h"
#include "sandbox-seccomp.h"
#include "sandbox-uidmap.h"

#define NAMESPACE_FLAGS                                                                            \
        (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | \
         CLONE_NEWCGROUP)

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* The kernel's struct clone_args (Linux 5.7 layout, with cgroup). */
struct sandbox_clone_args {
        uint64_t flags;
        uint64_t pidfd;
        uint64_t child_tid;
        uint64_t parent_tid;
        uint64_t exit_signal;
        uint64_t stack;
        uint64_t stack_size;
        uint64_t tls;
        uint64_t set_tid;
        uint64_t set_tid_size;
        uint64_t cgroup;
};

/* Like fork() into new namespaces; into cgroup_fd as well when it is not negative (the cgroup
 * namespace's root then is that cgroup). Kernels without clone3's cgroup field get the child moved
 * right after. */
static pid_t clone_sandbox(SandboxCgroup *cg)
{
        pid_t pid;

        if (cg->fd >= 0) {
                struct sandbox_clone_args args = {
                        .flags = NAMESPACE_FLAGS | CLONE_INTO_CGROUP,
                        .exit_signal = SIGCHLD,
                        .cgroup = (uint64_t) cg->fd,
                };

                pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
                if (pid >= 0 || !IN_SET(errno, ENOSYS, E2BIG, EINVAL))
                        return pid;
        }
        /* A raw clone() behaves like fork() here: the child continues on a copy of our stack. */
        pid = (pid_t) syscall(SYS_clone, NAMESPACE_FLAGS | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid > 0 && cg->fd >= 0 && sandbox_cgroup_attach(cg, pid) < 0) {
                int saved = errno;

                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                errno = saved;
                return -1;
        }
        return pid;
}

static void close_pair(int p[2])
{
        p[0] = safe_close(p[0]);
        p[1] = safe_close(p[1]);
}

static int make_pipe(int p[2])
{
        int r;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        /* Keep 0–2 free for what they mean, even when the caller started us with them closed. */
        for (int i = 0; i < 2; i++) {
                r = fd_move_above_stdio(p[i]);
                if (r < 0) {
                        close_pair(p);
                        return r;
                }
                p[i] = r;
        }
        return 0;
}

/* Passes up to what the output limit still allows on to fd, counts the rest as dropped. */
static void output_forward(int fd, const char *buf, size_t n, uint64_t limit, SandboxResult *r)
{
        uint64_t room = r->output_bytes < limit ? limit - r->output_bytes : 0;
        size_t k = (size_t) MIN((uint64_t) n, room);

        if (k > 0) {
                (void) fd_write_all(fd, buf, k);
                r->output_bytes += k;
        }
        if (k < n) {
                r->output_dropped += n - k;
                r->output_limit_hit = true;
        }
}

/* Copies the command's output until the sandbox is gone; kills it at the deadline (0: none). */
static int output_pump(const SandboxConfig *c, pid_t pid, int pidfd, int out, int err, uint64_t deadline,
                       SandboxResult *r)
{
        struct pollfd p[3] = {
                { .fd = out, .events = POLLIN },
                { .fd = err, .events = POLLIN },
                { .fd = pidfd, .events = POLLIN },
        };
        const int forward_to[2] = { STDOUT_FILENO, STDERR_FILENO };
        bool exited = false;
        char buf[65536];

        for (;;) {
                int timeout = -1, n;

                if (p[0].fd < 0 && p[1].fd < 0 && exited)
                        return 0;
                if (exited)
                        timeout = 0; /* every writer is dead: take what is buffered and stop */
                else if (deadline > 0 && !r->timed_out) {
                        uint64_t now = (uint64_t) now_monotonic_usec();

                        timeout = now >= deadline
                                          ? 0
                                          : (int) MIN((deadline - now + 999) / 1000, (uint64_t) INT_MAX);
                }

                n = poll(p, ELEMENTSOF(p), timeout);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0) {
                        if (exited)
                                return 0;
                        if (deadline > 0 && (uint64_t) now_monotonic_usec() >= deadline && !r->timed_out) {
                                /* SIGKILL to a pid namespace's init kills the whole namespace. */
                                (void) kill(pid, SIGKILL);
                                r->timed_out = true;
                        }
                        continue;
                }
                for (int i = 0; i < 2; i++) {
                        ssize_t k;

                        if (p[i].fd < 0 || p[i].revents == 0)
                                continue;
                        k = read(p[i].fd, buf, sizeof(buf));
                        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (k <= 0) {
                                p[i].fd = -1;
                                continue;
                        }
                        output_forward(forward_to[i], buf, (size_t) k, c->output_limit, r);
                }
                if (p[2].fd >= 0 && p[2].revents != 0) {
                        exited = true;
                        p[2].fd = -1;
                }
        }
}

/* Reads what init and the command reported, after both are gone. */
static void reports_collect(int fd, SandboxResult *r)
{
        SandboxReport rep;

        while (read(fd, &rep, sizeof(rep)) == (ssize_t) sizeof(rep)) {
                rep.message[sizeof(rep.message) - 1] = '\0';
                switch (rep.kind) {
                case SANDBOX_REPORT_SETUP_FAILED:
                        if (!r->setup_failed) {
                                r->setup_failed = true;
                                (void) sandbox_error_set(&r->setup_error, rep.error, "%s", rep.message);
                        }
                        break;
                case SANDBOX_REPORT_EXEC_FAILED:
                        r->exec_failed = true;
                        r->exec_error = rep.error;
                        break;
                case SANDBOX_REPORT_STATUS:
                        if (WIFEXITED(rep.wait_status)) {
                                r->exited = true;
                                r->exit_code = WEXITSTATUS(rep.wait_status);
                        } else if (WIFSIGNALED(rep.wait_status))
                                r->signal = WTERMSIG(rep.wait_status);
                        break;
                }
        }
}

static int spawn_failed(SandboxResult *r, SandboxError *e, uint64_t start)
{
        r->setup_failed = true;
        r->setup_error = *e;
        r->wall_usec = (uint64_t) now_monotonic_usec() - start;
        return -e->error;
}

/* Long: the parent's side of the sandbox's life in order (pipes, clone, uid maps, the cgroup, the
 * output pump, wait, collect); each step depends on the state of the one before. */
int sandbox_run(const SandboxConfig *c, SandboxResult *ret, SandboxError *e)
{
        int sync_pipe[2] = { -EBADF, -EBADF }, report_pipe[2] = { -EBADF, -EBADF };
        int out_pipe[2] = { -EBADF, -EBADF }, err_pipe[2] = { -EBADF, -EBADF };
        int filter_pipe[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        _cleanup_(sandbox_cgroup_destroy) SandboxCgroup cg = SANDBOX_CGROUP_NULL;
        uint64_t start = (uint64_t) now_monotonic_usec(), deadline;
        SandboxResult result = {};
        char problem[SANDBOX_MESSAGE_MAX];
        struct rusage ru = {};
        SandboxIds ids;
        int r, filter_error = 0, status = 0;
        pid_t pid;

        deadline = c->timeout_usec > 0 ? start + c->timeout_usec : 0;
        sandbox_ids_choose(getuid(), getgid(), &ids);
        /* Root's supplementary groups would stay with the sandbox (setgroups is denied inside). */
        if (geteuid() == 0 && setgroups(0, NULL) < 0) {
                r = sandbox_error_set(e, errno, "cannot drop supplementary groups");
                goto fail;
        }
        if ((r = make_pipe(sync_pipe)) < 0 || (r = make_pipe(report_pipe)) < 0 ||
            (r = make_pipe(out_pipe)) < 0 || (r = make_pipe(err_pipe)) < 0 ||
            (r = make_pipe(filter_pipe)) < 0) {
                (void) sandbox_error_set(e, r, "cannot create pipes");
                goto fail;
        }

        if (c->cgroup_mode != SANDBOX_CGROUP_NO) {
                SandboxError ce = {};

                r = sandbox_cgroup_create(c, &cg, &ce);
                if (r < 0 && c->cgroup_mode == SANDBOX_CGROUP_REQUIRE) {
                        (void) sandbox_error_set(e, ce.error,
                                                 "--cgroup require: %s; run under a delegated cgroup "
                                                 "(a unit with Delegate=yes, or systemd-run --user "
                                                 "--scope -p Delegate=yes …)",
                                                 ce.message);
                        goto fail;
                }
                if (r < 0) {
                        /* The result's field is as large as the message: the errno text may be cut. */
                        size_t n = strlen(ce.message);

                        memcpy(result.cgroup_problem, ce.message, n + 1);
                        (void) string_copy(result.cgroup_problem + n, sizeof(result.cgroup_problem) - n,
                                           ": ");
                        n = strlen(result.cgroup_problem);
                        (void) string_copy(result.cgroup_problem + n, sizeof(result.cgroup_problem) - n,
                                           strerror(ce.error));
                }
        }

        pid = clone_sandbox(&cg);
        if (pid < 0) {
                r = -errno;
                (void) sandbox_error_set(e, r, "%s", sandbox_userns_problem(-r, problem, sizeof(problem)));
                goto fail;
        }
        if (pid == 0) {
                const SandboxInitFds fds = {
                        .sync = sync_pipe[0],
                        .report = report_pipe[1],
                        .out = out_pipe[1],
                        .err = err_pipe[1],
                        .filter = filter_pipe[0],
                };
                sandbox_init_run(c, &ids, &fds);
        }
        sync_pipe[0] = safe_close(sync_pipe[0]);
        report_pipe[1] = safe_close(report_pipe[1]);
        out_pipe[1] = safe_close(out_pipe[1]);
        err_pipe[1] = safe_close(err_pipe[1]);
        filter_pipe[0] = safe_close(filter_pipe[0]);

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                r = sandbox_error_set(e, errno, "cannot watch the sandbox (pidfd_open needs Linux 5.3)");
                goto kill;
        }
        r = sandbox_ids_write_maps(pid, &ids, e);
        if (r < 0) {
                size_t n = strlen(e->message);

                (void) snprintf(e->message + n, sizeof(e->message) - n, " (%s)",
                                sandbox_userns_problem(-r, problem, sizeof(problem)));
                goto kill;
        }
        /* The write end stays open while we live: init checks it for a hang-up. */
        if (write(sync_pipe[1], "1", 1) != 1) {
                r = sandbox_error_set(e, errno, "cannot start the sandbox's init");
                goto kill;
        }
        /* Compiled while init builds the mount tree; the program fits in the pipe's buffer. */
        filter_error = sandbox_seccomp_export(c->allow_ptrace, filter_pipe[1]);
        filter_pipe[1] = safe_close(filter_pipe[1]);
        /* It also fails when the sandbox is already gone (its setup or the command's lookup failed;
         * the reports say so). Never let a half-written program through: end the sandbox. */
        if (filter_error < 0)
                (void) kill(pid, SIGKILL);

        r = output_pump(c, pid, pidfd, out_pipe[0], err_pipe[0], deadline, &result);
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR) {
                        r = sandbox_error_set(e, errno, "cannot wait for the sandbox");
                        goto fail;
                }
        if (r < 0) {
                (void) sandbox_error_set(e, r, "cannot read the command's output");
                goto fail;
        }

        reports_collect(report_pipe[0], &result);
        if (filter_error < 0 && !result.setup_failed && !result.exec_failed) {
                result.setup_failed = true;
                (void) sandbox_error_set(&result.setup_error, filter_error,
                                         "cannot compile the seccomp filter");
        }
        if (!result.exited && result.signal == 0 && !result.setup_failed && WIFSIGNALED(status) &&
            !result.timed_out)
                result.signal = WTERMSIG(status); /* init itself was killed from outside */
        result.cpu_usec = (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ULL +
                          (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
        result.peak_memory = (uint64_t) ru.ru_maxrss * 1024ULL;
        sandbox_cgroup_collect(&cg, &result);
        result.wall_usec = (uint64_t) now_monotonic_usec() - start;
        close_pair(sync_pipe);
        close_pair(report_pipe);
        close_pair(out_pipe);
        close_pair(err_pipe);
        close_pair(filter_pipe);
        *ret = result;
        if (result.setup_failed) {
                *e = result.setup_error;
                return -e->error;
        }
        return 0;

kill:
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
fail:
        close_pair(sync_pipe);
        close_pair(report_pipe);
        close_pair(out_pipe);
        close_pair(err_pipe);
        close_pair(filter_pipe);
        r = spawn_failed(&result, e, start);
        *ret = result;
        return r;
}
