/* SPDX-License-Identifier: GPL-2.0-or-later */
/* POST /manager/<id>/notes: the task manager's notes and case (bug) reference of a task. */
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "common-json.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-string.h"
#include "daemon-http-parse.h"
#include "daemon-http-private.h"
#include "daemon-store.h"

/* Free text: any UTF-8 (jansson checked it) but control characters other than tab and line breaks. */
static bool text_acceptable(const char *s, bool multiline)
{
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == 0x7f)
                        return false;
                if (*p >= 0x20 || *p == '\t' || (multiline && IN_SET(*p, '\n', '\r')))
                        continue;
                return false;
        }
        return true;
}

/* The value of key in o: *ret untouched when the key is absent; 400's text when it is not a string or
 * breaks the rules. */
static const char *notes_field(json_t *o, const char *key, size_t max, bool multiline, const char **ret)
{
        json_t *v = json_object_get(o, key);

        if (!v)
                return NULL;
        if (!json_is_string(v))
                return "must be a string";
        if (json_string_length(v) != strlen(json_string_value(v)))
                return "must not contain NUL characters";
        if (json_string_length(v) > max)
                return multiline ? "is longer than 4096 bytes" : "is longer than 64 bytes";
        if (!text_acceptable(json_string_value(v), multiline))
                return multiline ? "must not contain control characters (other than tab and line breaks)"
                                 : "must be one line without control characters";
        *ret = json_string_value(v);
        return NULL;
}

enum MHD_Result handle_task_notes(HttpServer *s, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *body, size_t len, bool too_large)
{
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_free_ char *answer = NULL;
        const char *action, *notes, *case_ref, *why;
        json_t *o, *doc;
        json_error_t error;
        enum MHD_Result ret;
        bool manager;
        uint64_t id;
        int r;

        if (!parse_task_path(url, &id, &action, &manager) || !streq(action, "notes"))
                return respond(c, MHD_HTTP_NOT_FOUND, "Not found\n");
        if (!manager)
                return respond(c, MHD_HTTP_NOT_FOUND,
                               "Notes are edited through the task manager (/manager/%" PRIu64 "/notes)\n",
                               id);
        if (!streq(method, MHD_HTTP_METHOD_POST))
                return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Use POST\n");
        if (!http_manager_authorized(s, c, &ret))
                return ret;
        if (too_large)
                return respond(c, MHD_HTTP_CONTENT_TOO_LARGE,
                               "The notes request is larger than %d bytes: notes are at most %d bytes, the "
                               "case reference %d\n",
                               HTTP_NOTES_MAX_BODY, TASK_NOTES_MAX, TASK_CASE_REF_MAX);
        r = task_store_get(s->store, id, &t);
        if (r == -ENOENT)
                return respond(c, MHD_HTTP_NOT_FOUND, "There is no task %" PRIu64 "\n", id);
        if (r == -ENOTCONN) /* the shared store went away after the check in route() */
                return respond_store_unavailable(c);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot read task %" PRIu64 "\n", id);
        doc = json_loadb(body ?: "", len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
        if (!doc || !json_is_object(doc)) {
                json_decref(doc);
                return respond(
                        c, MHD_HTTP_BAD_REQUEST,
                        "The body must be a JSON object such as {\"notes\": \"…\", \"case\": \"BZ 123\"}\n");
        }
        o = doc;
        notes = t->notes ?: "";
        case_ref = t->case_ref ?: "";
        why = notes_field(o, "notes", TASK_NOTES_MAX, true, &notes);
        if (why) {
                json_decref(doc);
                return respond(c, MHD_HTTP_BAD_REQUEST, "notes %s\n", why);
        }
        why = notes_field(o, "case", TASK_CASE_REF_MAX, false, &case_ref);
        if (why) {
                json_decref(doc);
                return respond(c, MHD_HTTP_BAD_REQUEST, "case %s\n", why);
        }
        r = task_store_set_notes(s->store, id, notes, case_ref);
        if (r >= 0) {
                json_t *a = json_pack("{s:I, s:o, s:o}", "id", (json_int_t) id, "notes",
                                      json_string_safe(notes), "case", json_string_safe(case_ref));

                r = a ? json_dump_take(a, false, &answer) : -ENOMEM;
        }
        json_decref(doc);
        if (r == -ENOENT)
                return respond(c, MHD_HTTP_NOT_FOUND, "There is no task %" PRIu64 "\n", id);
        if (r == -ENOTCONN) /* the shared store went away after the check in route() */
                return respond_store_unavailable(c);
        if (r < 0)
                return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Cannot save the notes of task %" PRIu64 "\n", id);
        log_info("Task %" PRIu64 ": notes changed from the task manager", id);
        {
                size_t n = strlen(answer);

                return respond_buffer(c, MHD_HTTP_OK, TAKE_PTR(answer), n, "application/json", NULL);
        }
}
