/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HTTP layer's pure helpers over what a client sends: paths, headers, addresses. */
#include "daemon-http-parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common-macro.h"
#include "common-parse.h"
#include "common-string.h"

static const char *const accepted_types[] = {
        "application/x-xz-compressed-tar",
        "application/x-gzip",
        "application/x-tar",
};

/* Is the peer address the configured one (an IPv4 or IPv6 address in text form)? */
bool address_matches(const struct sockaddr *sa, const char *text)
{
        char buf[INET6_ADDRSTRLEN];
        const void *addr =
                sa->sa_family == AF_INET    ? (const void *) &((const struct sockaddr_in *) sa)->sin_addr
                : sa->sa_family == AF_INET6 ? (const void *) &((const struct sockaddr_in6 *) sa)->sin6_addr
                                            : NULL;

        return addr && inet_ntop(sa->sa_family, addr, buf, sizeof(buf)) && streq(buf, text);
}

bool content_type_accepted(const char *value)
{
        char type[128];
        size_t n;

        if (!value)
                return false;
        n = strcspn(value, ";");
        if (n >= sizeof(type))
                return false;
        memcpy(type, value, n);
        type[n] = '\0';
        string_strip(type);
        for (size_t i = 0; i < ELEMENTSOF(accepted_types); i++)
                if (strcasecmp(type, accepted_types[i]) == 0)
                        return true;
        return false;
}

/* Splits "/…/<id>[/<action>]" into id and action; false when the path is not a task path. Sets
 * *ret_manager when the id follows a "manager" segment (the task manager's view of a task). */
bool parse_task_path(const char *url, uint64_t *ret_id, const char **ret_action, bool *ret_manager)
{
        _cleanup_strv_free_ char **parts = NULL;
        size_t n;

        if (strv_split(url, "/", &parts) < 0)
                return false;
        n = strv_length(parts);
        for (size_t k = 1; k <= 2 && k <= n; k++) {
                const char *idpart = parts[n - k];

                if (strlen(idpart) > 0 && strlen(idpart) <= 19 && string_in_charset(idpart, "0123456789") &&
                    parse_uint64(idpart, ret_id) >= 0) {
                        static const char *const actions[] = { "",       "backtrace",   "backtrace.json",
                                                               "log",    "exploitable", "delete",
                                                               "status", "restart" };
                        const char *action = k == 2 ? parts[n - 1] : "";

                        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                                if (streq(action, actions[i])) {
                                        *ret_action = actions[i];
                                        *ret_manager = n - k >= 1 && streq(parts[n - k - 1], "manager");
                                        return true;
                                }
                        return false;
                }
        }
        return false;
}

/* "127.0.0.1:8080", "[::1]:8080" → a socket address. */
int parse_listen(const char *text, struct sockaddr_storage *ret, bool *ret_ipv6)
{
        _cleanup_free_ char *host = NULL;
        const char *colon = strrchr(text, ':');
        unsigned port;

        if (!colon || parse_uint(colon + 1, &port) < 0 || port == 0 || port > 65535)
                return -EINVAL;
        host = strndup(text, (size_t) (colon - text));
        if (!host)
                return -ENOMEM;
        memset(ret, 0, sizeof(*ret));
        if (host[0] == '[' && string_endswith(host, "]")) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) ret;

                host[strlen(host) - 1] = '\0';
                a->sin6_family = AF_INET6;
                a->sin6_port = htons((uint16_t) port);
                *ret_ipv6 = true;
                return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -EINVAL;
        }
        struct sockaddr_in *a = (struct sockaddr_in *) ret;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t) port);
        *ret_ipv6 = false;
        return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
}
