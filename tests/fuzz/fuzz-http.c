/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a client sends before any body: the request path (a task's, a debuginfod one with its source
 * path), the Content-Type header, and (from the configuration) a listen address, a trusted proxy's
 * address and address ranges compared with a peer, and the X-Forwarded-For header a trusted proxy
 * sends, and a task manager's remote source (X-Remote-Source, X-Remote-Digest) with the request file
 * it becomes; an interactive session's path and resize message. The input is used as each of them in turn.
 */
#include <stdlib.h>
#include <string.h>

#include "cache-debuginfod.h"
#include "common-macro.h"
#include "daemon-http-parse.h"
#include "daemon-remote.h"
#include "fuzz.h"

/* Whether path has a ".." component ("a/../b", "../b", "a/.."; not "a../b", a name ending in dots). */
static bool has_parent_component(const char *path)
{
        for (const char *c = path; *c;) {
                size_t n = strcspn(c, "/");

                if (n == 2 && c[0] == '.' && c[1] == '.')
                        return true;
                c += n;
                c += *c == '/';
        }
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = strndup((const char *) data, size);
        struct sockaddr_storage addr;
        const char *action = NULL;
        bool manager = false, ipv6 = false;
        uint64_t id = 0;

        if (!text)
                return 0;
        if (parse_task_path(text, &id, &action, &manager) && !action)
                abort();
        (void) content_type_accepted(text);
        {
                const char *sub = NULL;
                unsigned cols, rows;

                if (parse_interact_path(text, &id, &sub) && !sub)
                        abort();
                if (parse_resize_message(text, size, &cols, &rows) >= 0 &&
                    (cols < 1 || cols > 1000 || rows < 1 || rows > 1000))
                        abort();
        }
        {
                const char *kind = NULL, *rest = NULL;
                char build_id[129];

                if (parse_debuginfod_path(text, build_id, &kind, &rest)) {
                        _cleanup_free_ char *source = NULL;

                        if (!kind || strlen(build_id) < 2 ||
                            (rest && debuginfod_source_path(rest, &source) >= 0 &&
                             (source[0] != '/' || strstr(source, "/../"))))
                                abort();
                }
        }
        if (parse_listen(text, &addr, &ipv6) >= 0) {
                if (addr.ss_family != (ipv6 ? AF_INET6 : AF_INET))
                        abort();
                (void) address_in_ranges((const struct sockaddr *) &addr, text);
                (void) address_matches((const struct sockaddr *) &addr, "127.0.0.1");
                (void) address_matches((const struct sockaddr *) &addr, text);
        }
        if (parse_forwarded_for(text, &addr) >= 0 && addr.ss_family != AF_INET && addr.ss_family != AF_INET6)
                abort();
        {
                /* A remote source and digest: what is accepted survives its request file unchanged,
                 * and a DropDir path never climbs out. */
                RemoteRequest req = {}, back = {};
                _cleanup_free_ char *message = NULL, *file = NULL;
                const char *digest = strchr(text, '|');

                if (remote_request_parse(text, text, &req, &message) >= 0)
                        remote_request_done(&req);
                else if (!message)
                        abort();
                free(message);
                message = NULL;
                if (remote_request_parse(text, digest ? digest + 1 : NULL, &req, &message) >= 0) {
                        if ((req.drop && (req.source[0] == '/' || has_parent_component(req.source))) ||
                            remote_request_format(&req, &file) < 0 ||
                            remote_request_from_text(file, &back) < 0 || !streq(back.source, req.source) ||
                            back.digest_kind != req.digest_kind || !streq(back.digest, req.digest))
                                abort();
                        remote_request_done(&back);
                        remote_request_done(&req);
                }
        }
        /* A request head (the corpus holds those of the attacks in test_daemon_http_guard.py): the
         * request line's path and each header's value go through the same helpers. */
        for (char *line = text, *end; line && *line; line = end) {
                char *value;

                end = strstr(line, "\r\n");
                if (end) {
                        *end = '\0';
                        end += 2;
                }
                value = strstr(line, ": ");
                if (value) {
                        value += 2;
                        (void) content_type_accepted(value);
                        if (parse_forwarded_for(value, &addr) >= 0 && addr.ss_family != AF_INET &&
                            addr.ss_family != AF_INET6)
                                abort();
                } else if ((value = strchr(line, ' '))) {
                        value[strcspn(value + 1, " ") + 1] = '\0';
                        if (parse_task_path(value + 1, &id, &action, &manager) && !action)
                                abort();
                }
        }
        return 0;
}
