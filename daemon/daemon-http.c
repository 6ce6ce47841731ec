/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HTTP API of PROTOCOL.md on libmicrohttpd: uploads stream to a spool file under the size limits,
 * are unpacked with the archive rules, and become tasks; per-task requests check the password. Also
 * the Web UI: its static files from WebUIDir, a JSON status per task, and the task manager's API. */
#include "daemon-http.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "common-fd.h"
#include "common-file.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-parse.h"
#include "common-path.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-archive.h"
#include "daemon-crashdata.h"
#include "daemon-archive-tasks.h"
#include "daemon-http-parse.h"
#include "daemon-http-private.h"
#include "daemon-http-render.h"
#include "daemon-remote.h"
#include "daemon-taskdir.h"

#define MAX_RESULT_SIZE  (256ULL << 20) /* a backtrace or log served from a task directory */
#define MAX_STATIC_SIZE  (2ULL << 20)   /* one file of the Web UI */
#define MAX_LIST_TASKS   500            /* rows of one task manager list */
#define MAX_QUERY_LENGTH 64             /* the task manager's filter text */

/* The Web UI loads only its own files: no inline script or style, nothing from elsewhere. */
#define CONTENT_SECURITY_POLICY                                                                         \
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " \
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

/* Every answer carries these: the pages are strict about what they load, nothing is framed or
 * sniffed, and no answer (task data is private) is kept in a shared cache. */
enum MHD_Result queue_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
        static const char *const headers[][2] = {
                { "Content-Security-Policy", CONTENT_SECURITY_POLICY },
                { "X-Content-Type-Options", "nosniff" },
                { "X-Frame-Options", "DENY" },
                { "Referrer-Policy", "no-referrer" },
                { "Cross-Origin-Opener-Policy", "same-origin" },
                { "Cross-Origin-Resource-Policy", "same-origin" },
                { "Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()" },
        };

        const union MHD_ConnectionInfo *tls;

        for (size_t i = 0; i < ELEMENTSOF(headers); i++)
                (void) MHD_add_response_header(r, headers[i][0], headers[i][1]);
        /* Served over our own TLS: browsers should not come back over plain HTTP. */
        tls = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (tls && tls->tls_session)
                (void) MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
        if (!MHD_get_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL))
                (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        return MHD_queue_response(c, status, r);
}

static const char *const refusal_names[_REFUSAL_MAX] = {
        [REFUSAL_HTTPS] = "https_required",
        [REFUSAL_FULL] = "queue_full",
        [REFUSAL_METHOD] = "method",
        [REFUSAL_CONTENT_TYPE] = "content_type",
        [REFUSAL_NO_LENGTH] = "no_content_length",
        [REFUSAL_PACKED_SIZE] = "packed_size",
        [REFUSAL_DISK] = "disk_full",
        [REFUSAL_UNPACKED_SIZE] = "unpacked_size",
        [REFUSAL_MALICIOUS] = "malicious",
        [REFUSAL_BAD_ARCHIVE] = "bad_archive",
        [REFUSAL_TYPE] = "task_type",
        [REFUSAL_MISSING_FILE] = "missing_file",
        [REFUSAL_STORE] = "store_unavailable",
};

enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *format, ...)
{
        _cleanup_free_ char *body = NULL;
        struct MHD_Response *r;
        enum MHD_Result ret;
        va_list ap;
        int n;

        va_start(ap, format);
        n = vasprintf(&body, format, ap);
        va_end(ap);
        if (n < 0)
                return MHD_NO;
        r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        ret = queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

enum MHD_Result refuse(HttpServer *s, struct MHD_Connection *c, Refusal why, unsigned status,
                       const char *message)
{
        __atomic_add_fetch(&s->refused[why], 1, __ATOMIC_RELAXED);
        return respond(c, status, "%s\n", message);
}

bool request_is_https(HttpServer *s, struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *info;
        const char *proto;

        info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_PROTOCOL);
        if (info && info->protocol != 0)
                return true;
        /* Behind a trusted reverse proxy, the proxy says how the client connected. */
        proto = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-Proto");
        if (!proto || strcasecmp(proto, "https") != 0 || isempty(s->config->trusted_proxy))
                return false;
        info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!info || !info->client_addr)
                return false;
        return address_matches(info->client_addr, s->config->trusted_proxy);
}

static enum MHD_Result serve_result(HttpServer *s, struct MHD_Connection *c, uint64_t id, const char *name)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        size_t len;
        int r;

        if (task_dir_open_part(s->save_dirfd, id, TASK_PART_RESULTS, false, &dfd) < 0)
                return respond(c, MHD_HTTP_NOT_FOUND, "The task has no %s (yet)\n", name);
        r = file_read_at(dfd, name, MAX_RESULT_SIZE, &buf, &len);
        if (r == -ENOENT)
                return respond(c, MHD_HTTP_NOT_FOUND, "The task has no %s (yet)\n", name);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot read the %s\n", name);
        resp = MHD_create_response_from_buffer(len, TAKE_PTR(buf), MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                       string_endswith(name, ".json") ? "application/json"
                                                                      : "text/plain; charset=utf-8");
        ret = queue_response(c, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* An answer with a body the caller allocated (taken over) and a content type. */
enum MHD_Result respond_buffer(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                               const char *type, const char *cache_control)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        if (cache_control)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control);
        ret = queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* The start of RetryMissingDebuginfo's window: tasks waiting since then. */
static int64_t waiting_since(const RetraceConfig *cfg)
{
        return now_realtime_usec() - (int64_t) cfg->retry_missing_debuginfo * 1000000;
}

/* "waiting for debuginfo of MODULE (build-id …), … in RELEASE", NULL when the task does not wait. */
static char *waiting_text(HttpServer *s, uint64_t id)
{
        WaitingTask *w = NULL;
        char *text = NULL;

        if (s->config->retry_missing_debuginfo > 0 &&
            task_store_get_waiting(s->store, id, waiting_since(s->config), &w) >= 0) {
                _cleanup_free_ char *list = strv_join(w[0].modules, ", ");

                if (asprintf(&text, "waiting for debuginfo of %s in %s", strna(list), w[0].release) < 0)
                        text = NULL;
                waiting_tasks_free(w, 1);
        }
        return text;
}

/* GET /<id>/status: the task as JSON for the Web UI, with the start of each stage (seconds since the
 * epoch, the server's clock in "now" so that the page can count the running stage on). */
static enum MHD_Result handle_task_status(HttpServer *s, struct MHD_Connection *c, const Task *t)
{
        _cleanup_free_ char *body = NULL, *bucket = NULL,
                            *waiting = t->status != TASK_STATUS_PENDING ? waiting_text(s, t->id) : NULL;
        TaskStage *stages = NULL;
        size_t n_stages = 0, len;
        uint64_t others = 0;
        RemoteProgress progress;
        bool fetching = t->status == TASK_STATUS_PENDING &&
                        remote_progress_read(s->save_dirfd, t->id, &progress) >= 0;
        bool has[3] = {
                task_dir_has_result(s->save_dirfd, t->id, "backtrace"),
                task_dir_has_result(s->save_dirfd, t->id, "log"),
                task_dir_has_result(s->save_dirfd, t->id, "exploitable"),
        };
        int r;

        r = task_store_list_stages(s->store, t->id, &stages, &n_stages);
        if (r == -ENOTCONN) /* the shared store went away after the check in route() */
                return respond_store_unavailable(c);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot read task %" PRIu64 "\n", t->id);
        (void) task_store_bucket(s->store, t->id, &bucket, &others);
        r = render_task_status(t, stages, n_stages, now_realtime_usec(), has, bucket, others, waiting,
                               fetching ? &progress : NULL, &body);
        task_stages_free(stages, n_stages);
        if (r < 0)
                return MHD_NO;
        len = strlen(body);
        return respond_buffer(c, MHD_HTTP_OK, TAKE_PTR(body), len, "application/json", NULL);
}

/* 429 for a password check over the budget of failures (PasswordFailuresPerAddress,
 * PasswordFailuresTotal): no check is made, the client is told when to try again. */
#define TOO_MANY_PASSWORDS "Too many wrong passwords; try again later\n"

enum MHD_Result respond_too_many(struct MHD_Connection *c, unsigned retry_after, const char *body)
{
        struct MHD_Response *r;
        enum MHD_Result ret;
        char seconds[16];

        r = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
        if (!r)
                return MHD_NO;
        (void) snprintf(seconds, sizeof(seconds), "%u", retry_after);
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        ret = queue_response(c, MHD_HTTP_TOO_MANY_REQUESTS, r);
        MHD_destroy_response(r);
        return ret;
}

static bool hex_equal_ct(const char *hex, const uint8_t *digest, size_t n)
{
        static const char digits[] = "0123456789abcdef";
        uint8_t diff = 0;

        if (strlen(hex) != n * 2)
                return false;
        for (size_t i = 0; i < n; i++) {
                diff |= (uint8_t) ((hex[2 * i] | 0x20) ^ digits[digest[i] >> 4]);
                diff |= (uint8_t) ((hex[2 * i + 1] | 0x20) ^ digits[digest[i] & 15]);
        }
        return diff == 0;
}

/* The task manager's credential: header X-Manager-Password against TaskManagerPassword, which holds
 * "sha256:" and the hex digest of the password, or the password itself. Compared in constant time;
 * answers and returns false when the request may not use the task manager. */
bool http_manager_authorized(HttpServer *s, struct MHD_Connection *c, enum MHD_Result *ret)
{
        const char *configured = s->config->task_manager_password, *given, *hex;
        uint8_t a[32], b[32], diff = 0;
        unsigned retry_after = 0;
        bool ok;

        if (!s->config->allow_task_manager) {
                *ret = respond(c, MHD_HTTP_FORBIDDEN, "The task manager is not enabled on this server\n");
                return false;
        }
        if (isempty(configured)) {
                *ret = respond(c, MHD_HTTP_FORBIDDEN,
                               "The task manager has no TaskManagerPassword in the configuration\n");
                return false;
        }
        given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Manager-Password");
        if (isempty(given) || strlen(given) > 256) {
                *ret = respond(c, MHD_HTTP_FORBIDDEN, "The X-Manager-Password header is missing\n");
                return false;
        }
        if (!http_guard_password_begin(s->guard, c, &retry_after)) {
                *ret = respond_too_many(c, retry_after, TOO_MANY_PASSWORDS);
                return false;
        }
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, given, strlen(given), a) < 0) {
                http_guard_password_end(s->guard, c, true, NULL);
                *ret = MHD_NO;
                return false;
        }
        hex = string_startswith(configured, "sha256:");
        if (hex)
                ok = hex_equal_ct(hex, a, sizeof(a));
        else {
                if (gnutls_hash_fast(GNUTLS_DIG_SHA256, configured, strlen(configured), b) < 0) {
                        http_guard_password_end(s->guard, c, true, NULL);
                        *ret = MHD_NO;
                        return false;
                }
                for (size_t i = 0; i < sizeof(a); i++)
                        diff |= a[i] ^ b[i];
                ok = diff == 0;
        }
        /* Guessing is bounded by the budget of failures, not by sleeping in a connection slot. */
        http_guard_password_end(s->guard, c, ok, "task manager password");
        if (!ok) {
                *ret = respond(c, MHD_HTTP_FORBIDDEN, "Wrong task manager password\n");
                return false;
        }
        return true;
}

static enum MHD_Result task_delete(HttpServer *s, struct MHD_Connection *c, uint64_t id, const char *how)
{
        if (s->task_delete)
                s->task_delete(s->userdata, id, how);
        return respond(c, MHD_HTTP_OK, "Task %" PRIu64 " deleted\n", id);
}

/* The task manager runs a finished task again: its results go, the upload stays. */
static enum MHD_Result task_restart(HttpServer *s, struct MHD_Connection *c, uint64_t id)
{
        int r;

        r = task_store_restart(s->store, id);
        if (r == -EBUSY)
                return respond(c, MHD_HTTP_CONFLICT, "Task %" PRIu64 " has not finished yet\n", id);
        if (r == -ENOENT)
                return respond(c, MHD_HTTP_NOT_FOUND, "There is no task %" PRIu64 "\n", id);
        if (r == -ENOTCONN) /* the shared store went away after the check in route() */
                return respond_store_unavailable(c);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot restart task %" PRIu64 "\n", id);
        (void) task_dir_remove_results(s->config->save_dir, id);
        if (s->task_created)
                s->task_created(s->userdata, id);
        log_info("Task %" PRIu64 " restarted from the task manager", id);
        return respond(c, MHD_HTTP_OK, "Task %" PRIu64 " restarted\n", id);
}

/* /<id>[/action] with the task's password, or /manager/<id>[/action] with the task manager's. */
bool check_task_password(HttpServer *s, struct MHD_Connection *c, uint64_t id, enum MHD_Result *ret)
{
        const char *password = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Task-Password");
        unsigned retry_after = 0;
        int r;

        if (!password || strlen(password) > 256) {
                *ret = respond(c, MHD_HTTP_FORBIDDEN, "The X-Task-Password header is missing\n");
                return false;
        }
        if (!http_guard_password_begin(s->guard, c, &retry_after)) {
                *ret = respond_too_many(c, retry_after, TOO_MANY_PASSWORDS);
                return false;
        }
        r = task_store_check_password(s->store, id, password);
        {
                char what[64];

                /* Only a wrong password counts against the budget, not a store error. */
                (void) snprintf(what, sizeof(what), "password for task %" PRIu64, id);
                http_guard_password_end(s->guard, c, r != -EACCES, what);
        }
        if (r == -ENOENT)
                *ret = respond(c, MHD_HTTP_NOT_FOUND, "There is no task %" PRIu64 "\n", id);
        else if (r == -ENOTCONN) /* the shared store went away after the check in route() */
                *ret = respond_store_unavailable(c);
        else if (r < 0)
                *ret = respond(c, MHD_HTTP_FORBIDDEN, "Wrong password for task %" PRIu64 "\n", id);
        return r >= 0;
}

static enum MHD_Result handle_task(HttpServer *s, struct MHD_Connection *c, const char *method, uint64_t id,
                                   const char *action, bool manager)
{
        _cleanup_(task_freep) Task *t = NULL;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        bool post = streq(method, MHD_HTTP_METHOD_POST);
        int r;

        if (manager) {
                /* Changes through the task manager are POSTs only (a link cannot trigger them). */
                bool change = streq(action, "delete") || streq(action, "restart");

                if (change ? !post : !streq(method, MHD_HTTP_METHOD_GET))
                        return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Use %s\n", change ? "POST" : "GET");
                if (!http_manager_authorized(s, c, &ret))
                        return ret;
        } else {
                if (streq(action, "restart"))
                        return respond(c, MHD_HTTP_NOT_FOUND, "Restarting is for the task manager\n");
                if (!streq(method, MHD_HTTP_METHOD_GET) && !(streq(action, "delete") && post))
                        return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Use GET\n");
        }
        r = task_store_get(s->store, id, &t);
        if (r == -ENOENT && task_archived(s->config, id))
                return respond(c, MHD_HTTP_GONE,
                               "Task %" PRIu64
                               " was archived (ArchiveTaskAfter): ask the server's administrator "
                               "for it\n",
                               id);
        if (r == -ENOENT)
                return respond(c, MHD_HTTP_NOT_FOUND, "There is no task %" PRIu64 "\n", id);
        if (r == -ENOTCONN) /* the shared store went away after the check in route() */
                return respond_store_unavailable(c);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot read task %" PRIu64 "\n", id);
        if (!manager) {
                if (!check_task_password(s, c, id, &ret))
                        return ret;
        }

        if (streq(action, "")) {
                _cleanup_free_ char *body = NULL;

                /* No trailing newline: ABRT's client prints the body with puts(). */
                int n = asprintf(&body, "%s", t->stage);

                if (n < 0)
                        return MHD_NO;
                resp = MHD_create_response_from_buffer((size_t) n, TAKE_PTR(body), MHD_RESPMEM_MUST_FREE);
                if (!resp)
                        return MHD_NO;
                (void) MHD_add_response_header(resp, "X-Task-Status", task_status_to_string(t->status));
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                               "text/plain; charset=utf-8");
                ret = queue_response(c, MHD_HTTP_OK, resp);
                MHD_destroy_response(resp);
                return ret;
        }
        if (streq(action, "status"))
                return handle_task_status(s, c, t);
        if (streq(action, "delete")) {
                if (!manager && !s->config->allow_api_delete)
                        return respond(c, MHD_HTTP_FORBIDDEN,
                                       "Deleting tasks through the API is not enabled\n");
                return task_delete(s, c, id, manager ? "from the task manager" : "through the API");
        }
        if (streq(action, "restart"))
                return task_restart(s, c, id);
        return serve_result(s, c, id, action);
}

/* GET /manager/tasks?status=&q=&limit=: the task manager's list. */
static enum MHD_Result handle_manager_list(HttpServer *s, struct MHD_Connection *c, const char *method)
{
        static const char query_chars[] =
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+~:-#/ ";
        const char *status, *query, *limit_text;
        _cleanup_free_ char *json = NULL;
        TaskListEntry *tasks = NULL;
        unsigned limit = 100;
        size_t len, n = 0;
        enum MHD_Result ret;
        int r;

        if (!streq(method, MHD_HTTP_METHOD_GET))
                return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Use GET\n");
        if (!http_manager_authorized(s, c, &ret))
                return ret;
        status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
        query = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
        limit_text = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
        if (!isempty(status) && task_status_from_string(status) < 0)
                return respond(c, MHD_HTTP_BAD_REQUEST,
                               "status must be PENDING, FINISHED_SUCCESS or FINISHED_FAILURE\n");
        if (!isempty(query) && (strlen(query) > MAX_QUERY_LENGTH || !string_in_charset(query, query_chars)))
                return respond(c, MHD_HTTP_BAD_REQUEST,
                               "The filter is at most %d letters, digits, spaces and ._+~:-#/ characters\n",
                               MAX_QUERY_LENGTH);
        if (!isempty(limit_text) &&
            (parse_uint(limit_text, &limit) < 0 || limit == 0 || limit > MAX_LIST_TASKS))
                return respond(c, MHD_HTTP_BAD_REQUEST, "limit must be 1 to %d\n", MAX_LIST_TASKS);
        r = task_store_list(s->store, isempty(status) ? NULL : status, isempty(query) ? NULL : query, limit,
                            &tasks, &n);
        if (r >= 0) {
                /* Tasks fetching their crash data from a URL or DropDir show how far they are. */
                _cleanup_free_ RemoteProgress *progress = calloc(MAX(n, 1U), sizeof(RemoteProgress));

                for (size_t i = 0; progress && i < n; i++)
                        if (tasks[i].status &&
                            streq(tasks[i].status, task_status_to_string(TASK_STATUS_PENDING)))
                                (void) remote_progress_read(s->save_dirfd, tasks[i].id, &progress[i]);
                r = progress ? render_task_list(tasks, progress, n, &json) : -ENOMEM;
                task_list_entries_free(tasks, n);
        }
        if (r == -ENOTCONN) /* the shared store went away after the check in route() */
                return respond_store_unavailable(c);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot list the tasks\n");
        len = strlen(json);
        return respond_buffer(c, MHD_HTTP_OK, TAKE_PTR(json), len, "application/json", NULL);
}

static enum MHD_Result handle_settings(HttpServer *s, struct MHD_Connection *c)
{
        const RetraceConfig *cfg = s->config;
        _cleanup_free_ char *releases = NULL;
        unsigned load = s->load ? s->load(s->userdata) : 0;

        _cleanup_strv_free_ char **list = NULL;

        if (s->supported_releases)
                (void) s->supported_releases(s->userdata, &list);
        releases = list ? strv_join(list, " ") : strdup("");
        if (!releases)
                return MHD_NO;
        /* Capacity counts the queue: ABRT clients upload while running_tasks < max_running_tasks. */
        return respond(
                c, MHD_HTTP_OK,
                "running_tasks %u\n"
                "max_running_tasks %u\n"
                "max_packed_size %" PRIu64 "\n"
                "max_unpacked_size %" PRIu64 "\n"
                "supported_formats application/x-xz-compressed-tar application/x-gzip application/x-tar\n"
                "supported_releases %s\n",
                load, cfg->max_parallel_tasks + cfg->max_queued_tasks, cfg->max_packed_size >> 20,
                cfg->max_unpacked_size >> 20, releases);
}

static enum MHD_Result handle_metrics(HttpServer *s, struct MHD_Connection *c)
{
        _cleanup_free_ char *body = NULL;
        size_t size = 0;
        FILE *f;
        uint64_t free_bytes = 0;

        if (!s->config->allow_metrics)
                return respond(c, MHD_HTTP_FORBIDDEN, "Metrics are not enabled\n");
        f = open_memstream(&body, &size);
        if (!f)
                return MHD_NO;
        fputs("# HELP retrace_tasks Tasks in the store by status.\n# TYPE retrace_tasks gauge\n", f);
        for (TaskStatus st = 0; st < _TASK_STATUS_MAX; st++) {
                uint64_t n = 0;

                (void) task_store_count(s->store, st, &n);
                fprintf(f, "retrace_tasks{status=\"%s\"} %" PRIu64 "\n", task_status_to_string(st), n);
        }
        fputs("# HELP retrace_uploads_refused_total Uploads refused, by reason.\n"
              "# TYPE retrace_uploads_refused_total counter\n",
              f);
        for (int i = 0; i < _REFUSAL_MAX; i++)
                fprintf(f, "retrace_uploads_refused_total{reason=\"%s\"} %" PRIu64 "\n", refusal_names[i],
                        __atomic_load_n(&s->refused[i], __ATOMIC_RELAXED));
        if (s->queue_running && s->queue_waiting)
                fprintf(f,
                        "# HELP retrace_queue_tasks Tasks being retraced and waiting.\n"
                        "# TYPE retrace_queue_tasks gauge\n"
                        "retrace_queue_tasks{state=\"running\"} %u\nretrace_queue_tasks{state=\"waiting\"} "
                        "%u\n",
                        s->queue_running(s->userdata), s->queue_waiting(s->userdata));
        {
                TaskTotals totals;

                if (task_store_totals(s->store, &totals) >= 0)
                        render_metrics_totals(f, &totals);
        }
        {
                WaitingTask *w = NULL;
                size_t n = 0;

                if (s->config->retry_missing_debuginfo > 0)
                        (void) task_store_list_waiting(s->store, waiting_since(s->config), &w, &n);
                fprintf(f,
                        "# HELP retrace_tasks_waiting_for_debuginfo Finished tasks that run again when a "
                        "sync "
                        "brings the debuginfo they lack.\n"
                        "# TYPE retrace_tasks_waiting_for_debuginfo gauge\n"
                        "retrace_tasks_waiting_for_debuginfo %zu\n",
                        n);
                waiting_tasks_free(w, n);
        }
        render_metrics_debuginfod(s, f);
        if (s->root_counts) {
                uint64_t reused = 0, assembled = 0;

                s->root_counts(s->userdata, &reused, &assembled);
                fprintf(f,
                        "# HELP retrace_root_cache_total Task roots reused from the cache (hit) or "
                        "assembled (miss).\n"
                        "# TYPE retrace_root_cache_total counter\n"
                        "retrace_root_cache_total{result=\"hit\"} %" PRIu64 "\n"
                        "retrace_root_cache_total{result=\"miss\"} %" PRIu64 "\n",
                        reused, assembled);
        }
        if (s->guard) {
                uint64_t slow_head = 0, slow_body = 0, limited = 0;

                http_guard_counts(s->guard, &slow_head, &slow_body, &limited);
                fprintf(f,
                        "# HELP retrace_http_connections_closed_total Connections closed for a request "
                        "head over RequestHeadTimeout or an upload below MinUploadRate.\n"
                        "# TYPE retrace_http_connections_closed_total counter\n"
                        "retrace_http_connections_closed_total{reason=\"slow_head\"} %" PRIu64 "\n"
                        "retrace_http_connections_closed_total{reason=\"slow_upload\"} %" PRIu64 "\n"
                        "# HELP retrace_password_checks_limited_total Password checks answered 429 "
                        "(too many failures).\n"
                        "# TYPE retrace_password_checks_limited_total counter\n"
                        "retrace_password_checks_limited_total %" PRIu64 "\n",
                        slow_head, slow_body, limited);
        }
        if (s->cache_metrics)
                s->cache_metrics(s->userdata, f);
        (void) task_store_render_metrics(s->store, f);
        (void) task_dir_free_space(s->config->save_dir, &free_bytes);
        fprintf(f,
                "# HELP retrace_free_disk_bytes Free space where tasks are stored.\n"
                "# TYPE retrace_free_disk_bytes gauge\nretrace_free_disk_bytes %" PRIu64 "\n",
                free_bytes);
        if (fclose(f) != 0)
                return MHD_NO;
        return respond(c, MHD_HTTP_OK, "%s", body);
}

/* PROTOCOL.md: 302 without Location when known, 404 when not, 403 for missing or malformed headers. */
static enum MHD_Result handle_checkpackage(HttpServer *s, struct MHD_Connection *c)
{
        const char *nvr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Package-NVR");
        const char *arch = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Package-Arch");
        const char *release = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-OS-Release");
        static const char allowed[] =
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+~:-^";
        /* ABRT's client spells some releases with spaces ("CentOS Stream-9-x86_64"). */
        static const char release_allowed[] =
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+~:-^ ";
        _cleanup_free_ char *mapped = NULL, *why = NULL;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        bool known = false;
        int r;

        if (isempty(nvr) || isempty(arch) || strlen(nvr) > 256 || strlen(arch) > 32 ||
            !string_in_charset(nvr, allowed) || !string_in_charset(arch, allowed) ||
            (release && (strlen(release) > 128 || !string_in_charset(release, release_allowed))))
                return respond(c, MHD_HTTP_FORBIDDEN,
                               "X-Package-NVR and X-Package-Arch are required and must be "
                               "package names\n");
        if (!s->package_known)
                return respond(c, MHD_HTTP_NOT_FOUND, "Unknown package\n");
        if (!isempty(release) && s->release_lookup) {
                r = s->release_lookup(s->userdata, release, &mapped, &why);
                if (r == -ENOENT)
                        return respond(c, MHD_HTTP_NOT_FOUND, "%s\n", strna(why));
                if (r < 0)
                        return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot look the release up\n");
        }
        r = s->package_known(s->userdata, nvr, arch, mapped ?: isempty(release) ? NULL : release, &known);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot look the package up\n");
        if (!known)
                return respond(c, MHD_HTTP_NOT_FOUND, "Package %s.%s is not known%s%s\n", nvr, arch,
                               release ? " for " : "", strempty(release));
        resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
        if (!resp)
                return MHD_NO;
        ret = queue_response(c, MHD_HTTP_FOUND, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result handle_stats(HttpServer *s, struct MHD_Connection *c)
{
        _cleanup_free_ char *json = NULL;
        TaskStatistics st;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        size_t len;
        int r;

        r = task_store_statistics(s->store, &st);
        if (r >= 0) {
                r = render_statistics(&st, &json);
                task_statistics_done(&st);
        }
        if (r == -ENOTCONN) /* the shared store went away after the check in route() */
                return respond_store_unavailable(c);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot compute the statistics\n");
        len = strlen(json);
        resp = MHD_create_response_from_buffer(len, TAKE_PTR(json), MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        ret = queue_response(c, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
}

static const char *static_content_type(const char *name)
{
        static const char *const types[][2] = {
                { ".html", "text/html; charset=utf-8" },
                { ".css", "text/css; charset=utf-8" },
                { ".js", "text/javascript; charset=utf-8" },
                { ".svg", "image/svg+xml" },
        };
        const char *dot = strchr(name, '.');

        if (!dot || dot == name || strchr(dot + 1, '.') ||
            !string_in_charset(name, "abcdefghijklmnopqrstuvwxyz0123456789-.") || strlen(name) > 64)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq(dot, types[i][0]))
                        return types[i][1];
        return NULL;
}

/* A file of the Web UI: a bare name from WebUIDir (no directories, a known extension). */
static enum MHD_Result serve_static(HttpServer *s, struct MHD_Connection *c, const char *method,
                                    const char *name)
{
        const char *type = static_content_type(name);
        char *buf = NULL;
        size_t len;
        int r;

        if (!type)
                return respond(c, MHD_HTTP_NOT_FOUND, "Not found: %s\n", name);
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
                return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Use GET\n");
        if (s->webui_dirfd < 0)
                return respond(c, MHD_HTTP_NOT_FOUND,
                               "The Web UI is not installed (WebUIDir %s); the API works without it\n",
                               s->config->webui_dir);
        r = file_read_at(s->webui_dirfd, name, MAX_STATIC_SIZE, &buf, &len);
        if (r == -ENOENT)
                return respond(c, MHD_HTTP_NOT_FOUND, "Not found: %s\n", name);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot read %s\n", name);
        return respond_buffer(c, MHD_HTTP_OK, buf, len, type, "no-cache");
}

/* Does the client (a browser navigating) want a page rather than the API's JSON? */
static bool wants_html(struct MHD_Connection *c)
{
        const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);

        return accept && strstr(accept, "text/html");
}

/* Paths under a "manager" segment: the page, the list, or a task (handled with the task paths). */
static bool is_manager_path(const char *url, const char *what)
{
        const char *p = string_endswith(url, what);

        return p && (p == url || p[-1] == '/');
}

/* A request's state (its con_cls) from its head to its end. */
typedef struct Request {
        WorkItem work;
        HttpServer *server;
        struct MHD_Connection *connection;
        const char *url, *method; /* libmicrohttpd's, valid until the request completes */
        Upload *upload;           /* POST /create: the upload being received */
        bool framing_refused;     /* only its head was looked at; its body is dropped */
        bool deferred;            /* handed to a worker pool, the connection suspended meanwhile */
        bool failed;              /* the worker queued no answer: the connection is closed */
        char *body;               /* POST …/notes: the body, at most HTTP_NOTES_MAX_BODY bytes */
        size_t body_len;
        bool body_too_large;
        bool body_started; /* the head's call is over: the next empty call ends the body */
} Request;

static enum MHD_Result count_framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                            const char *value)
{
        unsigned *counts = cls;

        if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
                counts[0]++;
        else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
                counts[1]++;
        return MHD_YES;
}

/* RFC 9112 6.3: a body framed two ways (Transfer-Encoding and Content-Length, or Content-Length twice)
 * is how requests are smuggled past a proxy. libmicrohttpd picks one framing; we refuse the request and
 * close the connection, since where its body ends is not known. */
static bool request_framing_ambiguous(struct MHD_Connection *c)
{
        unsigned counts[2] = {};

        (void) MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing_header, counts);
        return counts[0] > 1 || (counts[0] > 0 && counts[1] > 0);
}

static enum MHD_Result refuse_framing(struct MHD_Connection *c)
{
        static const char body[] = "A request must not have both Transfer-Encoding and Content-Length, "
                                   "nor Content-Length twice\n";
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
        if (!r)
                return MHD_NO;
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        ret = queue_response(c, MHD_HTTP_BAD_REQUEST, r);
        MHD_destroy_response(r);
        return ret;
}

/* Everything but POST /create, on a worker of the request pool. */
enum MHD_Result respond_store_unavailable(struct MHD_Connection *c)
{
        static const char body[] = "The task store cannot be reached; try again later\n";
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
        if (!r)
                return MHD_NO;
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, STORE_RETRY_AFTER);
        ret = queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result route(HttpServer *s, struct MHD_Connection *c, const char *url, const char *method)
{
        const char *action, *last;
        bool manager = false;
        uint64_t id;

        /* A shared store (PostgreSQL) that cannot be reached: every answer that reads it is 503. The
         * static pages and debuginfod's files do not need it. */
        if ((string_endswith(url, "/settings") || string_endswith(url, "/metrics") ||
             string_endswith(url, "/stats") || is_manager_path(url, "manager/tasks") ||
             parse_task_path(url, &id, &action, &manager)) &&
            task_store_available(s->store) < 0)
                return respond_store_unavailable(c);

        if (strstr(url,
                   "/buildid/")) /* the package cache's lookups may extract files: never on an event loop */
                return handle_debuginfod(s, c, method, strstr(url, "/buildid/"));
        if (string_endswith(url, "/settings"))
                return handle_settings(s, c);
        if (string_endswith(url, "/metrics"))
                return handle_metrics(s, c);
        if (string_endswith(url, "/checkpackage"))
                return handle_checkpackage(s, c);
        if (string_endswith(url, "/stats"))
                return wants_html(c) ? serve_static(s, c, method, "stats.html") : handle_stats(s, c);
        if (is_manager_path(url, "manager/tasks"))
                return handle_manager_list(s, c, method);
        if (is_manager_path(url, "manager/remote"))
                return handle_manager_remote(s, c, method);
        if (is_manager_path(url, "manager") || is_manager_path(url, "manager/"))
                return serve_static(s, c, method, "manager.html");
        {
                const char *sub;

                if (parse_interact_path(url, &id, &sub))
                        return handle_interact(s, c, method, id, sub);
        }
        if (parse_task_path(url, &id, &action, &manager))
                return handle_task(s, c, method, id, action, manager);
        if (string_endswith(url, "/"))
                return serve_static(s, c, method, "index.html");
        last = strrchr(url, '/');
        return serve_static(s, c, method, last ? last + 1 : url);
}

static void run_route(WorkItem *w)
{
        Request *req = (Request *) w;
        struct MHD_Connection *c = req->connection;

        /* libmicrohttpd lets a suspended connection's answer be queued from any thread. */
        if (route(req->server, c, req->url, req->method) != MHD_YES)
                req->failed = true;
        MHD_resume_connection(c); /* req may be gone from here on */
}

static void run_notes(WorkItem *w)
{
        Request *req = (Request *) w;
        struct MHD_Connection *c = req->connection;

        if (handle_task_notes(req->server, c, req->url, req->method, req->body, req->body_len,
                              req->body_too_large) != MHD_YES)
                req->failed = true;
        MHD_resume_connection(c);
}

/* A small body kept in memory (the notes' JSON); what goes beyond the limit is dropped and remembered. */
static void request_keep_body(Request *req, const char *data, size_t len)
{
        char *b;

        if (req->body_too_large || len == 0)
                return;
        if (len > HTTP_NOTES_MAX_BODY - req->body_len) {
                req->body_too_large = true;
                return;
        }
        b = realloc(req->body, req->body_len + len + 1);
        if (!b) {
                req->body_too_large = true;
                return;
        }
        memcpy(b + req->body_len, data, len);
        req->body = b;
        req->body_len += len;
        b[req->body_len] = '\0';
}

static void run_create_finish(WorkItem *w)
{
        Request *req = (Request *) w;
        struct MHD_Connection *c = req->connection;

        if (create_finish(req->server, c, req->upload) != MHD_YES)
                req->failed = true;
        MHD_resume_connection(c);
}

/* Work that may take long (the store, files, unpacking) never runs on an event loop, where it would
 * hold up every other connection of that thread: the connection is suspended and a worker answers. */
static enum MHD_Result defer(Request *req, WorkPool *pool, void (*run)(WorkItem *w))
{
        char address[INET6_ADDRSTRLEN];

        req->deferred = true;
        req->work.run = run;
        http_guard_client_key(req->server->guard, req->connection, req->work.key, address);
        http_guard_set_phase(req->connection, CONN_BUSY);
        MHD_suspend_connection(req->connection);
        work_pool_submit(pool, &req->work);
        return MHD_YES;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls)
{
        HttpServer *s = cls;
        Request *req = *con_cls;
        bool finish = false;
        enum MHD_Result ret;

        /* The first call for a request (the head only): nothing of the body has been read yet. */
        if (!req) {
                req = calloc(1, sizeof(Request));
                if (!req)
                        return MHD_NO;
                *req = (Request){ .server = s, .connection = c, .url = url, .method = method };
                *con_cls = req; /* freed by request_completed() */
                http_guard_set_phase(c, CONN_BUSY);
                if (request_framing_ambiguous(c)) {
                        req->framing_refused = true;
                        return refuse_framing(c);
                }
                if (string_endswith(url, "/create") || string_endswith(url, "/notes"))
                        http_guard_set_phase(c, CONN_BODY); /* MinUploadRate holds for the body */
        }
        if (req->failed)
                return MHD_NO;
        if (req->deferred) /* resumed without an answer */
                return MHD_NO;
        if (req->framing_refused) { /* its body: dropped */
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (strstr(url, "/buildid/")) { /* first: a source path may end in anything */
                *upload_data_size = 0;
                return defer(req, &s->requests, run_route);
        }
        if (string_endswith(url, "/create")) {
                http_guard_body(c, *upload_data_size);
                ret = handle_create(s, c, method, upload_data, upload_data_size, (void **) &req->upload,
                                    &finish);
                if (ret == MHD_YES && finish)
                        return defer(req, &s->unpacks, run_create_finish);
                return ret;
        }
        if (string_endswith(url, "/notes")) {
                /* The body comes in the calls after the head's; the last call has none. */
                if (!req->body_started) {
                        req->body_started = true;
                        return MHD_YES;
                }
                if (*upload_data_size > 0) {
                        http_guard_body(c, *upload_data_size);
                        request_keep_body(req, upload_data, *upload_data_size);
                        *upload_data_size = 0;
                        return MHD_YES;
                }
                return defer(req, &s->requests, run_notes);
        }
        if (*upload_data_size > 0) { /* a body nobody asked for */
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (strlen(url) > 1024)
                return respond(c, MHD_HTTP_URI_TOO_LONG, "The path is too long\n");
        return defer(req, &s->requests, run_route);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
        Request *req = *con_cls;

        if (req) {
                upload_free(req->upload);
                free(req->body);
                free(req);
        }
        *con_cls = NULL;
        /* A kept-alive connection waits for its next request head under the same deadline. */
        http_guard_set_phase(c, CONN_HEAD);
}

/* libmicrohttpd's own messages (a connection refused at a limit, …) go to our log, at most one a
 * second: a client opening connections by the hundred must not flood the log. */
_printf_(2, 0) static void log_mhd(void *cls, const char *format, va_list ap)
{
        static int64_t last_usec;
        static uint64_t suppressed;
        _cleanup_free_ char *text = NULL;
        int64_t now = now_monotonic_usec(), last = __atomic_load_n(&last_usec, __ATOMIC_RELAXED);
        uint64_t n;

        if ((last != 0 && now - last < 1000000) ||
            !__atomic_compare_exchange_n(&last_usec, &last, now, false, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED)) {
                __atomic_add_fetch(&suppressed, 1, __ATOMIC_RELAXED);
                return;
        }
        if (vasprintf(&text, format, ap) < 0)
                return;
        text[strcspn(text, "\n")] = 0;
        n = __atomic_exchange_n(&suppressed, 0, __ATOMIC_RELAXED);
        if (n > 0)
                log_warning("HTTP: %s (and %" PRIu64 " messages in the last second not shown)", text, n);
        else
                log_warning("HTTP: %s", text);
}

/* Every connection is a file descriptor: the soft limit (often 1024) is raised towards the hard one so
 * that MaxConnections fit beside the daemon's own files. */
static void raise_file_limit(unsigned connections)
{
        rlim_t want = (rlim_t) connections + 256;
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
                return;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : MIN(want, rl.rlim_max);
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
                log_warning(
                        "MaxConnections = %u needs %llu open files, the limit is %llu: connections beyond "
                        "it are refused (raise LimitNOFILE= or lower MaxConnections)",
                        connections, (unsigned long long) want, (unsigned long long) rl.rlim_cur);
}

int http_server_start(HttpServer *s, char **ret_error)
{
        const RetraceConfig *cfg = s->config;
        _cleanup_free_ char *cert = NULL, *key = NULL;
        struct sockaddr_storage addr;
        /* Event loops in a pool of threads: a slow or idle client costs a connection slot, no thread. */
        unsigned flags =
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
                MHD_ALLOW_UPGRADE |
                (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL);
        unsigned limit = cfg->max_connections ?: 1, per_address = cfg->max_connections_per_address,
                 threads = cfg->http_threads ?: 1, timeout = (unsigned) MIN(cfg->connection_timeout, 3600U);
        bool ipv6;
        int r;

        r = parse_listen(cfg->listen, &addr, &ipv6);
        if (r < 0)
                return (void) asprintf(ret_error,
                                       "Listen = %s is not ADDR:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)",
                                       cfg->listen),
                       -EINVAL;
        if (ipv6)
                flags |= MHD_USE_IPv6;
        if (!isempty(cfg->tls_certificate) || !isempty(cfg->tls_key)) {
                if (isempty(cfg->tls_certificate) || isempty(cfg->tls_key))
                        return (void) asprintf(ret_error, "TLSCertificate and TLSKey must be set together"),
                               -EINVAL;
                r = file_read_at(AT_FDCWD, cfg->tls_certificate, 1 << 20, &cert, NULL);
                if (r >= 0)
                        r = file_read_at(AT_FDCWD, cfg->tls_key, 1 << 20, &key, NULL);
                if (r < 0)
                        return (void) asprintf(ret_error,
                                               "Cannot read the TLS certificate or key (%s, %s): %s",
                                               cfg->tls_certificate, cfg->tls_key, strerror(-r)),
                               r;
                flags |= MHD_USE_TLS;
        }
        /* A reserve no single address may take: one client cannot hold every slot. */
        if (per_address == 0 || per_address > limit - limit / 4) {
                if (per_address != 0)
                        log_warning(
                                "MaxConnectionsPerAddress = %u is above three quarters of MaxConnections = "
                                "%u: using %u",
                                per_address, limit, MAX(limit - limit / 4, 1U));
                per_address = MAX(limit - limit / 4, 1U);
        }
        threads = MIN(threads, limit);
        raise_file_limit(limit);
        s->webui_dirfd =
                isempty(cfg->webui_dir) ? -EBADF : open(cfg->webui_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->webui_dirfd < 0)
                log_warning("WebUIDir %s cannot be opened: the Web UI's pages answer 404 (the API works)",
                            strna(cfg->webui_dir));
        s->save_dirfd = open(cfg->save_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->save_dirfd < 0)
                return (void) asprintf(ret_error, "Cannot open SaveDir %s: %s", cfg->save_dir,
                                       strerror(errno)),
                       -errno;
        r = interact_state_new(&s->interact);
        if (r >= 0)
                r = http_guard_new(cfg, &s->guard);
        if (r >= 0)
                r = work_pool_start(&s->requests, cfg->http_workers ?: 1, "http-worker");
        if (r >= 0)
                r = work_pool_start(&s->unpacks, cfg->unpack_workers ?: 1, "http-unpack");
        if (r < 0) {
                http_server_stop(s);
                return (void) asprintf(ret_error, "Cannot start the HTTP threads: %s", strerror(-r)), r;
        }
        if (cert)
                s->mhd = MHD_start_daemon(
                        flags, 0, NULL, NULL, handle_request, s, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
                        MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, request_completed, s,
                        MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, s->guard,
                        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address,
                        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 256 * 1024, MHD_OPTION_HTTPS_MEM_CERT,
                        cert, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
        else
                s->mhd = MHD_start_daemon(
                        flags, 0, NULL, NULL, handle_request, s, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
                        MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, request_completed, s,
                        MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, s->guard,
                        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address,
                        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 256 * 1024, MHD_OPTION_END);
        if (!s->mhd) {
                http_server_stop(s);
                return (void) asprintf(ret_error, "Cannot listen on %s (address in use, or not allowed)",
                                       cfg->listen),
                       -EADDRINUSE;
        }
        return 0;
}

void http_server_stop(HttpServer *s)
{
        int listen_fd = -EBADF;

        /* No new connections; the pools answer what they hold and resume those connections (stopping
         * the daemon with a suspended connection is not allowed); then the connections close. */
        if (s->mhd)
                listen_fd = MHD_quiesce_daemon(s->mhd);
        work_pool_stop(&s->requests);
        work_pool_stop(&s->unpacks);
        /* Upgraded connections must be closed by their sessions before libmicrohttpd stops. */
        s->interact = interact_state_free(s->interact);
        if (s->mhd)
                MHD_stop_daemon(s->mhd);
        s->mhd = NULL;
        if (listen_fd >= 0)
                (void) close(listen_fd);
        s->guard = http_guard_free(s->guard);
        s->save_dirfd = safe_close(s->save_dirfd);
        s->webui_dirfd = safe_close(s->webui_dirfd);
}
