/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What retrace-client uploads: the files of a problem directory, a bare core or a systemd-coredump
 * entry, packed as tar | xz. */
#include "client-crash.h"

#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common-elf.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"

void crash_done(Crash *c)
{
        free(c->package);
        free(c->os_info);
        free(c->os_release);
        free(c->arch);
        free(c->release_id);
        strv_free(c->names);
        strv_free(c->paths);
        strv_free(c->texts);
        if (c->tmpdir)
                (void) path_rm_rf(c->tmpdir);
        free(c->tmpdir);
}

static int crash_add(Crash *c, const char *name, const char *path, const char *text)
{
        int r = strv_extend(&c->names, name);

        if (r >= 0)
                r = strv_extend(&c->paths, path ?: "");
        if (r >= 0)
                r = strv_extend(&c->texts, text ?: "");
        return r;
}

static char *read_text(const char *dir, const char *name, size_t max)
{
        _cleanup_free_ char *path = path_join(dir, name);
        char *text = NULL;

        if (path && file_read_at(AT_FDCWD, path, max, &text, NULL) >= 0)
                return string_strip(text);
        return NULL;
}

/* An ABRT problem directory: the files ABRT's client uploads. */
static int crash_from_dir(Crash *c, const char *dir)
{
        static const char *const files[] = { "coredump",   "executable", "package",
                                             "os_release", "rootdir",    "os_release_in_rootdir" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = path_join(dir, files[i]);

                if (!p)
                        return -ENOMEM;
                if (access(p, R_OK) < 0) {
                        if (i < 3)
                                return log_error_errno(
                                        errno, "%s has no readable '%s': not an ABRT problem directory?",
                                        dir, files[i]);
                        continue;
                }
                r = crash_add(c, files[i], p, NULL);
                if (r < 0)
                        return r;
        }
        c->package = read_text(dir, "package", 128);
        c->os_info = read_text(dir, "os_info", 8192);
        c->os_release = read_text(dir, "os_release", 128);
        c->arch = read_text(dir, "architecture", 64);
        return 0;
}

/* The architecture of an ELF core, from its header. */
static char *core_arch(const char *path)
{
        unsigned char h[EI_NIDENT + 4];
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        const char *a;
        unsigned machine;

        if (!f || fread(h, 1, sizeof(h), f) != sizeof(h) || memcmp(h, ELFMAG, SELFMAG) != 0)
                return NULL;
        machine = h[EI_DATA] == ELFDATA2LSB ? (unsigned) (h[18] | h[19] << 8)
                                            : (unsigned) (h[18] << 8 | h[19]);
        a = core_arch_name(machine, h[EI_CLASS], h[EI_DATA]);
        return a ? strdup(a) : NULL;
}

/* A bare core: what is not given comes from the local system where that is possible. */
static int crash_from_core(Crash *c, const CrashSource *o)
{
        int r;

        if (!o->executable)
                return log_error_errno(EINVAL,
                                       "--core needs --executable (the crashed program's absolute path)");
        c->package = o->package ? strdup(o->package) : NULL;
        if (!c->package) {
                _cleanup_free_ char *cmd = NULL;
                char buf[256];
                FILE *p;

                if (asprintf(&cmd, "rpm -qf --qf '%%{NAME}-%%{VERSION}-%%{RELEASE}' -- '%s' 2>/dev/null",
                             o->executable) < 0)
                        return -ENOMEM;
                p = popen(cmd, "re");
                if (p && fgets(buf, sizeof(buf), p) && pclose(p) == 0)
                        c->package = strdup(string_strip(buf));
                else {
                        if (p)
                                (void) pclose(p);
                        return log_error_errno(EINVAL,
                                               "Cannot tell which package owns %s: give --package N-V-R",
                                               o->executable);
                }
        }
        if (o->os_release)
                c->os_release = strdup(o->os_release);
        else
                c->os_info = read_text("/etc", "os-release", 8192);
        c->arch = o->arch ? strdup(o->arch) : core_arch(o->core);
        if (!c->arch)
                return log_error_errno(EINVAL, "%s is not an ELF core file (or give --arch)", o->core);
        r = crash_add(c, "coredump", o->core, NULL);
        if (r >= 0)
                r = crash_add(c, "executable", NULL, o->executable);
        if (r >= 0)
                r = crash_add(c, "package", NULL, c->package);
        if (r >= 0 && c->os_release)
                r = crash_add(c, "os_release", NULL, c->os_release);
        if (r >= 0 && c->os_info)
                r = crash_add(c, "os_info", NULL, c->os_info);
        return r;
}

/* Runs argv (no shell), its stdout into out (may be NULL); returns its exit status or -errno. */
static int run_program(char *const *argv, char **out)
{
        int pipefd[2], status;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                (void) dup2(pipefd[1], STDOUT_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        (void) close(pipefd[1]);
        if (out) {
                if (fd_read_full(pipefd[0], 1 << 20, out, NULL) < 0)
                        *out = NULL;
        }
        (void) close(pipefd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The value after "Key:" in `coredumpctl info` output, or NULL. */
static char *info_value(const char *info, const char *key)
{
        size_t kl = strlen(key);

        for (const char *l = info; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                const char *p = l + strspn(l, " ");

                if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
                        p += kl + 1;
                        p += strspn(p, " ");
                        return strndup(p, strcspn(p, "\n"));
                }
        }
        return NULL;
}

/* A systemd-coredump entry: `coredumpctl info` for the program and package, `coredumpctl dump`
 * for the core; the rest as for a bare core. */
static int crash_from_coredumpctl(Crash *c, CrashSource *o)
{
        _cleanup_free_ char *info = NULL, *out = NULL, *exe = NULL, *pkg = NULL, *core = NULL;
        char tmpl[] = "/tmp/retrace-client.XXXXXX";
        int r;

        r = run_program((char *const[]){ (char *) "coredumpctl", (char *) "info", (char *) "--no-pager",
                                         (char *) o->coredumpctl, NULL },
                        &info);
        if (r != 0 || !info)
                return log_error_errno(ENOENT,
                                       "coredumpctl info %s failed (%d): no such entry, or no "
                                       "systemd-coredump here",
                                       o->coredumpctl, r);
        exe = info_value(info, "Executable");
        if (!exe)
                return log_error_errno(EBADMSG, "coredumpctl info %s names no executable", o->coredumpctl);
        pkg = info_value(info, "Package");
        if (pkg) {
                /* "name/version-release" (systemd's package notes) → "name-version-release" */
                char *slash = strchr(pkg, '/');
                if (slash)
                        *slash = '-';
        }
        if (!mkdtemp(tmpl))
                return -errno;
        c->tmpdir = strdup(tmpl);
        core = path_join(tmpl, "coredump");
        if (!c->tmpdir || !core)
                return -ENOMEM;
        if (asprintf(&out, "--output=%s", core) < 0)
                return -ENOMEM;
        r = run_program((char *const[]){ (char *) "coredumpctl", (char *) "dump", (char *) "--no-pager", out,
                                         (char *) o->coredumpctl, NULL },
                        NULL);
        if (r != 0 || access(core, R_OK) < 0)
                return log_error_errno(EIO, "coredumpctl dump %s failed (%d): the core is gone?",
                                       o->coredumpctl, r);
        o->core = core;
        o->executable = o->executable ?: exe;
        o->package = o->package ?: pkg;
        r = crash_from_core(c, o);
        o->core = NULL; /* points into c->tmpdir */
        if (o->executable == exe)
                o->executable = NULL;
        if (o->package == pkg)
                o->package = NULL;
        return r;
}

/* tar | xz -2, into an anonymous temporary file. */
int crash_archive(const Crash *c, FILE **ret, uint64_t *ret_size)
{
        _cleanup_fclose_ FILE *f = tmpfile();
        struct archive *a = archive_write_new();
        int r = 0;

        if (!f || !a || archive_write_set_format_gnutar(a) != ARCHIVE_OK ||
            archive_write_add_filter_xz(a) != ARCHIVE_OK ||
            archive_write_set_filter_option(a, "xz", "compression-level", "2") != ARCHIVE_OK ||
            archive_write_open_FILE(a, f) != ARCHIVE_OK) {
                archive_write_free(a);
                return -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && c->names[i]; i++) {
                struct archive_entry *e = archive_entry_new();
                _cleanup_fclose_ FILE *in = NULL;
                struct stat st = {};

                if (!isempty(c->paths[i])) {
                        in = fopen(c->paths[i], "re");
                        if (!in || fstat(fileno(in), &st) < 0)
                                r = log_error_errno(errno, "Cannot read %s: %m", c->paths[i]);
                } else
                        st.st_size = (off_t) strlen(c->texts[i]);
                if (r >= 0) {
                        archive_entry_set_pathname(e, c->names[i]);
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, 0644);
                        archive_entry_set_size(e, st.st_size);
                        if (archive_write_header(a, e) != ARCHIVE_OK)
                                r = -EIO;
                }
                if (r >= 0 && in) {
                        char buf[1 << 16];
                        size_t n;

                        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
                                if (archive_write_data(a, buf, n) != (la_ssize_t) n) {
                                        r = -EIO;
                                        break;
                                }
                } else if (r >= 0 && archive_write_data(a, c->texts[i], strlen(c->texts[i])) < 0)
                        r = -EIO;
                archive_entry_free(e);
        }
        if (archive_write_close(a) != ARCHIVE_OK && r >= 0)
                r = -EIO;
        archive_write_free(a);
        if (r < 0)
                return r;
        if (fflush(f) != 0 || fseeko(f, 0, SEEK_END) != 0)
                return -errno;
        *ret_size = (uint64_t) ftello(f);
        rewind(f);
        *ret = TAKE_PTR(f);
        return 0;
}

int crash_gather(Crash *c, CrashSource *o)
{
        return o->dir           ? crash_from_dir(c, o->dir)
               : o->coredumpctl ? crash_from_coredumpctl(c, o)
                                : crash_from_core(c, o);
}
