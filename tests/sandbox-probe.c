/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs inside retrace-sandbox (statically linked, so any root will do) and checks from the inside
 * what the sandbox promises. Used by test_sandbox.py.
 *
 *   sandbox-probe isolation [absent=PATH]... [port=N] [abstract=NAME] [tmpsize=BYTES] [setuid=PATH]
 *        prints "ok NAME" or "FAIL NAME: why" per property; exit status 1 when any failed
 *   sandbox-probe ids               prints "RUID EUID"
 *   sandbox-probe sleep-tree TOKEN  starts a child and a grandchild (in its own session), prints
 *                                   "ready", then all three sleep; TOKEN marks them in /proc/PID/cmdline
 *   sandbox-probe forkbomb TOKEN    forks until refused; prints "forks N errno E"
 *   sandbox-probe memhog MIB        allocates and touches MIB MiB, 1 MiB at a time, printing
 *                                   "touched N" every 8 MiB; prints "done N" when it got them all
 *   sandbox-probe spew BYTES        writes BYTES bytes to stdout
 *   sandbox-probe exit N            exits with status N
 *   sandbox-probe kill SIGNAL       kills itself with SIGNAL
 *
 * Syscalls are called with arguments that make them fail with a different errno (or succeed)
 * when nothing filters them, so an EPERM really comes from the seccomp filter. */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/personality.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void check(bool ok, const char *name, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void check(bool ok, const char *name, const char *format, ...)
{
        va_list ap;

        if (ok) {
                printf("ok %s\n", name);
                return;
        }
        failures++;
        printf("FAIL %s: ", name);
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        putchar('\n');
}

/* Result of a raw syscall as the kernel returns it: -errno or the value. */
static long sc(long r)
{
        return r < 0 ? -errno : r;
}

static void expect_errno(const char *name, long r, int expected)
{
        check(r == -expected, name, "returned %ld (%s), expected -%d (%s)", r,
              r < 0 ? strerror((int) -r) : "success", expected, strerror(expected));
}

static long clone_with(unsigned long flags)
{
        long r = sc(syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL));

        if (r == 0)
                _exit(0);
        if (r > 0)
                (void) waitpid((pid_t) r, NULL, 0);
        return r;
}

#if defined(__x86_64__)
static long syscall_i386(long nr, long a1)
{
        long r;

        __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a1) : "memory");
        return r;
}

/* Whether int 0x80 reaches the kernel: tried in a child, which a kernel without IA-32 emulation
 * kills with SIGSEGV. */
static bool i386_entry_exists(void)
{
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                (void) syscall_i386(20 /* getpid */, 0);
                _exit(0);
        }
        if (pid < 0 || waitpid(pid, &status, 0) != pid)
                return true; /* cannot tell: test it, and fail loudly */
        return !(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

static long syscall_x32(long nr, long a1)
{
        long r;

        __asm__ volatile("syscall" : "=a"(r) : "a"(nr | 0x40000000L), "D"(a1) : "rcx", "r11", "memory");
        return r;
}
#endif

static void check_syscalls(void)
{
        static const struct {
                const char *name;
                unsigned long flag;
        } ns_flags[] = {
                { "clone(CLONE_NEWNS)", CLONE_NEWNS },         { "clone(CLONE_NEWUSER)", CLONE_NEWUSER },
                { "clone(CLONE_NEWPID)", CLONE_NEWPID },       { "clone(CLONE_NEWNET)", CLONE_NEWNET },
                { "clone(CLONE_NEWIPC)", CLONE_NEWIPC },       { "clone(CLONE_NEWUTS)", CLONE_NEWUTS },
                { "clone(CLONE_NEWCGROUP)", CLONE_NEWCGROUP },
        };
        long r;
        int fd;

        expect_errno("mount", sc(syscall(SYS_mount, (char *) 1, (char *) 1, (char *) 1, 0UL, NULL)), EPERM);
        expect_errno("umount2", sc(syscall(SYS_umount2, "/", 0x7fffffff)), EPERM);
        expect_errno("pivot_root", sc(syscall(SYS_pivot_root, (char *) 1, (char *) 1)), EPERM);
        expect_errno("chroot", sc(syscall(SYS_chroot, (char *) 1)), EPERM);
        expect_errno("unshare", sc(syscall(SYS_unshare, 0)), EPERM);
        expect_errno("setns", sc(syscall(SYS_setns, -1, 0)), EPERM);
        for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
                expect_errno(ns_flags[i].name, clone_with(ns_flags[i].flag), EPERM);
        expect_errno("clone3", sc(syscall(SYS_clone3, NULL, 0)), ENOSYS);
        r = clone_with(0);
        check(r > 0, "clone without namespace flags works", "returned %ld", r);
        expect_errno("ptrace", sc(syscall(SYS_ptrace, 0x7fff, 0, 0, 0)), EPERM);
        expect_errno("process_vm_readv", sc(syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 1)),
                     EPERM);
        expect_errno("process_vm_writev", sc(syscall(SYS_process_vm_writev, getpid(), NULL, 0, NULL, 0, 1)),
                     EPERM);
        expect_errno("kexec_load", sc(syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000UL)), EPERM);
        expect_errno("kexec_file_load", sc(syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0)), EPERM);
        expect_errno("init_module", sc(syscall(SYS_init_module, NULL, 0, "")), EPERM);
        expect_errno("finit_module", sc(syscall(SYS_finit_module, -1, "", 0)), EPERM);
        expect_errno("delete_module", sc(syscall(SYS_delete_module, "probe", 0)), EPERM);
        expect_errno("bpf", sc(syscall(SYS_bpf, -1, NULL, 0)), EPERM);
        expect_errno("perf_event_open", sc(syscall(SYS_perf_event_open, (void *) 1, 0, -1, -1, 0)), EPERM);
        expect_errno("keyctl", sc(syscall(SYS_keyctl, -1, 0, 0, 0, 0)), EPERM);
        expect_errno("add_key", sc(syscall(SYS_add_key, (char *) 1, (char *) 1, NULL, 0, 0)), EPERM);
        expect_errno("request_key", sc(syscall(SYS_request_key, (char *) 1, (char *) 1, NULL, 0)), EPERM);
        expect_errno("userfaultfd", sc(syscall(SYS_userfaultfd, 0xffff)), EPERM);
        expect_errno("io_uring_setup", sc(syscall(SYS_io_uring_setup, 0, NULL)), EPERM);
        expect_errno("open_by_handle_at", sc(syscall(SYS_open_by_handle_at, -1, (void *) 1, 0)), EPERM);
        expect_errno("personality(ADDR_NO_RANDOMIZE)",
                     sc(syscall(SYS_personality, PER_LINUX | ADDR_NO_RANDOMIZE)), EPERM);
        r = sc(syscall(SYS_personality, 0xffffffffUL));
        check(r >= 0 && !(r & ADDR_NO_RANDOMIZE), "personality query works, ASLR on", "returned %ld", r);
        expect_errno("socket(AF_INET)", sc(socket(AF_INET, SOCK_STREAM, 0)), EPERM);
        expect_errno("socket(AF_INET6)", sc(socket(AF_INET6, SOCK_DGRAM, 0)), EPERM);
        expect_errno("socket(AF_NETLINK)", sc(socket(AF_NETLINK, SOCK_RAW, 0)), EPERM);
        expect_errno("socket(AF_PACKET)", sc(socket(AF_PACKET, SOCK_RAW, 0)), EPERM);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        check(fd >= 0, "socket(AF_UNIX) works", "%s", strerror(errno));
        if (fd >= 0)
                close(fd);
        expect_errno("ioctl(TIOCSTI)", sc(syscall(SYS_ioctl, 0, TIOCSTI, "x")), EPERM);
        expect_errno("ioctl(TIOCSTI with high bits)", sc(syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, "x")),
                     EPERM);

#if defined(__x86_64__)
        /* The same kernel entered through the 32-bit and x32 syscall tables. A kernel without IA-32
         * emulation (CONFIG_IA32_EMULATION off, or ia32_emulation=0) answers int 0x80 with SIGSEGV:
         * that entry does not exist there, so there is nothing to filter. Tried in a child first. */
        if (i386_entry_exists()) {
                r = syscall_i386(20 /* getpid */, 0);
                check(r > 0, "i386 getpid works (32-bit entry is filtered, not killed)", "returned %ld", r);
                expect_errno("i386 unshare", syscall_i386(310, 0), EPERM);
                expect_errno("i386 socketcall", syscall_i386(102, 1), EPERM);
                expect_errno("i386 mount", syscall_i386(21, 1), EPERM);
        } else
                check(true, "i386 entry absent (kernel without IA-32 emulation)", "%s", "");
        expect_errno("x32 unshare", syscall_x32(272, 0), EPERM);
#endif
}

static bool read_status_field(const char *field, char *buf, size_t size)
{
        char line[256];
        FILE *f = fopen("/proc/self/status", "re");
        bool found = false;

        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':') {
                        snprintf(buf, size, "%s",
                                 line + strlen(field) + 1 + strspn(line + strlen(field) + 1, " \t"));
                        buf[strcspn(buf, "\n")] = '\0';
                        found = true;
                }
        fclose(f);
        return found;
}

static void check_credentials(void)
{
        static const char *const sets[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
        char v[64];

        for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
                bool ok = read_status_field(sets[i], v, sizeof(v));
                char name[32];

                snprintf(name, sizeof(name), "%s is zero", sets[i]);
                check(ok && strcmp(v, "0000000000000000") == 0, name, "%s", ok ? v : "missing");
        }
        check(read_status_field("NoNewPrivs", v, sizeof(v)) && strcmp(v, "1") == 0, "no_new_privs", "%s", v);
        check(read_status_field("Seccomp", v, sizeof(v)) && strcmp(v, "2") == 0, "seccomp filter", "%s", v);
        check(getuid() != 0 && geteuid() != 0, "not uid 0 inside", "uid %d", (int) getuid());
        check(getsid(0) == getpid(), "own session", "sid %d pid %d", (int) getsid(0), (int) getpid());
}

static bool dir_is_empty_or_missing(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;
        bool empty = true;

        if (!d)
                return errno == ENOENT;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        empty = false;
        closedir(d);
        return empty;
}

static void check_pid_namespace(void)
{
        char comm[64] = "";
        FILE *f = fopen("/proc/1/comm", "re");
        DIR *d;
        struct dirent *de;
        int others = 0;

        if (f) {
                if (fgets(comm, sizeof(comm), f))
                        comm[strcspn(comm, "\n")] = '\0';
                fclose(f);
        }
        check(strcmp(comm, "retrace-init") == 0, "pid 1 is the sandbox's init", "pid 1 is \"%s\"", comm);
        check(getppid() == 1, "our parent is pid 1", "ppid %d", (int) getppid());
        d = opendir("/proc");
        while (d && (de = readdir(d)))
                if (de->d_name[0] >= '1' && de->d_name[0] <= '9' && atoi(de->d_name) != 1 &&
                    atoi(de->d_name) != getpid())
                        others++;
        if (d)
                closedir(d);
        check(d && others == 0, "no other processes visible", "%d other processes in /proc", others);
}

static void check_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        char extra[256] = "";

        while (d && (de = readdir(d))) {
                int fd = atoi(de->d_name);

                if (de->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
                        continue;
                snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), " %d", fd);
        }
        if (d)
                closedir(d);
        check(d && extra[0] == '\0', "only fds 0, 1, 2 open", "also open:%s", extra);
}

static void check_network(int port, const char *abstract)
{
        char line[256];
        FILE *f = fopen("/proc/net/dev", "re");
        int devices = 0, lo = 0;

        while (f && fgets(line, sizeof(line), f)) {
                char *colon = strchr(line, ':');

                if (!colon)
                        continue;
                devices++;
                *colon = '\0';
                if (strcmp(line + strspn(line, " "), "lo") == 0)
                        lo++;
        }
        if (f)
                fclose(f);
        check(devices == 1 && lo == 1, "only lo in the network namespace", "%d devices", devices);

        if (port > 0) {
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                int r = -1;

                sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                if (fd >= 0) {
                        r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
                        close(fd);
                }
                check(r < 0, "host 127.0.0.1 port unreachable", "connected to 127.0.0.1:%d", port);
        }
        if (abstract) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int fd = socket(AF_UNIX, SOCK_STREAM, 0), r = -1, error = 0;
                socklen_t len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract));

                memcpy(sa.sun_path + 1, abstract, strlen(abstract));
                if (fd >= 0) {
                        r = connect(fd, (struct sockaddr *) &sa, len);
                        error = errno;
                        close(fd);
                }
                check(fd >= 0 && r < 0 && error == ECONNREFUSED, "host abstract unix socket unreachable",
                      "connect returned %d (%s)", r, strerror(error));
        }
}

static void check_filesystem(unsigned long long tmpsize)
{
        static const char *const readonly[] = { "/probe-new", "/usr/probe-new", "/etc/probe-new" };
        static const char *const dev_expected[] = { "full",  "null",   "random", "urandom", "zero",
                                                    "stdin", "stdout", "stderr", "fd",      "tty" };
        struct dirent *de;
        DIR *d;
        char name[128];

        for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
                int fd = open(readonly[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                int error = errno;

                if (fd >= 0) {
                        close(fd);
                        unlink(readonly[i]);
                }
                snprintf(name, sizeof(name), "cannot create %s (read-only)", readonly[i]);
                check(fd < 0 && error == EROFS, name, "open returned %d (%s)", fd, strerror(error));
        }
        check(mkdir("/probe-dir", 0755) < 0 && errno == EROFS, "cannot mkdir in / (read-only)", "%s",
              strerror(errno));

        d = opendir("/dev");
        while (d && (de = readdir(d))) {
                bool known = false;

                if (de->d_name[0] == '.')
                        continue;
                for (size_t i = 0; i < sizeof(dev_expected) / sizeof(dev_expected[0]); i++)
                        known = known || strcmp(de->d_name, dev_expected[i]) == 0;
                check(known, "/dev has only the minimal nodes", "unexpected /dev/%.64s", de->d_name);
        }
        if (d)
                closedir(d);

        if (tmpsize > 0) {
                static char block[65536];
                unsigned long long written = 0;
                int fd = open("/tmp/probe-fill", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                int error = 0;

                memset(block, 'x', sizeof(block));
                while (fd >= 0 && written <= tmpsize * 2) {
                        ssize_t n = write(fd, block, sizeof(block));

                        if (n <= 0) {
                                error = n < 0 ? errno : EIO;
                                break;
                        }
                        written += (unsigned long long) n;
                }
                check(fd >= 0 && error == ENOSPC && written >= tmpsize * 9 / 10 && written <= tmpsize,
                      "/tmp writable up to its size", "wrote %llu of %llu bytes, then %s", written, tmpsize,
                      strerror(error));
                if (fd >= 0)
                        close(fd);
                unlink("/tmp/probe-fill");
        }
}

static void check_setuid(const char *path)
{
        char out[64] = "";
        int p[2];
        pid_t pid;
        ssize_t n = 0;
        unsigned ruid = 0, euid = 0;
        struct stat st;

        check(stat(path, &st) == 0 && (st.st_mode & S_ISUID), "setuid binary present", "%s", path);
        if (pipe(p) < 0)
                return;
        pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                execl(path, path, "ids", (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        while (pid > 0 && (n = read(p[0], out, sizeof(out) - 1)) < 0 && errno == EINTR)
                ;
        close(p[0]);
        if (pid > 0)
                (void) waitpid(pid, NULL, 0);
        out[n > 0 ? n : 0] = '\0';
        check(sscanf(out, "%u %u", &ruid, &euid) == 2 && ruid == euid && euid == (unsigned) getuid(),
              "setuid binary does not elevate", "ids after exec: \"%s\" (file owner %u)", out,
              (unsigned) st.st_uid);
}

static int isolation(int argc, char *argv[])
{
        unsigned long long tmpsize = 0;
        const char *abstract = NULL, *setuid_path = NULL;
        char hostname[64] = "";
        int port = 0;

        for (int i = 0; i < argc; i++) {
                if (strncmp(argv[i], "absent=", 7) == 0) {
                        struct stat st;
                        char name[300];

                        snprintf(name, sizeof(name), "host path %s invisible", argv[i] + 7);
                        check(lstat(argv[i] + 7, &st) < 0 && errno == ENOENT, name, "it exists inside");
                } else if (strncmp(argv[i], "port=", 5) == 0)
                        port = atoi(argv[i] + 5);
                else if (strncmp(argv[i], "abstract=", 9) == 0)
                        abstract = argv[i] + 9;
                else if (strncmp(argv[i], "tmpsize=", 8) == 0)
                        tmpsize = strtoull(argv[i] + 8, NULL, 10);
                else if (strncmp(argv[i], "setuid=", 7) == 0)
                        setuid_path = argv[i] + 7;
        }
        check(dir_is_empty_or_missing("/home"), "host /home invisible", "/home has entries");
        (void) gethostname(hostname, sizeof(hostname));
        check(strcmp(hostname, "retrace") == 0, "hostname is retrace", "%s", hostname);
        check_credentials();
        check_pid_namespace();
        check_fds();
        check_network(port, abstract);
        check_filesystem(tmpsize);
        if (setuid_path)
                check_setuid(setuid_path);
        check_syscalls();
        printf("%d failures\n", failures);
        return failures > 0;
}

static int sleep_tree(void)
{
        int p[2];
        char c;

        if (pipe(p) < 0)
                return 1;
        if (fork() == 0) {
                close(p[0]);
                (void) setsid();
                if (fork() == 0) {
                        (void) write(p[1], "g", 1);
                        for (;;)
                                pause();
                }
                (void) write(p[1], "c", 1);
                for (;;)
                        pause();
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1 || read(p[0], &c, 1) != 1)
                return 1;
        printf("ready\n");
        fflush(stdout);
        for (;;)
                pause();
}

static int forkbomb(void)
{
        long n = 0;

        for (;;) {
                pid_t pid = fork();

                if (pid == 0) {
                        for (;;)
                                pause();
                }
                if (pid < 0)
                        break;
                n++;
                if (n > 100000)
                        break;
        }
        printf("forks %ld errno %d\n", n, errno);
        return 0;
}

static int memhog(unsigned long mib)
{
        unsigned long n;

        for (n = 0; n < mib; n++) {
                char *p = malloc(1UL << 20);

                if (!p)
                        break;
                memset(p, 'm', 1UL << 20);
                if (n % 8 == 7)
                        printf("touched %lu\n", n + 1);
        }
        printf("done %lu\n", n);
        return n == mib ? 0 : 1;
}

static int spew(unsigned long long bytes)
{
        static char block[4096];

        memset(block, 'o', sizeof(block));
        while (bytes > 0) {
                size_t k = bytes < sizeof(block) ? (size_t) bytes : sizeof(block);
                ssize_t n = write(STDOUT_FILENO, block, k);

                if (n <= 0)
                        return 1;
                bytes -= (unsigned long long) n;
        }
        return 0;
}

int main(int argc, char *argv[])
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc >= 2 && strcmp(argv[1], "isolation") == 0)
                return isolation(argc - 2, argv + 2);
        if (argc >= 2 && strcmp(argv[1], "ids") == 0) {
                printf("%u %u\n", (unsigned) getuid(), (unsigned) geteuid());
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "sleep-tree") == 0)
                return sleep_tree();
        if (argc >= 3 && strcmp(argv[1], "forkbomb") == 0)
                return forkbomb();
        if (argc >= 3 && strcmp(argv[1], "exit") == 0)
                return atoi(argv[2]);
        if (argc >= 3 && strcmp(argv[1], "kill") == 0) {
                (void) kill(getpid(), atoi(argv[2]));
                return 2;
        }
        if (argc >= 3 && strcmp(argv[1], "memhog") == 0)
                return memhog(strtoul(argv[2], NULL, 10));
        if (argc >= 3 && strcmp(argv[1], "spew") == 0)
                return spew(strtoull(argv[2], NULL, 10));
        fprintf(stderr, "usage: see the comment at the top of sandbox-probe.c\n");
        return 2;
}
