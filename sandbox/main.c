/* SPDX-License-Identifier: GPL-2.0-or-later */
/* retrace-sandbox: runs one command in an unprivileged namespace sandbox (see sandbox/README.md). */

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "common-fd.h"
#include "common-log.h"
#include "common-parse.h"
#include "common-string.h"
#include "config.h"
#include "sandbox-config.h"
#include "sandbox-lock.h"
#include "sandbox-program.h"
#include "sandbox-spawn.h"
#include "sandbox-status.h"

static void help(void)
{
        printf("retrace-sandbox [OPTIONS] -- COMMAND [ARG...]\n\n"
               "Runs COMMAND in new user, mount, pid, network, ipc, uts and cgroup namespaces, in a\n"
               "read-only root, with no capabilities and a seccomp filter.\n\n"
               "  --root DIR             directory that becomes / (mounted read-only, nosuid, nodev)\n"
               "  --empty-root           / is an empty tmpfs holding only what the mounts add\n"
               "  --ro-bind SRC DEST     bind SRC read-only at DEST inside\n"
               "  --ro-bind-program PATH bind PATH, its ELF interpreter and libraries read-only\n"
               "  --bind SRC DEST        bind SRC read-write at DEST inside\n"
               "  --tmpfs DEST[:SIZE]    private writable tmpfs (default size 64M)\n"
               "  --chdir DIR            working directory inside\n"
               "  --setenv NAME VALUE    environment (the environment starts empty)\n"
               "  --timeout SECONDS      wall clock; on expiry everything inside is killed\n"
               "  --rlimit NAME=VALUE    as, core, cpu, data, fsize, nofile, nproc, stack, ...\n"
               "  --output-limit BYTES   cap on captured stdout+stderr (default 16M)\n"
               "  --cgroup MODE          auto, no, require: a cgroup v2 of its own (default auto)\n"
               "  --pids-max N|max       tasks inside at most: pids.max, else counted (default 64)\n"
               "  --memory-max SIZE|max  memory of all inside: memory.max, else polled RSS sum (8G)\n"
               "  --allow-ptrace         allow ptrace and process_vm_readv/writev inside\n"
               "  --tty                  stdin is a terminal: the command's stdin, stdout, stderr and\n"
               "                         controlling terminal (output is not captured)\n"
               "  --no-exec              the command may execute no other program (Landlock)\n"
               "  --status-fd FD         write one JSON object to FD when done\n"
               "  --parent-pid PID       fail unless PID is still the parent once its death is armed\n"
               "  --lock PATH            hold an flock on PATH while the sandbox lives; wait for it\n"
               "  --lock-fd FD           the same on an open file (the caller may hold it already)\n"
               "  -h --help              show this help\n"
               "     --version           show the version\n\n"
               "Exit status: the command's, 128+N for signal N, %d timeout, %d setup failure,\n"
               "%d command not executable, %d command not found.\n",
               SANDBOX_EXIT_TIMEOUT, SANDBOX_EXIT_SETUP, SANDBOX_EXIT_CANNOT_EXEC, SANDBOX_EXIT_NOT_FOUND);
}

/* The second argument of a two-argument option (--bind SRC DEST). */
static const char *second_arg(int argc, char *argv[], const char *option)
{
        if (optind >= argc || streq(argv[optind], "--")) {
                log_error("--%s needs two arguments", option);
                return NULL;
        }
        return argv[optind++];
}

/* Long: one case per option of the documented command line (README.md); splitting it would scatter
 * the command line over several functions. */
static int parse_argv(int argc, char *argv[], SandboxConfig *c)
{
        enum {
                ARG_ROOT = 0x100,
                ARG_EMPTY_ROOT,
                ARG_RO_BIND,
                ARG_RO_BIND_PROGRAM,
                ARG_BIND,
                ARG_TMPFS,
                ARG_CHDIR,
                ARG_SETENV,
                ARG_TIMEOUT,
                ARG_RLIMIT,
                ARG_OUTPUT_LIMIT,
                ARG_CGROUP,
                ARG_PIDS_MAX,
                ARG_MEMORY_MAX,
                ARG_ALLOW_PTRACE,
                ARG_TTY,
                ARG_NO_EXEC,
                ARG_STATUS_FD,
                ARG_PARENT_PID,
                ARG_LOCK,
                ARG_LOCK_FD,
                ARG_VERSION,
        };
        static const struct option options[] = {
                { "root", required_argument, NULL, ARG_ROOT },
                { "empty-root", no_argument, NULL, ARG_EMPTY_ROOT },
                { "ro-bind", required_argument, NULL, ARG_RO_BIND },
                { "ro-bind-program", required_argument, NULL, ARG_RO_BIND_PROGRAM },
                { "bind", required_argument, NULL, ARG_BIND },
                { "tmpfs", required_argument, NULL, ARG_TMPFS },
                { "chdir", required_argument, NULL, ARG_CHDIR },
                { "setenv", required_argument, NULL, ARG_SETENV },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "rlimit", required_argument, NULL, ARG_RLIMIT },
                { "output-limit", required_argument, NULL, ARG_OUTPUT_LIMIT },
                { "cgroup", required_argument, NULL, ARG_CGROUP },
                { "pids-max", required_argument, NULL, ARG_PIDS_MAX },
                { "memory-max", required_argument, NULL, ARG_MEMORY_MAX },
                { "allow-ptrace", no_argument, NULL, ARG_ALLOW_PTRACE },
                { "tty", no_argument, NULL, ARG_TTY },
                { "no-exec", no_argument, NULL, ARG_NO_EXEC },
                { "status-fd", required_argument, NULL, ARG_STATUS_FD },
                { "parent-pid", required_argument, NULL, ARG_PARENT_PID },
                { "lock", required_argument, NULL, ARG_LOCK },
                { "lock-fd", required_argument, NULL, ARG_LOCK_FD },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        const char *second;
        uint64_t u;
        int opt, r;

        /* "+": stop at the command, so its own options are not taken for ours. */
        while ((opt = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("retrace-sandbox %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_ROOT:
                        free(c->root);
                        c->root = strdup(optarg);
                        if (!c->root)
                                return log_oom();
                        break;
                case ARG_RO_BIND:
                case ARG_BIND: {
                        const char *name = opt == ARG_BIND ? "bind" : "ro-bind";

                        second = second_arg(argc, argv, name);
                        if (!second)
                                return -EINVAL;
                        r = sandbox_config_add_bind(
                                c, opt == ARG_BIND ? SANDBOX_MOUNT_BIND : SANDBOX_MOUNT_RO_BIND, optarg,
                                second);
                        if (r < 0)
                                return log_error_errno(r,
                                                       "Invalid --%s %s %s: DEST must be a normalized "
                                                       "absolute path other than / (%m)",
                                                       name, optarg, second);
                        break;
                }
                case ARG_EMPTY_ROOT:
                        c->empty_root = true;
                        break;
                case ARG_RO_BIND_PROGRAM: {
                        SandboxError e = {};

                        r = sandbox_config_add_program(c, optarg, &e);
                        if (r < 0)
                                return log_error_errno(r, "%s: %m", e.message);
                        break;
                }
                case ARG_TMPFS:
                        r = sandbox_config_add_tmpfs(c, optarg);
                        if (r < 0)
                                return log_error_errno(r,
                                                       "Invalid --tmpfs %s: expected DEST[:SIZE], DEST a "
                                                       "normalized absolute path, SIZE at least 4K (%m)",
                                                       optarg);
                        break;
                case ARG_CHDIR:
                        free(c->chdir);
                        c->chdir = strdup(optarg);
                        if (!c->chdir)
                                return log_oom();
                        break;
                case ARG_SETENV:
                        second = second_arg(argc, argv, "setenv");
                        if (!second)
                                return -EINVAL;
                        r = sandbox_config_set_env(c, optarg, second);
                        if (r < 0)
                                return log_error_errno(r,
                                                       "Invalid --setenv %s: names are letters, digits "
                                                       "and '_' (%m)",
                                                       optarg);
                        break;
                case ARG_TIMEOUT:
                        r = parse_seconds(optarg, &u);
                        if (r < 0 || u > UINT64_MAX / 1000000)
                                return log_error_errno(r < 0 ? r : -ERANGE,
                                                       "Invalid --timeout %s: expected seconds, e.g. 300 or "
                                                       "5min (%m)",
                                                       optarg);
                        c->timeout_usec = u * 1000000;
                        break;
                case ARG_RLIMIT:
                        r = sandbox_config_set_rlimit(c, optarg);
                        if (r < 0)
                                return log_error_errno(r,
                                                       "Invalid --rlimit %s: expected NAME=VALUE with NAME "
                                                       "one of as, core, cpu, data, fsize, locks, memlock, "
                                                       "msgqueue, nice, nofile, nproc, rss, rtprio, rttime, "
                                                       "sigpending, stack (%m)",
                                                       optarg);
                        break;
                case ARG_OUTPUT_LIMIT:
                        r = parse_size(optarg, &c->output_limit);
                        if (r < 0)
                                return log_error_errno(r,
                                                       "Invalid --output-limit %s: expected bytes, e.g. "
                                                       "1048576 or 1M (%m)",
                                                       optarg);
                        break;
                case ARG_CGROUP:
                        c->cgroup_mode = sandbox_cgroup_mode_from_string(optarg);
                        if (c->cgroup_mode < 0)
                                return log_error_errno(
                                        EINVAL, "Invalid --cgroup %s: expected auto, no or require", optarg);
                        break;
                case ARG_PIDS_MAX:
                        r = sandbox_parse_cgroup_limit(optarg, false, &c->pids_max);
                        if (r < 0)
                                return log_error_errno(
                                        r, "Invalid --pids-max %s: expected a count above 0 or max (%m)",
                                        optarg);
                        break;
                case ARG_MEMORY_MAX:
                        r = sandbox_parse_cgroup_limit(optarg, true, &c->memory_max);
                        if (r < 0)
                                return log_error_errno(
                                        r,
                                        "Invalid --memory-max %s: expected a size of at least 4K, "
                                        "e.g. 2G, or max (%m)",
                                        optarg);
                        break;
                case ARG_ALLOW_PTRACE:
                        c->allow_ptrace = true;
                        break;
                case ARG_TTY:
                        if (!isatty(STDIN_FILENO))
                                return log_error_errno(ENOTTY,
                                                       "--tty needs a terminal on stdin (the slave of a "
                                                       "pseudo-terminal the caller opened)");
                        c->tty = true;
                        break;
                case ARG_NO_EXEC:
                        c->no_exec = true;
                        break;
                case ARG_STATUS_FD:
                        r = parse_int(optarg, &c->status_fd);
                        if (r < 0 || c->status_fd < 0)
                                return log_error_errno(r < 0 ? r : -EINVAL, "Invalid --status-fd %s (%m)",
                                                       optarg);
                        if (fcntl(c->status_fd, F_GETFD) < 0)
                                return log_error_errno(errno,
                                                       "--status-fd %d is not an open file "
                                                       "descriptor: %m",
                                                       c->status_fd);
                        break;
                case ARG_PARENT_PID:
                        r = parse_int(optarg, &c->parent_pid);
                        if (r < 0 || c->parent_pid <= 0)
                                return log_error_errno(r < 0 ? r : -EINVAL,
                                                       "Invalid --parent-pid %s: expected a process id (%m)",
                                                       optarg);
                        break;
                case ARG_LOCK:
                        if (isempty(optarg))
                                return log_error_errno(EINVAL, "Invalid --lock: expected a file name");
                        free(c->lock_path);
                        c->lock_path = strdup(optarg);
                        if (!c->lock_path)
                                return log_oom();
                        break;
                case ARG_LOCK_FD:
                        r = parse_int(optarg, &c->lock_fd);
                        if (r < 0 || c->lock_fd < 0)
                                return log_error_errno(r < 0 ? r : -EINVAL, "Invalid --lock-fd %s (%m)",
                                                       optarg);
                        if (fcntl(c->lock_fd, F_GETFD) < 0)
                                return log_error_errno(errno,
                                                       "--lock-fd %d is not an open file descriptor: %m",
                                                       c->lock_fd);
                        break;
                case '?':
                        return log_error_errno(EINVAL, "Unknown option; see retrace-sandbox --help");
                default:
                        return log_error_errno(EINVAL, "Unhandled option");
                }
        }
        if (optind < argc && streq(argv[optind], "--"))
                optind++;
        for (int i = optind; i < argc; i++) {
                r = strv_extend(&c->argv, argv[i]);
                if (r < 0)
                        return log_oom();
        }
        return 1;
}

static void status_write(int fd, const SandboxResult *result)
{
        _cleanup_free_ char *json = NULL;
        int r;

        r = sandbox_result_to_json(result, &json);
        if (r >= 0)
                r = fd_write_all(fd, json, strlen(json));
        if (r < 0)
                (void) log_error_errno(r, "Cannot write the status to --status-fd %d: %m", fd);
}

int main(int argc, char *argv[])
{
        SandboxConfig c;
        SandboxResult result = {};
        SandboxError e = {};
        int r;

        log_set_program("retrace-sandbox");
        /* Die with the caller (the daemon), first thing: the sandbox must not outlive it. */
        r = sandbox_die_with_parent(getppid());
        if (r < 0) {
                (void) log_error_errno(r, "Cannot tie retrace-sandbox to its caller's life: %m");
                return SANDBOX_EXIT_SETUP;
        }
        sandbox_config_init(&c);
        r = parse_argv(argc, argv, &c);
        if (r <= 0) {
                sandbox_config_done(&c);
                return r < 0 ? SANDBOX_EXIT_SETUP : EXIT_SUCCESS;
        }
        if (c.parent_pid > 0 && getppid() != c.parent_pid) {
                log_error("The caller (--parent-pid %d) is gone: not starting a sandbox it cannot stop.",
                          (int) c.parent_pid);
                sandbox_config_done(&c);
                return SANDBOX_EXIT_SETUP;
        }
        r = sandbox_config_validate(&c, &e);
        if (r < 0) {
                (void) log_error_errno(r, "%s", e.message);
                sandbox_config_done(&c);
                return SANDBOX_EXIT_SETUP;
        }

        /* Output goes on even when our reader has gone; write errors are dropped, not fatal. */
        (void) signal(SIGPIPE, SIG_IGN);

        r = sandbox_run(&c, &result, &e);
        if (r < 0)
                (void) log_error_errno(r, "Sandbox setup failed: %s: %m", e.message);
        else if (result.exec_failed)
                (void) log_error_errno(result.exec_error, "Cannot execute %s in the sandbox: %m", c.argv[0]);
        if (result.lock_timed_out)
                log_error("Timeout of %llu s reached while waiting for --lock%s (an older sandbox "
                          "holds it): nothing ran.",
                          (unsigned long long) (c.timeout_usec / 1000000), c.lock_path ? "" : "-fd");
        else if (result.timed_out)
                log_error("Timeout of %llu s reached: everything in the sandbox was killed.",
                          (unsigned long long) (c.timeout_usec / 1000000));
        if (result.output_limit_hit)
                log_warning("Output limit of %llu bytes reached: %llu bytes dropped.",
                            (unsigned long long) c.output_limit, (unsigned long long) result.output_dropped);
        if (result.pids_limit_hit)
                log_warning("Process limit of the sandbox (--pids-max %llu) reached: forks were refused%s.",
                            (unsigned long long) c.pids_max,
                            result.cgroup_used ? "" : " (or, above it, everything inside was killed)");
        if (result.memory_limit_hit)
                log_warning("Memory limit of the sandbox (--memory-max %llu bytes) reached: %s.",
                            (unsigned long long) c.memory_max,
                            result.cgroup_used ? "the kernel killed processes inside"
                                               : "the sum of the resident sets of the processes inside "
                                                 "passed it, and everything inside was killed");
        if (c.status_fd >= 0)
                status_write(c.status_fd, &result);

        r = sandbox_result_exit_status(&result);
        sandbox_config_done(&c);
        return r;
}
