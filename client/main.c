/* SPDX-License-Identifier: GPL-2.0-or-later */
/* retrace-client: ABRT's retrace client for the command line, speaking PROTOCOL.md to any server. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client-crash.h"
#include "client-interact.h"
#include "client-release.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-parse.h"
#include "common-path.h"
#include "common-string.h"

#define MAX_RESPONSE (256u << 20)

typedef struct Options {
        const char *url;
        bool insecure;
        unsigned status_delay;
        bool fixed_delay; /* --status-delay or ABRT_STATUS_DELAY: no backoff */
        bool pkgcheck;
        CrashSource src;
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

        k = crash_gather(&c, &o->src);
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

        /* Without a given delay: 0.25 s, doubling up to status_delay, so that a fast task is seen
         * quickly and a slow one is not polled often. */
        uint64_t max_ms = (uint64_t) o->status_delay * 1000,
                 wait_ms = o->fixed_delay ? max_ms : MIN(250u, max_ms);

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
                (void) nanosleep(&(struct timespec){ .tv_sec = (time_t) (wait_ms / 1000),
                                                     .tv_nsec = (long) (wait_ms % 1000) * 1000000L },
                                 NULL);
                wait_ms = MIN(wait_ms * 2, max_ms);
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

/* POST /<id>/interact for a token, then the terminal on the session's WebSocket. */
static int cmd_interact(const Options *o)
{
        _cleanup_free_ char *path = NULL, *h = NULL;
        _cleanup_(json_decrefp) json_t *doc = NULL;
        const char *headers[2] = {};
        const char *token;
        Response r = {};
        CURL *curl;
        int k;

        if (asprintf(&path, "%s/interact", o->task) < 0 ||
            asprintf(&h, "X-Task-Password: %s", o->password) < 0)
                return -ENOMEM;
        headers[0] = h;
        k = request(o, "POST", path, headers, NULL, 0, &r);
        if (k < 0)
                return k;
        if (r.status != 201) {
                log_error("The server refused the session (%ld): %s", r.status,
                          r.body ? string_strip(r.body) : "");
                response_done(&r);
                return -EACCES;
        }
        doc = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
        response_done(&r);
        token = json_string_value(json_object_get(doc, "token"));
        if (!token || strlen(token) > 256 || !string_in_charset(token, "0123456789abcdefABCDEF"))
                return log_error_errno(EPROTO, "The server's answer carries no session token");
        curl = curl_easy_init();
        if (!curl)
                return -ENOMEM;
        if (o->insecure) {
                curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        k = client_interact(curl, o->url, o->task, token);
        curl_easy_cleanup(curl);
        return k;
}

static void help(void)
{
        printf("retrace-client [OPTIONS] batch|create (--dir DIR | --core FILE --executable PATH [--package "
               "N-V-R]\n"
               "                                        [--os-release TEXT] [--arch ARCH])\n"
               "retrace-client [OPTIONS] status|backtrace|log|exploitable --task ID --password PASSWORD\n"
               "retrace-client [OPTIONS] interact ID --password PASSWORD   (the task's debugger on this "
               "terminal)\n\n"
               "  --url URL            the server (default $RETRACE_SERVER_URI, else "
               "http://127.0.0.1:8080/)\n"
               "  --insecure           do not verify the server's TLS certificate "
               "($RETRACE_SERVER_INSECURE)\n"
               "  --status-delay SEC   seconds between status requests ($ABRT_STATUS_DELAY; default: from "
               "0.25 s\n"
               "                       doubling up to 10)\n"
               "  --no-pkgcheck        upload even when the server does not know the package\n");
}

/* Long: one switch over the options and their checks, read top to bottom like the usage text. */
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
        env = getenv("ABRT_STATUS_DELAY");
        if (!isempty(env)) {
                if (parse_uint(env, &o.status_delay) < 0) {
                        log_error("ABRT_STATUS_DELAY takes a number of seconds");
                        return EXIT_FAILURE;
                }
                o.fixed_delay = true;
        }
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
                        o.fixed_delay = true;
                        break;
                case ARG_NO_PKGCHECK:
                        o.pkgcheck = false;
                        break;
                case 'd':
                        o.src.dir = optarg;
                        break;
                case 'c':
                        o.src.core = optarg;
                        break;
                case 'C':
                        o.src.coredumpctl = optarg;
                        break;
                case 'e':
                        o.src.executable = optarg;
                        break;
                case 'p':
                        o.src.package = optarg;
                        break;
                case 'r':
                        o.src.os_release = optarg;
                        break;
                case 'a':
                        o.src.arch = optarg;
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
        if (optind + 2 == argc && streq(argv[optind], "interact") && !o.task)
                o.task = argv[optind + 1]; /* interact ID */
        else if (optind + 1 != argc) {
                log_error("Give one command (batch, create, status, backtrace, log, exploitable, interact); "
                          "see "
                          "--help");
                return EXIT_FAILURE;
        }
        cmd = argv[optind];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (streq(cmd, "create") || streq(cmd, "batch")) {
                if ((o.src.dir != NULL) + (o.src.core != NULL) + (o.src.coredumpctl != NULL) != 1) {
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
        } else if (streq(cmd, "interact")) {
                if (!o.task || !o.password) {
                        log_error("interact needs the task's ID and --password PASSWORD");
                        return EXIT_FAILURE;
                }
                k = cmd_interact(&o);
        } else {
                log_error("Unknown command '%s'; see --help", cmd);
                return EXIT_FAILURE;
        }
        curl_global_cleanup();
        return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
