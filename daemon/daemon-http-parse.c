/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HTTP layer's pure helpers over what a client sends: paths, headers, addresses. */
#include "daemon-http-parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common-json.h"
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

/* The address bytes of sa (4 for IPv4 and IPv4-mapped IPv6, 16 for IPv6), 0 for another family. */
static size_t address_bytes(const struct sockaddr *sa, const unsigned char **ret)
{
        static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

        if (sa->sa_family == AF_INET) {
                *ret = (const unsigned char *) &((const struct sockaddr_in *) sa)->sin_addr;
                return 4;
        }
        if (sa->sa_family == AF_INET6) {
                const unsigned char *a = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;

                if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
                        *ret = a + 12;
                        return 4;
                }
                *ret = a;
                return 16;
        }
        return 0;
}

/* One "ADDR[/PREFIX]" into its bytes (4 or 16) and prefix length; -EINVAL when malformed. */
static int parse_range(const char *text, unsigned char ret[static 16], size_t *ret_len, unsigned *ret_prefix)
{
        char addr[INET6_ADDRSTRLEN];
        const char *slash = strchr(text, '/');
        size_t n = slash ? (size_t) (slash - text) : strlen(text);
        unsigned prefix;

        if (n == 0 || n >= sizeof(addr))
                return -EINVAL;
        memcpy(addr, text, n);
        addr[n] = '\0';
        if (inet_pton(AF_INET, addr, ret) == 1)
                *ret_len = 4;
        else if (inet_pton(AF_INET6, addr, ret) == 1)
                *ret_len = 16;
        else
                return -EINVAL;
        prefix = (unsigned) *ret_len * 8;
        if (slash && (parse_uint(slash + 1, &prefix) < 0 || prefix > *ret_len * 8))
                return -EINVAL;
        *ret_prefix = prefix;
        return 0;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
        size_t whole = bits / 8;
        unsigned rest = bits % 8;

        if (memcmp(a, b, whole) != 0)
                return false;
        return rest == 0 || ((a[whole] ^ b[whole]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

int address_in_ranges(const struct sockaddr *sa, const char *ranges)
{
        _cleanup_strv_free_ char **list = NULL;
        const unsigned char *peer = NULL;
        size_t peer_len;
        int r;

        if (isempty(ranges))
                return true;
        r = strv_split(ranges, " ,\t", &list);
        if (r < 0)
                return r;
        peer_len = address_bytes(sa, &peer);
        STRV_FOREACH (range, list) {
                unsigned char bytes[16];
                size_t len;
                unsigned prefix;

                if (parse_range(*range, bytes, &len, &prefix) < 0)
                        return -EINVAL;
                if (len == peer_len && prefix_equal(peer, bytes, prefix))
                        return true;
        }
        return false;
}

bool address_ranges_valid(const char *ranges)
{
        struct sockaddr_in probe = { .sin_family = AF_INET };

        return address_in_ranges((const struct sockaddr *) &probe, ranges) >= 0;
}

bool parse_debuginfod_path(const char *url, char ret_build_id[static 129], const char **ret_kind,
                           const char **ret_rest)
{
        static const char *const kinds[] = { "debuginfo", "executable", "source", "section" };
        const char *p = string_startswith(url, "/buildid/"), *end;
        size_t n;

        if (!p)
                return false;
        n = strcspn(p, "/");
        /* At least 2 hex digits, an even count, at most 64 bytes. */
        if (n < 2 || n > 128 || n % 2 != 0 || strspn(p, "0123456789abcdefABCDEF") < n || p[n] != '/')
                return false;
        for (size_t i = 0; i < n; i++)
                ret_build_id[i] = (char) tolower((unsigned char) p[i]);
        ret_build_id[n] = '\0';
        p += n + 1;
        end = p + strcspn(p, "/");
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                if (strlen(kinds[i]) != (size_t) (end - p) || strncmp(p, kinds[i], (size_t) (end - p)) != 0)
                        continue;
                *ret_kind = kinds[i];
                if (i < 2) { /* nothing may follow */
                        if (*end)
                                return false;
                        *ret_rest = NULL;
                } else if (i == 2) { /* "/<absolute path>" */
                        if (!*end || !end[1])
                                return false;
                        *ret_rest = end;
                } else { /* "/<section name>" */
                        if (!*end || !end[1] || strchr(end + 1, '/'))
                                return false;
                        *ret_rest = end + 1;
                }
                return true;
        }
        return false;
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
                                                               "status", "restart",     "notes" };
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

int parse_forwarded_for(const char *value, struct sockaddr_storage *ret)
{
        struct sockaddr_storage addr = {};
        const char *last;
        char text[INET6_ADDRSTRLEN];
        size_t n;

        if (!value)
                return -EINVAL;
        last = strrchr(value, ',');
        last = last ? last + 1 : value;
        last += strspn(last, " \t");
        n = strcspn(last, " \t");
        if (n == 0 || n >= sizeof(text) || last[n + strspn(last + n, " \t")] != '\0')
                return -EINVAL;
        memcpy(text, last, n);
        text[n] = '\0';
        if (inet_pton(AF_INET, text, &((struct sockaddr_in *) &addr)->sin_addr) == 1)
                addr.ss_family = AF_INET;
        else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *) &addr)->sin6_addr) == 1)
                addr.ss_family = AF_INET6;
        else
                return -EINVAL;
        *ret = addr;
        return 0;
}

bool parse_interact_path(const char *url, uint64_t *ret_id, const char **ret_sub)
{
        static const char *const subs[] = { "", "log", "status" };
        const char *p = strstr(url, "/interact");
        const char *start;
        size_t n;
        char digits[21];

        for (; p; p = strstr(p + 1, "/interact")) {
                const char *rest = p + STRLEN("/interact"), *sub = NULL;

                for (size_t i = 0; i < ELEMENTSOF(subs); i++)
                        if (i == 0 ? streq(rest, "") : rest[0] == '/' && streq(rest + 1, subs[i]))
                                sub = subs[i];
                if (!sub)
                        continue;
                for (start = p; start > url && start[-1] != '/'; start--)
                        ;
                n = (size_t) (p - start);
                if (n == 0 || n > 19 || start == url)
                        continue;
                memcpy(digits, start, n);
                digits[n] = 0;
                if (!string_in_charset(digits, "0123456789") || parse_uint64(digits, ret_id) < 0)
                        continue;
                *ret_sub = sub;
                return true;
        }
        return false;
}

int parse_resize_message(const char *msg, size_t len, unsigned *ret_cols, unsigned *ret_rows)
{
        _cleanup_(json_decrefp) json_t *o = NULL;
        json_t *a;
        json_int_t cols, rows;

        if (len > 4096)
                return -EINVAL;
        o = json_loadb(msg, len, JSON_REJECT_DUPLICATES, NULL);
        a = json_is_object(o) ? json_object_get(o, "resize") : NULL;
        if (!json_is_array(a) || json_array_size(a) != 2 || !json_is_integer(json_array_get(a, 0)) ||
            !json_is_integer(json_array_get(a, 1)))
                return -EINVAL;
        cols = json_integer_value(json_array_get(a, 0));
        rows = json_integer_value(json_array_get(a, 1));
        if (cols < 1 || cols > 1000 || rows < 1 || rows > 1000)
                return -ERANGE;
        *ret_cols = (unsigned) cols;
        *ret_rows = (unsigned) rows;
        return 0;
}
