/* SPDX-License-Identifier: GPL-2.0-or-later */
/* retrace-client: ABRT's retrace client for the command line, speaking PROTOCOL.md to any server. */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client-release.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-parse.h"
#include "common-path.h"
#include "common-string.h"
#include "daemon-core.h"

#define MAX_RESPONSE (256u << 20)

typedef struct Options {
        const char *url;
        bool insecure;
        unsigned status_delay;
        bool pkgcheck;
        const char *dir, *core, *coredumpctl, *executable, *package, *os_release, *arch;
        const char *task, *password;
} Options;

typedef struct Response {
        long status;
        char *body;
        size_t len;
        char *task_id, *task_password, *task_status;
        bool too_large;
} Response;

static void response_done(Response *r)
{
        free(r->body);
        free(r->task_id);
        free(r->task_password);
        free(r->task_status);
        *r = (Response){};
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
        Response *r = userdata;
        size_t len = size * n;
        char *nb;

        if (r->len + len > MAX_RESPONSE) {
                r->too_large = true;
                return 0;
        }
        nb = realloc(r->body, r->len + len + 1);
        if (!nb)
                return 0;
        r->body = nb;
        memcpy(r->body + r->len, data, len);
        r->len += len;
        r->body[r->len] = '\0';
        return len;
}

/* Keeps the X-Task-* headers of the answer. */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        static const char *const names[] = { "X-Task-Id:", "X-Task-Password:", "X-Task-Status:" };
        Response *r = userdata;
        size_t len = size * n;
        char **fields[] = { &r->task_id, &r->task_password, &r->task_status };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                size_t nl = strlen(names[i]);

                if (len > nl && strncasecmp(data, names[i], nl) == 0) {
                        free(*fields[i]);
                        *fields[i] = strndup(data + nl, len - nl);
                        if (*fields[i])
                                string_strip(*fields[i]);
                }
        }
        return len;
}

static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
        if (ultotal > 0)
                fprintf(stderr, "\rUploading: %3d%% (%.1f of %.1f MiB)", (int) (ulnow * 100 / ultotal),
                        (double) ulnow / (1 << 20), (double) ultotal / (1 << 20));
        return 0;
}

/* One request; headers NULL-terminated "Name: value" strings; upload is sent as the POST body. */
static int request(const Options *o, const char *method, const char *path, const char *const *headers,
                   FILE *upload, uint64_t upload_size, Response *ret)
{
        _cleanup_free_ char *url = NULL;
        struct curl_slist *hl = NULL;
        CURL *curl = curl_easy_init();
        CURLcode cc;
        Response r = {};

        if (!curl)
                return -ENOMEM;
        url = path_join(o->url, path);
        if (!url) {
                curl_easy_cleanup(curl);
                return -ENOMEM;
        }
        for (size_t i = 0; headers && headers[i]; i++)
                hl = curl_slist_append(hl, headers[i]);
        hl = curl_slist_append(hl, "Expect:"); /* the server answers early refusals itself */
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); /* /checkpackage answers 302 */
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
        if (o->insecure) {
                curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (upload) {
                curl_easy_setopt(curl, CURLOPT_POST, 1L);
                curl_easy_setopt(curl, CURLOPT_READDATA, upload);
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) upload_size);
                if (isatty(STDERR_FILENO)) {
                        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
                        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
                }
        }
        cc = curl_easy_perform(curl);
        if (upload && isatty(STDERR_FILENO))
                fputc('\n', stderr);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
        curl_slist_free_all(hl);
        curl_easy_cleanup(curl);
        if (cc != CURLE_OK) {
                log_error("%s %s failed: %s", method, url,
                          r.too_large ? "the answer is too large" : curl_easy_strerror(cc));
                response_done(&r);
                return -EIO;
        }
        *ret = r;
        return 0;
}

/* ---------------------------------------------------------------- the crash to upload */

typedef struct Crash {
        char *package, *os_info, *os_release, *arch, *release_id;
        /* Archive members: name and where its data comes from (a file, or text). */
        char **names, **paths, **texts;
        char *tmpdir; /* holds the core exported from systemd-coredump */
} Crash;

static void crash_done(Crash *c)
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
static int crash_from_core(Crash *c, const Options *o)
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
static int crash_from_coredumpctl(Crash *c, Options *o)
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
static int crash_archive(const Crash *c, FILE **ret, uint64_t *ret_size)
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

/* ---------------------------------------------------------------- what the old client checks */

static const char *settings_value(const char *body, const char *key)
{
        size_t kl = strlen(key);

        for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
                        return l + kl + 1;
        return NULL;
}

static bool settings_list_has(const char *body, const char *key, const char *word)
{
        const char *v = settings_value(body, key);
        size_t wl = strlen(word);

        for (; v && *v && *v != '\n';) {
                size_t n = strcspn(v, " \n");

                if (n == wl && strncmp(v, word, wl) == 0)
                        return true;
                v += n;
                v += strspn(v, " ");
        }
        return false;
}

/* "rhel-9.4-x86_64" → "rhel-9-x86_64" (servers list releases by major version). */
static char *release_major(const char *id)
{
        const char *arch = strrchr(id, '-'), *dot;

        if (!arch)
                return NULL;
        dot = memchr(id, '.', (size_t) (arch - id));
        if (!dot || (const char *) memrchr(id, '-', (size_t) (arch - id)) > dot)
                return NULL;
        char *r = NULL;
        if (asprintf(&r, "%.*s%s", (int) (dot - id), id, arch) < 0)
                return NULL;
        return r;
}

static int prechecks(const Options *o, Crash *c, uint64_t archive_size)
{
        Response r = {};
        unsigned running = 0, max_running = 0;
        uint64_t max_packed = 0;
        const char *v;
        int k;

        k = request(o, "GET", "settings", NULL, NULL, 0, &r);
        if (k < 0)
                return k;
        if (r.status != 200 || !r.body) {
                log_error("%s/settings answered %ld: is this a Retrace Server?", o->url, r.status);
                response_done(&r);
                return -EPROTO;
        }
        if ((v = settings_value(r.body, "running_tasks")))
                (void) sscanf(v, "%u", &running);
        if ((v = settings_value(r.body, "max_running_tasks")))
                (void) sscanf(v, "%u", &max_running);
        if ((v = settings_value(r.body, "max_packed_size")))
                (void) sscanf(v, "%" SCNu64, &max_packed);
        k = 0;
        if (max_running > 0 && running >= max_running)
                k = log_error_errno(EBUSY, "The server is fully loaded (%u of %u tasks): try again later",
                                    running, max_running);
        else if (max_packed > 0 && archive_size > max_packed << 20)
                k = log_error_errno(
                        EFBIG,
                        "The crash archive (%.1f MiB) is larger than the server accepts (%" PRIu64 " MiB)",
                        (double) archive_size / (1 << 20), max_packed);
        else if (!settings_list_has(r.body, "supported_formats", "application/x-xz-compressed-tar"))
                k = log_error_errno(EPROTO, "The server does not accept xz-compressed tar archives");
        else if (!settings_list_has(r.body, "supported_releases", c->release_id)) {
                _cleanup_free_ char *major = release_major(c->release_id);

                if (major && settings_list_has(r.body, "supported_releases", major)) {
                        free(c->release_id);
                        c->release_id = TAKE_PTR(major);
                } else {
                        v = settings_value(r.body, "supported_releases");
                        k = log_error_errno(ENOTSUP,
                                            "Release %s is not supported by the server (it supports: %.*s)",
                                            c->release_id, v ? (int) strcspn(v, "\n") : 4, v ?: "none");
                }
        }
        response_done(&r);
        if (k < 0 || !o->pkgcheck)
                return k;

        {
                _cleanup_free_ char *h1 = NULL, *h2 = NULL, *h3 = NULL;
                const char *headers[4] = {};

                if (asprintf(&h1, "X-Package-NVR: %s", c->package) < 0 ||
                    asprintf(&h2, "X-Package-Arch: %s", c->arch) < 0 ||
                    asprintf(&h3, "X-OS-Release: %s", c->release_id) < 0)
                        return -ENOMEM;
                headers[0] = h1;
                headers[1] = h2;
                headers[2] = h3;
                k = request(o, "GET", "checkpackage", headers, NULL, 0, &r);
                if (k < 0)
                        return k;
                if (r.status != 302)
                        k = log_error_errno(ENOPKG,
                                            "The server does not know package %s.%s for %s (answer %ld); "
                                            "--no-pkgcheck uploads anyway",
                                            c->package, c->arch, c->release_id, r.status);
                response_done(&r);
                return k;
        }
}

/* ---------------------------------------------------------------- commands */

static int task_get(const Options *o, const char *task, const char *password, const char *what,
                    Response *ret)
{
        _cleanup_free_ char *path = NULL, *h = NULL;
        const char *headers[2] = {};

        if (asprintf(&path, "%s%s%s", task, what ? "/" : "", strempty(what)) < 0 ||
            asprintf(&h, "X-Task-Password: %s", password) < 0)
                return -ENOMEM;
        headers[0] = h;
        return request(o, "GET", path, headers, NULL, 0, ret);
}

static int cmd_create(Options *o, char **ret_task, char **ret_password)
{
        _cleanup_fclose_ FILE *archive = NULL;
        _cleanup_(crash_done) Crash c = {};
        uint64_t size;
        Response r = {};
        static const char *const headers[] = { "Content-Type: application/x-xz-compressed-tar",
                                               "X-Task-Type: 0", NULL };
        int k;

        k = o->dir           ? crash_from_dir(&c, o->dir)
            : o->coredumpctl ? crash_from_coredumpctl(&c, o)
                             : crash_from_core(&c, o);
        if (k < 0)
                return k;
        k = client_release_id(c.os_info, c.os_release, c.arch, &c.release_id);
        if (k < 0)
                return log_error_errno(
                        k, "Cannot tell the crash's release: give --os-release \"NAME release VERSION\"");
        k = crash_archive(&c, &archive, &size);
        if (k < 0)
                return log_error_errno(k, "Cannot pack the crash data: %m");
        k = prechecks(o, &c, size);
        if (k < 0)
                return k;
        k = request(o, "POST", "create", (const char *const *) headers, archive, size, &r);
        if (k < 0)
                return k;
        if (r.status != 201 || !r.task_id || !r.task_password) {
                log_error("The server refused the crash (%ld): %s", r.status,
                          r.body ? string_strip(r.body) : "");
                response_done(&r);
                return -EPROTO;
        }
        printf("Task Id: %s\nTask Password: %s\n", r.task_id, r.task_password);
        fflush(stdout);
        *ret_task = TAKE_PTR(r.task_id);
        *ret_password = TAKE_PTR(r.task_password);
        response_done(&r);
        return 0;
}

static int cmd_show(const Options *o, const char *what)
{
        Response r = {};
        int k = task_get(o, o->task, o->password, what, &r);

        if (k < 0)
                return k;
        if (r.status != 200) {
                log_error("%s/%s%s%s: %ld %s", o->url, o->task, what ? "/" : "", strempty(what), r.status,
                          r.body ? string_strip(r.body) : "");
                response_done(&r);
                return -ENOENT;
        }
        if (!what)
                printf("%s\n%s", strna(r.task_status), strempty(r.body));
        else
                fwrite(r.body, 1, r.len, stdout);
        response_done(&r);
        return 0;
}

static int cmd_batch(Options *o)
{
        _cleanup_free_ char *task = NULL, *password = NULL, *last = NULL;
        Response r = {};
        int k;

        k = cmd_create(o, &task, &password);
        if (k < 0)
                return k;
        for (;;) {
                k = task_get(o, task, password, NULL, &r);
                if (k < 0)
                        return k;
                if (r.status != 200 || !r.task_status) {
                        log_error("Task %s: status request answered %ld", task, r.status);
                        response_done(&r);
                        return -EPROTO;
                }
                if (r.body)
                        string_strip(r.body);
                if (r.body && (!last || !streq(last, r.body))) {
                        free(last);
                        last = strdup(r.body);
                        printf("%s\n", r.body);
                        fflush(stdout);
                }
                if (string_startswith(r.task_status, "FINISHED"))
                        break;
                response_done(&r);
                sleep(o->status_delay);
        }
        if (streq(r.task_status, "FINISHED_SUCCESS")) {
                response_done(&r);
                k = task_get(o, task, password, "backtrace", &r);
                if (k >= 0 && r.status == 200)
                        fwrite(r.body, 1, r.len, stdout);
                response_done(&r);
                if (task_get(o, task, password, "exploitable", &r) >= 0 && r.status == 200)
                        printf("\n%s", strempty(r.body));
                response_done(&r);
                return k;
        }
        response_done(&r);
        if (task_get(o, task, password, "log", &r) >= 0 && r.status == 200)
                fwrite(r.body, 1, r.len, stderr);
        response_done(&r);
        return log_error_errno(EPROTO, "The retrace failed; the task log is above");
}

static void help(void)
{
        printf("retrace-client [OPTIONS] batch|create (--dir DIR | --core FILE --executable PATH [--package "
               "N-V-R]\n"
               "                                        [--os-release TEXT] [--arch ARCH])\n"
               "retrace-client [OPTIONS] status|backtrace|log|exploitable --task ID --password PASSWORD\n\n"
               "  --url URL            the server (default $RETRACE_SERVER_URI, else "
               "http://127.0.0.1:8080/)\n"
               "  --insecure           do not verify the server's TLS certificate "
               "($RETRACE_SERVER_INSECURE)\n"
               "  --status-delay SEC   seconds between status requests (default 10)\n"
               "  --no-pkgcheck        upload even when the server does not know the package\n");
}

int main(int argc, char *argv[])
{
        enum { ARG_NO_PKGCHECK = 0x100, ARG_STATUS_DELAY, ARG_INSECURE };
        static const struct option options[] = {
                { "url", required_argument, NULL, 'u' },
                { "insecure", no_argument, NULL, ARG_INSECURE },
                { "status-delay", required_argument, NULL, ARG_STATUS_DELAY },
                { "no-pkgcheck", no_argument, NULL, ARG_NO_PKGCHECK },
                { "dir", required_argument, NULL, 'd' },
                { "core", required_argument, NULL, 'c' },
                { "coredumpctl", required_argument, NULL, 'C' },
                { "executable", required_argument, NULL, 'e' },
                { "package", required_argument, NULL, 'p' },
                { "os-release", required_argument, NULL, 'r' },
                { "arch", required_argument, NULL, 'a' },
                { "task", required_argument, NULL, 't' },
                { "password", required_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *env = getenv("RETRACE_SERVER_INSECURE");
        Options o = { .url = getenv("RETRACE_SERVER_URI"), .status_delay = 10, .pkgcheck = true };
        _cleanup_free_ char *task = NULL, *password = NULL;
        const char *cmd;
        int c, k;

        log_set_program("retrace-client");
        o.insecure = env && !isempty(env) && !streq(env, "0") && !streq(env, "no");
        if (isempty(o.url))
                o.url = "http://127.0.0.1:8080/";
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'u':
                        o.url = optarg;
                        break;
                case ARG_INSECURE:
                        o.insecure = true;
                        break;
                case ARG_STATUS_DELAY:
                        if (parse_uint(optarg, &o.status_delay) < 0) {
                                log_error("--status-delay takes a number of seconds");
                                return EXIT_FAILURE;
                        }
                        break;
                case ARG_NO_PKGCHECK:
                        o.pkgcheck = false;
                        break;
                case 'd':
                        o.dir = optarg;
                        break;
                case 'c':
                        o.core = optarg;
                        break;
                case 'C':
                        o.coredumpctl = optarg;
                        break;
                case 'e':
                        o.executable = optarg;
                        break;
                case 'p':
                        o.package = optarg;
                        break;
                case 'r':
                        o.os_release = optarg;
                        break;
                case 'a':
                        o.arch = optarg;
                        break;
                case 't':
                        o.task = optarg;
                        break;
                case 'P':
                        o.password = optarg;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (optind + 1 != argc) {
                log_error(
                        "Give one command (batch, create, status, backtrace, log, exploitable); see --help");
                return EXIT_FAILURE;
        }
        cmd = argv[optind];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (streq(cmd, "create") || streq(cmd, "batch")) {
                if ((o.dir != NULL) + (o.core != NULL) + (o.coredumpctl != NULL) != 1) {
                        log_error("%s needs one of --dir DIR, --core FILE, --coredumpctl MATCH", cmd);
                        return EXIT_FAILURE;
                }
                k = streq(cmd, "batch") ? cmd_batch(&o) : cmd_create(&o, &task, &password);
        } else if (streq(cmd, "status") || streq(cmd, "backtrace") || streq(cmd, "log") ||
                   streq(cmd, "exploitable")) {
                if (!o.task || !o.password) {
                        log_error("%s needs --task ID and --password PASSWORD", cmd);
                        return EXIT_FAILURE;
                }
                k = cmd_show(&o, streq(cmd, "status") ? NULL : cmd);
        } else {
                log_error("Unknown command '%s'; see --help", cmd);
                return EXIT_FAILURE;
        }
        curl_global_cleanup();
        return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
