/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the files of the HTTP layer share (daemon-http.c: the server, routing and the other
 * endpoints; daemon-http-create.c: uploads). Not for other parts. */

#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>

#include "common-macro.h"
#include "daemon-http.h"

/* Queues r with the headers every answer carries (CSP, nosniff, no-store, HSTS over TLS). */
enum MHD_Result queue_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *r);
/* A text/plain answer. */
_printf_(3, 4) enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *format, ...);
/* 429 with Retry-After and a text/plain body (a static string). */
enum MHD_Result respond_too_many(struct MHD_Connection *c, unsigned retry_after, const char *body);
/* 503 with Retry-After: the shared task store cannot be reached (PostgreSQL down or restarting). */
#define STORE_RETRY_AFTER "5"
enum MHD_Result respond_store_unavailable(struct MHD_Connection *c);
/* An answer with a body the caller allocated (taken over, freed on failure too), its content type and
 * an optional Cache-Control. */
enum MHD_Result respond_buffer(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                               const char *type, const char *cache_control);
/* A refusal of an upload, counted for /metrics by reason. */
enum MHD_Result refuse(HttpServer *s, struct MHD_Connection *c, Refusal why, unsigned status,
                       const char *message);
/* Whether the client reached us over TLS (ours, or a trusted proxy's X-Forwarded-Proto). */
bool request_is_https(HttpServer *s, struct MHD_Connection *c);

/* POST /manager/remote: a task from a URL or a file of DropDir (daemon-http-remote.c). */
enum MHD_Result handle_manager_remote(HttpServer *s, struct MHD_Connection *c, const char *method);

/* GET /buildid/…: debuginfod's protocol over the package cache (daemon-http-debuginfod.c). */
enum MHD_Result handle_debuginfod(HttpServer *s, struct MHD_Connection *c, const char *method,
                                  const char *url);
/* Its lines of /metrics (none while AllowDebuginfod is off). */
void render_metrics_debuginfod(HttpServer *s, FILE *f);

/* One upload in progress, the request's con_cls. */
typedef struct Upload Upload;
Upload *upload_free(Upload *u);
/* POST /create, called for each part of the body as libmicrohttpd delivers it. Sets *ret_finish
 * (and answers nothing) when the whole body is in: the caller then runs create_finish() off the event
 * loop, which may take long (unpacking). */
enum MHD_Result handle_create(HttpServer *s, struct MHD_Connection *c, const char *method,
                              const char *upload_data, size_t *upload_data_size, void **con_cls,
                              bool *ret_finish);
/* Unpacks the received upload into a new task and answers; the connection is suspended meanwhile. */
enum MHD_Result create_finish(HttpServer *s, struct MHD_Connection *c, Upload *u);

/* The task manager's credential (X-Manager-Password); answers and returns false when the request may
 * not use the task manager. */
bool http_manager_authorized(HttpServer *s, struct MHD_Connection *c, enum MHD_Result *ret);

/* POST /manager/<id>/notes with a JSON body {"notes": …, "case": …} (daemon-http-notes.c): body is what
 * was received, too_large when more than HTTP_NOTES_MAX_BODY bytes came. */
#define HTTP_NOTES_MAX_BODY (16 * 1024)
enum MHD_Result handle_task_notes(HttpServer *s, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *body, size_t len, bool too_large);

/* The X-Task-Password check of every per-task request; false when it answered a refusal (*ret). */
bool check_task_password(HttpServer *s, struct MHD_Connection *c, uint64_t id, enum MHD_Result *ret);

/* Interactive sessions (daemon-http-interact.c). */
typedef struct InteractState InteractState;
int interact_state_new(InteractState **ret);
/* Ends the sessions (waits a few seconds for them) and frees st. */
InteractState *interact_state_free(InteractState *st);
/* POST /<id>/interact: a token; GET /<id>/interact?token=…: the WebSocket; GET /<id>/interact/log and
 * /<id>/interact/status. */
enum MHD_Result handle_interact(HttpServer *s, struct MHD_Connection *c, const char *method, uint64_t id,
                                const char *sub);
