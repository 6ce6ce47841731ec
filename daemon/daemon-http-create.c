/* SPDX-License-Identifier: GPL-2.0-or-later */
/* POST /create: the checks PROTOCOL.md makes before the body is read, in its order; the body streamed
 * into a spool file under the size limits; the archive unpacked with the archive rules into a new
 * task. */
#include "daemon-http.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "daemon-http-parse.h"
#include "daemon-http-private.h"
#include "daemon-http-render.h"
#include "daemon-taskdir.h"

struct Upload {
        HttpServer *server;
        TaskSpool spool; /* removed unless it became a task */
        bool reserved;   /* holds a place in the task queue */
        bool refused;    /* the body is read and dropped, then the refusal below is sent */
        bool answered;   /* the refusal went out before the body */
        Refusal why;
        unsigned status;
        char *message;
        uint64_t received;
        uint64_t length; /* Content-Length */
        int error;       /* writing the spool failed */
};

static void upload_drop_spool(Upload *u);

static void upload_release_place(Upload *u)
{
        if (u->reserved && u->server->queue_release)
                u->server->queue_release(u->server->userdata);
        u->reserved = false;
}

Upload *upload_free(Upload *u)
{
        if (!u)
                return NULL;
        upload_release_place(u);
        upload_drop_spool(u);
        free(u->message);
        return mfree(u);
}

/* Says once a minute in the log why uploads are refused for lack of disk, with what to do. */
static void log_disk_refusal(const RetraceConfig *cfg, uint64_t free_bytes)
{
        static int64_t last_usec;
        int64_t now = now_monotonic_usec(), last = __atomic_load_n(&last_usec, __ATOMIC_RELAXED);

        if (last != 0 && now - last < 60 * 1000000LL)
                return;
        if (!__atomic_compare_exchange_n(&last_usec, &last, now, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                return;
        log_warning("Refusing uploads with 507: %" PRIu64 " MiB free in SaveDir %s (less uploads being "
                    "unpacked), MinStorageLeft is %" PRIu64 " MiB. Free space there, or lower "
                    "DeleteTaskAfter/DeleteFailedTaskAfter so that finished tasks expire sooner",
                    free_bytes >> 20, cfg->save_dir, cfg->min_storage_left >> 20);
}

/* The checks PROTOCOL.md makes before any byte of the body is read, in its order. Returns true and
 * fills ret_why/ret_status/ret_message when the upload must be refused. */
static bool create_check(HttpServer *s, struct MHD_Connection *c, const char *method, uint64_t *ret_length,
                         bool *ret_reserved, Refusal *ret_why, unsigned *ret_status, char **ret_message)
{
        const RetraceConfig *cfg = s->config;
        const char *length_header;
        uint64_t length, free_bytes = 0;
        bool reserved = false;
        int r;

#define REFUSE(why, status, ...)                            \
        do {                                                \
                if (reserved && s->queue_release)           \
                        s->queue_release(s->userdata);      \
                *ret_why = (why);                           \
                *ret_status = (status);                     \
                if (asprintf(ret_message, __VA_ARGS__) < 0) \
                        *ret_message = NULL;                \
                return true;                                \
        } while (0)

        if (cfg->require_https && !request_is_https(s, c))
                REFUSE(REFUSAL_HTTPS, MHD_HTTP_FORBIDDEN, "HTTPS is required");
        if (task_store_available(s->store) < 0)
                REFUSE(REFUSAL_STORE, MHD_HTTP_SERVICE_UNAVAILABLE,
                       "The task store cannot be reached; try again later");
        /* The place is held from here on: concurrent uploads cannot all pass a check of the queue's
         * length and then together overfill it. */
        if (s->queue_reserve) {
                if (s->queue_reserve(s->userdata) < 0)
                        REFUSE(REFUSAL_FULL, MHD_HTTP_SERVICE_UNAVAILABLE,
                               "The server is busy and its queue is full; try again later");
                reserved = true;
        }
        if (!streq(method, MHD_HTTP_METHOD_POST))
                REFUSE(REFUSAL_METHOD, MHD_HTTP_METHOD_NOT_ALLOWED, "Use POST to create a task");
        if (!content_type_accepted(
                    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
                REFUSE(REFUSAL_CONTENT_TYPE, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                       "Content-Type must be one of application/x-xz-compressed-tar, application/x-gzip, "
                       "application/x-tar");
        length_header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (!length_header || parse_uint64(length_header, &length) < 0)
                REFUSE(REFUSAL_NO_LENGTH, MHD_HTTP_LENGTH_REQUIRED, "Content-Length is required");
        if (length > cfg->max_packed_size)
                REFUSE(REFUSAL_PACKED_SIZE, MHD_HTTP_CONTENT_TOO_LARGE,
                       "The archive is larger than the limit of %" PRIu64 " MiB",
                       cfg->max_packed_size >> 20);
        /* Other uploads being unpacked hold reservations on the same free space. */
        r = task_dir_free_space(cfg->save_dir, &free_bytes);
        if (r >= 0)
                free_bytes -= MIN(free_bytes, unpack_budget_outstanding(&unpack_budget_shared));
        if (r < 0 || free_bytes < length || free_bytes - length < cfg->min_storage_left) {
                log_disk_refusal(cfg, r < 0 ? 0 : free_bytes);
                REFUSE(REFUSAL_DISK, MHD_HTTP_INSUFFICIENT_STORAGE,
                       "The server is low on disk space and accepts no uploads until older tasks expire "
                       "or its administrator frees space; try again later");
        }
#undef REFUSE
        *ret_length = length;
        *ret_reserved = reserved;
        return false;
}

static enum MHD_Result create_refuse(HttpServer *s, struct MHD_Connection *c, Upload *u)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;
        _cleanup_free_ char *body = NULL;
        int n;

        __atomic_add_fetch(&s->refused[u->why], 1, __ATOMIC_RELAXED);
        n = asprintf(&body, "%s\n", strna(u->message));
        if (n < 0)
                return MHD_NO;
        resp = MHD_create_response_from_buffer((size_t) n, TAKE_PTR(body), MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        if (u->why == REFUSAL_FULL)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "60");
        if (u->why == REFUSAL_STORE)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, STORE_RETRY_AFTER);
        ret = queue_response(c, u->status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result create_begin(HttpServer *s, struct MHD_Connection *c, const char *method,
                                    void **con_cls)
{
        Upload *u;

        u = calloc(1, sizeof(Upload));
        if (!u)
                return MHD_NO;
        u->server = s;
        u->spool.upload_fd = -EBADF;
        *con_cls = u; /* freed by request_completed() */
        if (create_check(s, c, method, &u->length, &u->reserved, &u->why, &u->status, &u->message)) {
                /* An oversized or bodiless request is answered at once (clients sending
                 * "Expect: 100-continue" then skip the body). Otherwise the body is read and dropped
                 * first, so that closing the connection cannot reset the answer away. */
                u->refused = true;
                if (IN_SET(u->why, REFUSAL_PACKED_SIZE, REFUSAL_METHOD)) {
                        u->answered = true;
                        return create_refuse(s, c, u);
                }
                return MHD_YES;
        }

        if (task_spool_create(s->config->save_dir, s->spool_owner, &u->spool) < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot store the upload\n");
        return MHD_YES;
}

/* Removes what an upload left on disk, before the answer goes out (so nothing is left once the client
 * has its answer). */
static void upload_drop_spool(Upload *u)
{
        task_spool_remove(&u->spool);
}

static enum MHD_Result refuse_upload(HttpServer *s, struct MHD_Connection *c, Upload *u, Refusal why,
                                     unsigned status, const char *message)
{
        upload_release_place(u);
        upload_drop_spool(u);
        return refuse(s, c, why, status, message);
}

enum MHD_Result create_finish(HttpServer *s, struct MHD_Connection *c, Upload *u)
{
        const RetraceConfig *cfg = s->config;
        ArchiveLimits limits = { .max_unpacked = cfg->max_unpacked_size,
                                 .max_entries = cfg->max_archive_members,
                                 .max_decoder_memory = cfg->max_decompress_memory,
                                 .budget = &unpack_budget_shared, /* the process's one accountant */
                                 .min_free = cfg->min_storage_left };
        _cleanup_free_ char *message = NULL;
        _cleanup_close_ int crash_fd = -EBADF;
        char password[TASK_PASSWORD_LEN + 1], idbuf[32];
        const char *type_header, *missing, *foreign;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        TaskType type;
        uint64_t id;
        int r;

        if (u->received != u->length)
                return refuse_upload(s, c, u, REFUSAL_BAD_ARCHIVE, MHD_HTTP_BAD_REQUEST,
                                     "The upload ended early");
        if (task_spool_open_crash(&u->spool, &crash_fd) < 0 || lseek(u->spool.upload_fd, 0, SEEK_SET) < 0)
                return upload_drop_spool(u),
                       respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot unpack the upload\n");
        r = archive_unpack_crash_data(u->spool.upload_fd, crash_fd, &limits, &message);
        if (IN_SET(r, -EFBIG, -E2BIG))
                return refuse_upload(s, c, u, REFUSAL_UNPACKED_SIZE, MHD_HTTP_CONTENT_TOO_LARGE,
                                     strna(message));
        if (r == -EPERM)
                return refuse_upload(s, c, u, REFUSAL_MALICIOUS, MHD_HTTP_FORBIDDEN, strna(message));
        if (r == -EBADMSG)
                return refuse_upload(s, c, u, REFUSAL_BAD_ARCHIVE, MHD_HTTP_BAD_REQUEST, strna(message));
        if (IN_SET(r, -ENOSPC, -EDQUOT))
                return refuse_upload(
                        s, c, u, REFUSAL_DISK, MHD_HTTP_INSUFFICIENT_STORAGE,
                        message ?: "The server ran out of disk space unpacking the upload; try again later");
        if (r < 0) {
                log_error_errno(r, "Failed to unpack an upload into %s: %m", u->spool.path);
                return upload_drop_spool(u),
                       respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot unpack the upload\n");
        }
        /* The archive itself is not needed any more: only its members are. */
        task_spool_drop_upload(&u->spool);

        type_header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Task-Type");
        type = type_header ? task_type_from_string(type_header) : TASK_TYPE_RETRACE;
        if (type < 0)
                return refuse_upload(s, c, u, REFUSAL_TYPE, MHD_HTTP_BAD_REQUEST,
                                     "X-Task-Type must be 0, 1, 2, 3 or 4");
        if (task_type_is_interactive(type) && !cfg->allow_interactive)
                return refuse_upload(s, c, u, REFUSAL_TYPE, MHD_HTTP_CONFLICT,
                                     "Interactive tasks are not enabled on this server");
        missing = crash_files_find_missing(type, crash_fd);
        if (missing) {
                char msg[64];

                (void) snprintf(msg, sizeof(msg), "Required file '%s' is missing", missing);
                return refuse_upload(s, c, u, REFUSAL_MISSING_FILE, MHD_HTTP_FORBIDDEN, msg);
        }
        foreign = crash_files_find_foreign(type, crash_fd);
        if (foreign) {
                _cleanup_free_ char *msg = NULL;

                if (asprintf(&msg, "A %s task (X-Task-Type %s) may not carry the file '%s'",
                             task_type_is_vmcore(type) ? "vmcore" : "coredump", task_type_to_string(type),
                             foreign) < 0)
                        msg = NULL;
                return refuse_upload(s, c, u, REFUSAL_TYPE, MHD_HTTP_BAD_REQUEST,
                                     msg ?: "A file does not belong to this task type");
        }
        if (!task_type_is_vmcore(type)) {
                _cleanup_free_ char *text = NULL, *msg = NULL;
                const char *why = NULL;
                size_t len = 0;

                r = file_read_at(crash_fd, "executable", crash_file_lookup("executable")->max_size, &text,
                                 &len);
                if (r >= 0 && crash_executable_check(text, len, &why) < 0) {
                        if (asprintf(&msg, "The file 'executable' %s", why) < 0)
                                msg = NULL;
                        return refuse_upload(s, c, u, REFUSAL_TYPE, MHD_HTTP_BAD_REQUEST,
                                             msg ?: "The file 'executable' is not a valid path");
                }
        }

        r = task_store_create(s->store, type, &id, password);
        if (r == -ENOTCONN) {
                log_warning("An upload is refused: the task store cannot be reached");
                return upload_drop_spool(u), respond_store_unavailable(c);
        }
        if (r < 0) {
                log_error_errno(r, "Failed to record a new task: %m");
                return upload_drop_spool(u),
                       respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot create the task\n");
        }
        (void) snprintf(idbuf, sizeof(idbuf), "%" PRIu64, id);
        r = task_spool_commit(&u->spool, cfg->save_dir, id);
        if (r < 0) {
                log_error_errno(r, "Failed to move the upload to %s/%s: %m", cfg->save_dir, idbuf);
                (void) task_store_delete(s->store, id);
                return upload_drop_spool(u),
                       respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot create the task\n");
        }
        if (s->task_created)
                s->task_created(s->userdata, id);
        upload_release_place(u); /* the task holds its place now */

        resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, "X-Task-Id", idbuf);
        (void) MHD_add_response_header(resp, "X-Task-Password", password);
        ret = queue_response(c, MHD_HTTP_CREATED, resp);
        MHD_destroy_response(resp);
        log_info("Task %" PRIu64 " created (type %s)", id, task_type_to_string(type));
        return ret;
}

enum MHD_Result handle_create(HttpServer *s, struct MHD_Connection *c, const char *method,
                              const char *upload_data, size_t *upload_data_size, void **con_cls,
                              bool *ret_finish)
{
        Upload *u = *con_cls;
        int r;

        if (!u)
                return create_begin(s, c, method, con_cls);
        if (*upload_data_size > 0) {
                if (u->error == 0 && !u->refused) {
                        u->received += *upload_data_size;
                        r = u->received > u->length
                                    ? -EFBIG
                                    : fd_write_all(u->spool.upload_fd, upload_data, *upload_data_size);
                        if (r < 0)
                                u->error = r;
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (u->answered)
                return MHD_YES;
        if (u->refused)
                return create_refuse(s, c, u);
        if (IN_SET(u->error, -ENOSPC, -EDQUOT))
                return refuse_upload(s, c, u, REFUSAL_DISK, MHD_HTTP_INSUFFICIENT_STORAGE,
                                     "The server ran out of disk space storing the upload; try again later");
        if (u->error < 0)
                return upload_drop_spool(u),
                       respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot store the upload\n");
        *ret_finish = true;
        return MHD_YES;
}
