/* SPDX-License-Identifier: GPL-2.0-or-later */
/* POST /manager/remote: the task manager creates a task from a URL or a file of DropDir. The task
 * directory gets the request only (remote/request); the task's worker fetches the crash data
 * (daemon-remote.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-file.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-string.h"
#include "daemon-http-private.h"
#include "daemon-remote.h"
#include "daemon-taskdir.h"

/* Checks a DropDir source now, so that the manager hears at once of a typo or an escape. */
static enum MHD_Result check_drop_source(HttpServer *s, struct MHD_Connection *c, const RemoteRequest *req,
                                         bool *ret_ok)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        *ret_ok = false;
        if (isempty(s->config->drop_dir))
                return respond(c, MHD_HTTP_BAD_REQUEST,
                               "This server has no DropDir: give an http://, https:// or ftp:// URL\n");
        r = remote_drop_open(s->config->drop_dir, req->source, &fd);
        if (r == -EXDEV)
                return respond(c, MHD_HTTP_FORBIDDEN,
                               "%s leads outside DropDir (absolute path, '..' or a symlink pointing out): "
                               "refused\n",
                               req->source);
        if (r == -ENOENT)
                return respond(c, MHD_HTTP_NOT_FOUND, "There is no file %s in DropDir\n", req->source);
        if (IN_SET(r, -EISDIR, -EPERM))
                return respond(c, MHD_HTTP_BAD_REQUEST, "%s in DropDir is not a regular file\n",
                               req->source);
        if (r == -EOPNOTSUPP)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "The kernel lacks openat2(), which DropDir needs (Linux 5.6 or later)\n");
        if (r < 0)
                return respond(c, MHD_HTTP_FORBIDDEN, "Cannot open %s in DropDir: %s\n", req->source,
                               strerror(-r));
        *ret_ok = true;
        return MHD_YES;
}

/* The task: a spool with an empty crash/ and remote/request, committed as SaveDir/<id>. */
static int create_remote_task(HttpServer *s, const RemoteRequest *req, TaskType type, uint64_t *ret_id,
                              char password[TASK_PASSWORD_LEN + 1])
{
        _cleanup_(task_spool_remove) TaskSpool spool = { .upload_fd = -EBADF };
        _cleanup_close_ int crash_fd = -EBADF, remote_fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        uint64_t id;
        int r;

        r = task_spool_create(s->config->save_dir, s->spool_owner, &spool);
        if (r < 0)
                return r;
        task_spool_drop_upload(&spool);
        r = task_spool_open_crash(&spool, &crash_fd);
        if (r >= 0)
                r = task_spool_open_remote(&spool, &remote_fd);
        if (r >= 0)
                r = remote_request_format(req, &text);
        if (r >= 0)
                r = file_write_atomic_at(remote_fd, "request", text, strlen(text), 0600);
        if (r < 0)
                return r;
        r = task_store_create(s->store, type, &id, password);
        if (r < 0)
                return r;
        r = task_spool_commit(&spool, s->config->save_dir, id);
        if (r < 0) {
                (void) task_store_delete(s->store, id);
                return r;
        }
        *ret_id = id;
        return 0;
}

enum MHD_Result handle_manager_remote(HttpServer *s, struct MHD_Connection *c, const char *method)
{
        const char *source, *digest, *type_header;
        _cleanup_(remote_request_done) RemoteRequest req = {};
        _cleanup_free_ char *message = NULL, *shown = NULL;
        char password[TASK_PASSWORD_LEN + 1], idbuf[32];
        struct MHD_Response *resp;
        enum MHD_Result ret;
        TaskType type;
        uint64_t id = 0;
        bool ok;
        int r;

        if (!streq(method, MHD_HTTP_METHOD_POST))
                return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Use POST\n");
        if (!http_manager_authorized(s, c, &ret))
                return ret;
        if (!s->config->allow_remote_tasks)
                return respond(
                        c, MHD_HTTP_FORBIDDEN,
                        "Tasks from a URL or DropDir are not enabled on this server (AllowRemoteTasks)\n");
        if (s->config->require_https && !request_is_https(s, c))
                return respond(c, MHD_HTTP_FORBIDDEN, "HTTPS is required\n");
        source = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Remote-Source");
        digest = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Remote-Digest");
        type_header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Task-Type");
        type = isempty(type_header) ? TASK_TYPE_RETRACE : task_type_from_string(type_header);
        if (type < 0)
                return respond(c, MHD_HTTP_BAD_REQUEST, "X-Task-Type must be 0, 1, 2, 3 or 4\n");
        if (task_type_is_interactive(type) && !s->config->allow_interactive)
                return respond(c, MHD_HTTP_CONFLICT, "Interactive tasks are not enabled on this server\n");
        r = remote_request_parse(source, digest, &req, &message);
        if (r == -EINVAL)
                return respond(c, MHD_HTTP_BAD_REQUEST, "%s\n", strna(message));
        if (r < 0)
                return MHD_NO;
        if (req.drop) {
                ret = check_drop_source(s, c, &req, &ok);
                if (!ok)
                        return ret;
        }
        /* The task holds a place in the queue like an upload. */
        if (s->queue_reserve && s->queue_reserve(s->userdata) < 0) {
                struct MHD_Response *busy;
                static const char body[] = "The server is busy and its queue is full; try again later\n";

                busy = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
                if (!busy)
                        return MHD_NO;
                (void) MHD_add_response_header(busy, MHD_HTTP_HEADER_RETRY_AFTER, "60");
                ret = queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, busy);
                MHD_destroy_response(busy);
                return ret;
        }
        r = create_remote_task(s, &req, type, &id, password);
        if (r < 0) {
                if (s->queue_release)
                        s->queue_release(s->userdata);
                if (r == -ENOTCONN) { /* the shared store went away after the check in route() */
                        log_warning("A remote task is refused: the task store cannot be reached");
                        return respond_store_unavailable(c);
                }
                log_error_errno(r, "Failed to create a task from %s: %m", req.source);
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot create the task\n");
        }
        if (s->task_created)
                s->task_created(s->userdata, id);
        if (s->queue_release)
                s->queue_release(s->userdata); /* the task holds its place now */
        shown = remote_source_redacted(&req);
        log_info("Task %" PRIu64 " created from the task manager (type %s) from %s", id,
                 task_type_to_string(type), strna(shown));

        (void) snprintf(idbuf, sizeof(idbuf), "%" PRIu64, id);
        resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, "X-Task-Id", idbuf);
        (void) MHD_add_response_header(resp, "X-Task-Password", password);
        ret = queue_response(c, MHD_HTTP_CREATED, resp);
        MHD_destroy_response(resp);
        return ret;
}
