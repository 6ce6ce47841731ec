/* SPDX-License-Identifier: GPL-2.0-or-later */
/* debuginfod's HTTP protocol over the package cache: GET /buildid/<hex>/{debuginfo,executable,
 * source/<path>,section/<name>}, answered from the synced packages only (the hook reaches the cache;
 * task data is never looked at). Off unless AllowDebuginfod, and only for DebuginfodAllowFrom. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-log.h"
#include "common-parse.h"
#include "common-string.h"
#include "daemon-http-parse.h"
#include "daemon-http-private.h"

static void count(uint64_t *counter, uint64_t n)
{
        __atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

void render_metrics_debuginfod(HttpServer *s, FILE *f)
{
        static const char *const outcomes[_DEBUGINFOD_OUTCOME_MAX] = {
                [DEBUGINFOD_HIT] = "hit",
                [DEBUGINFOD_MISS] = "miss",
                [DEBUGINFOD_REFUSED] = "refused",
                [DEBUGINFOD_ERROR] = "error",
        };

        if (!s->config->allow_debuginfod)
                return;
        fputs("# HELP retrace_debuginfod_requests_total debuginfod requests by endpoint and outcome.\n"
              "# TYPE retrace_debuginfod_requests_total counter\n",
              f);
        for (DebuginfodKind k = 0; k < _DEBUGINFOD_KIND_MAX; k++)
                for (int o = 0; o < _DEBUGINFOD_OUTCOME_MAX; o++)
                        fprintf(f,
                                "retrace_debuginfod_requests_total{endpoint=\"%s\",outcome=\"%s\"} %" PRIu64
                                "\n",
                                debuginfod_kind_to_string(k), outcomes[o],
                                __atomic_load_n(&s->debuginfod_requests[k][o], __ATOMIC_RELAXED));
        if (s->guard)
                fprintf(f,
                        "# HELP retrace_debuginfod_requests_limited_total debuginfod requests answered "
                        "429.\n"
                        "# TYPE retrace_debuginfod_requests_limited_total counter\n"
                        "retrace_debuginfod_requests_limited_total %" PRIu64 "\n",
                        http_guard_requests_limited(s->guard));
        fputs("# HELP retrace_debuginfod_bytes_total Bytes of files answered over debuginfod, by endpoint.\n"
              "# TYPE retrace_debuginfod_bytes_total counter\n",
              f);
        for (DebuginfodKind k = 0; k < _DEBUGINFOD_KIND_MAX; k++)
                fprintf(f, "retrace_debuginfod_bytes_total{endpoint=\"%s\"} %" PRIu64 "\n",
                        debuginfod_kind_to_string(k),
                        __atomic_load_n(&s->debuginfod_bytes[k], __ATOMIC_RELAXED));
}

/* The file's answer: streamed from the object (libmicrohttpd reads it as the client takes it). */
static enum MHD_Result send_file(struct MHD_Connection *c, DebuginfodFile *file)
{
        char size[32];
        struct MHD_Response *r;
        enum MHD_Result ret;

        r = MHD_create_response_from_fd_at_offset64(file->size, file->fd, file->offset);
        if (!r)
                return MHD_NO;
        file->fd = -EBADF; /* the response owns it now */
        (void) snprintf(size, sizeof(size), "%" PRIu64, file->size);
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
        (void) MHD_add_response_header(r, "X-DEBUGINFOD-SIZE", size);
        (void) MHD_add_response_header(r, "X-DEBUGINFOD-FILE", file->path);
        (void) MHD_add_response_header(r, "X-DEBUGINFOD-ARCHIVE", file->nevra);
        /* Public package data, the same for everyone and never changing under its build-id. */
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=86400");
        ret = queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
}

enum MHD_Result handle_debuginfod(HttpServer *s, struct MHD_Connection *c, const char *method,
                                  const char *url)
{
        _cleanup_(debuginfod_file_done) DebuginfodFile file = { .fd = -EBADF };
        _cleanup_free_ char *source = NULL;
        const union MHD_ConnectionInfo *peer;
        const char *kind_name = NULL, *rest = NULL, *arg = NULL, *maxsize;
        char build_id[129];
        DebuginfodKind kind;
        unsigned retry_after;
        uint64_t limit;
        int r;

        if (!s->config->allow_debuginfod || !s->debuginfod_find)
                return respond(c, MHD_HTTP_NOT_FOUND,
                               "This server does not answer debuginfod requests (AllowDebuginfod = no)\n");
        peer = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        r = peer ? address_in_ranges(peer->client_addr, s->config->debuginfod_allow_from) : false;
        if (r <= 0)
                return respond(c, MHD_HTTP_FORBIDDEN,
                               "debuginfod is not open to this address (DebuginfodAllowFrom)\n");
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
                return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "debuginfod answers GET and HEAD only\n");
        if (s->guard && !http_guard_request_begin(s->guard, c, &retry_after))
                return respond_too_many(
                        c, retry_after,
                        "Too many debuginfod requests from this address or in all "
                        "(DebuginfodRequestsPerAddress, DebuginfodRequestsTotal); try again later\n");
        if (!parse_debuginfod_path(url, build_id, &kind_name, &rest))
                return respond(c, MHD_HTTP_NOT_FOUND,
                               "Not a debuginfod path: /buildid/<hex>/debuginfo, /buildid/<hex>/executable, "
                               "/buildid/<hex>/source/<absolute path> or /buildid/<hex>/section/<name>\n");
        kind = debuginfod_kind_from_string(kind_name);
        if (kind < 0)
                return MHD_NO; /* parse_debuginfod_path() names only known kinds */
        if (kind == DEBUGINFOD_SOURCE) {
                r = debuginfod_source_path(rest, &source);
                if (r == -ENOMEM)
                        return MHD_NO;
                if (r < 0) {
                        count(&s->debuginfod_requests[kind][DEBUGINFOD_REFUSED], 1);
                        return respond(c, MHD_HTTP_BAD_REQUEST,
                                       "The source path must be absolute and stay below /\n");
                }
                arg = source;
        } else if (kind == DEBUGINFOD_SECTION)
                arg = rest;

        r = s->debuginfod_find(s->userdata, kind, build_id, arg, &file);
        if (r == -ENOENT) {
                count(&s->debuginfod_requests[kind][DEBUGINFOD_MISS], 1);
                return respond(c, MHD_HTTP_NOT_FOUND, "No synced package has the %s of build-id %s%s%s\n",
                               kind_name, build_id, arg ? " for " : "", strempty(arg));
        }
        if (r < 0) {
                count(&s->debuginfod_requests[kind][DEBUGINFOD_ERROR], 1);
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Reading the %s of build-id %s failed: %s (the server's log says more)\n",
                               kind_name, build_id, strerror(-r));
        }
        /* The client's limit (DEBUGINFOD_MAXSIZE): refuse rather than send what it would drop. */
        maxsize = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-DEBUGINFOD-MAXSIZE");
        if (maxsize && parse_uint64(maxsize, &limit) >= 0 && limit > 0 && file.size > limit) {
                count(&s->debuginfod_requests[kind][DEBUGINFOD_REFUSED], 1);
                return respond(c, MHD_HTTP_NOT_ACCEPTABLE,
                               "The %s of build-id %s has %" PRIu64
                               " bytes, more than X-DEBUGINFOD-MAXSIZE %" PRIu64 "\n",
                               kind_name, build_id, file.size, limit);
        }
        count(&s->debuginfod_requests[kind][DEBUGINFOD_HIT], 1);
        if (streq(method, MHD_HTTP_METHOD_GET))
                count(&s->debuginfod_bytes[kind], file.size);
        return send_file(c, &file);
}
